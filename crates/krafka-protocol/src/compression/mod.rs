//! Compression codecs (in progress).
