//! minichat's conformance suite.
