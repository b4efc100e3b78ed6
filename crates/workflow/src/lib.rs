//! Pure domain rules of the hotline: field validation, masking of personal numbers,
//! and the ticket and work-order state machines.
//!
//! Nothing here does I/O or reads the clock: `now` is passed in, so every rule can be
//! tested on its own and property-tested for its invariants.

pub mod mask;
pub mod validate;

pub mod employer;
pub mod ticket;
pub mod work_order;
