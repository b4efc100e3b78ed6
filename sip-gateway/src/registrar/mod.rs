//! The registrar: agents and lawyers register their softphones with digest auth.
//!
//! Two parts with different rules:
//!
//! - [`CredentialStore`]: the accounts (user name, realm, HA1 for MD5 and SHA-256,
//!   role) in the gateway's SQLite file `gateway.sqlite3`. Blocking; call it from
//!   `spawn_blocking` or a dedicated thread.
//! - [`Registrar`]: the sans-io REGISTER handler. It owns the digest nonce server, the
//!   bindings and the auth throttle, takes `now` from its caller, and never blocks.
//!
//! # Driving it
//!
//! ```text
//! on REGISTER from `source`:
//!     user    = registrar.credential_username(&request)
//!     account = spawn_blocking(store.get(user))            // SQLite, off the runtime
//!     outcome = registrar.handle_register(&request, source, |name| account_if(name), now)
//!     Respond(r)          -> send r through the server transaction
//!     RespondAt{r, at}    -> send r at `at` (a timer; other requests go on meanwhile)
//!     Drop{..}            -> send nothing
//! on timer (registrar.poll_timeout()): registrar.handle_timeout(now)
//! after each call: while let Some(event) = registrar.poll_event() { log, tell the queues }
//! to ring a user: registrar.lookup(user, now) -> bindings; send the INVITE to
//!     binding.source over binding.transport with binding.contact as Request-URI
//! ```
//!
//! # Answers
//!
//! - no credentials, a nonce from before a restart, a replayed nonce count: 401 with a
//!   SHA-256 and an MD5 challenge (SHA-256 first, RFC 8760);
//! - a right password with an expired nonce: 401 `stale=true`;
//! - a wrong password, an unknown user, a foreign realm: 403, the same for all three so
//!   user names cannot be probed, and one failure for the throttle;
//! - a right password for someone else's address of record: 403 (not counted);
//! - an interval below `min_expires`: 423 with Min-Expires; above `max_expires`: granted
//!   but shortened;
//! - otherwise 200 with every current contact and its remaining seconds.
//!
//! Repeated failures from one IP are first answered late, then not at all (see
//! [`throttle`]). Blocking silently was chosen over a "403 Too many failed attempts":
//! a scanner then waits out its timeout on every guess. The cost is that phones sharing
//! the blocked public address (an office behind one NAT) are refused too until the
//! block ends or an operator calls [`Registrar::unblock`].

mod bindings;
mod credentials;
mod register;
pub mod throttle;

pub use bindings::{Binding, UnregisterReason};
pub use credentials::{
    Credential, CredentialError, CredentialStore, GATEWAY_DATABASE_FILE, SipRole, validate_username,
};
pub use register::{
    AuthFailure, PasswordCheck, RegisterOutcome, Registrar, RegistrarConfig, RegistrarEvent,
};
pub use throttle::ThrottleConfig;
