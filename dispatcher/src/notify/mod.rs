//! Emails, worker notices, and the durable outbox.
