//! minichat's reference client.
