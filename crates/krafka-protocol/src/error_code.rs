//! error_code (in progress).
