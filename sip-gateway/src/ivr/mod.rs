//! The IVR menu.
