//! Call events to ticket-core through a durable outbox.
