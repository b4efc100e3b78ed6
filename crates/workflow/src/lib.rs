//! Pure domain rules of the hotline.
