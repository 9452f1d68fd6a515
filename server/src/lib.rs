//! minichat's reference server.
