//! Automatic call distribution.
