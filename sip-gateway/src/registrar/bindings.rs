//! Where each registered user can be reached: one binding per Contact.
//!
//! The table is scanned linearly for expiry. Its size is bounded by the gateway's own
//! accounts (agents and lawyers, a few hundred) times
//! [`super::RegistrarConfig::max_bindings_per_user`], since only an authenticated
//! REGISTER adds a binding; a scan of a few thousand entries costs microseconds and
//! needs no second index to keep consistent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use sip_proto::{Transport, Uri};

use super::SipRole;

/// One registered contact of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub username: String,
    pub role: SipRole,
    /// The Contact URI the phone registered: the Request-URI of INVITEs to it.
    pub contact: Uri,
    /// Where the REGISTER came from. INVITEs go here rather than to the Contact's host,
    /// which behind NAT is a private address (the rport idea, RFC 3581, applied to
    /// requests towards the phone).
    pub source: SocketAddr,
    /// The transport of the top Via: a TCP binding is reached over the connection the
    /// REGISTER arrived on.
    pub transport: Transport,
    /// The Contact carried the `+sip.ice` feature tag (RFC 5768): the phone does ICE,
    /// which over SIP-over-WebSocket means a browser, so its calls get WebRTC media.
    pub ice: bool,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: Instant,
}

impl Binding {
    /// Seconds left, rounded up, as the 200 OK reports them.
    pub fn remaining_secs(&self, now: Instant) -> u64 {
        let left = self.expires_at.saturating_duration_since(now);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    pub fn is_live(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    /// RFC 3261 §10.3 compares contacts by URI equivalence (§19.1.4), so a phone that
    /// re-registers with `;transport=UDP` instead of `;transport=udp` updates its binding
    /// rather than adding a second one.
    pub fn same_contact(&self, contact: &Uri) -> bool {
        match (&self.contact, contact) {
            (Uri::Sip(mine), Uri::Sip(theirs)) => mine.equivalent(theirs),
            (mine, theirs) => mine == theirs,
        }
    }
}

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnregisterReason {
    /// The phone sent `Expires: 0` for it (or `Contact: *`).
    Removed,
    /// It was not refreshed in time.
    Expired,
    /// The user registered more contacts than allowed; the one due to expire first went.
    Displaced,
    /// The account was removed ([`super::Registrar::remove_user`]).
    AccountRemoved,
}

#[derive(Debug, Default)]
pub(super) struct BindingTable {
    by_user: HashMap<String, Vec<Binding>>,
}

impl BindingTable {
    pub(super) fn live(&self, username: &str, now: Instant) -> Vec<Binding> {
        self.by_user
            .get(username)
            .map(|bindings| {
                bindings
                    .iter()
                    .filter(|binding| binding.is_live(now))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn find(&self, username: &str, contact: &Uri) -> Option<&Binding> {
        self.by_user
            .get(username)?
            .iter()
            .find(|binding| binding.same_contact(contact))
    }

    /// Adds or replaces the binding for its contact; returns whether one was replaced.
    pub(super) fn upsert(&mut self, binding: Binding) -> bool {
        let bindings = self.by_user.entry(binding.username.clone()).or_default();
        match bindings
            .iter_mut()
            .find(|existing| existing.same_contact(&binding.contact))
        {
            Some(existing) => {
                *existing = binding;
                true
            }
            None => {
                bindings.push(binding);
                false
            }
        }
    }

    /// Removes the user's bindings due to expire first until at most `max` remain,
    /// never one for which `keep` says true (the contacts just registered).
    pub(super) fn trim(
        &mut self,
        username: &str,
        max: usize,
        keep: impl Fn(&Binding) -> bool,
    ) -> Vec<Binding> {
        let mut displaced = Vec::new();
        let Some(bindings) = self.by_user.get_mut(username) else {
            return displaced;
        };
        while bindings.len() > max {
            let soonest = bindings
                .iter()
                .enumerate()
                .filter(|(_, binding)| !keep(binding))
                .min_by_key(|(_, binding)| binding.expires_at)
                .map(|(index, _)| index);
            let Some(index) = soonest else {
                break;
            };
            displaced.push(bindings.remove(index));
        }
        displaced
    }

    pub(super) fn remove(&mut self, username: &str, contact: &Uri) -> Option<Binding> {
        let bindings = self.by_user.get_mut(username)?;
        let index = bindings
            .iter()
            .position(|binding| binding.same_contact(contact))?;
        let removed = bindings.remove(index);
        if bindings.is_empty() {
            self.by_user.remove(username);
        }
        Some(removed)
    }

    pub(super) fn remove_user(&mut self, username: &str) -> Vec<Binding> {
        self.by_user.remove(username).unwrap_or_default()
    }

    /// Removes and returns every binding expired at `now`.
    pub(super) fn expire(&mut self, now: Instant) -> Vec<Binding> {
        let mut expired = Vec::new();
        self.by_user.retain(|_, bindings| {
            let (gone, kept): (Vec<Binding>, Vec<Binding>) = std::mem::take(bindings)
                .into_iter()
                .partition(|binding| !binding.is_live(now));
            expired.extend(gone);
            *bindings = kept;
            !bindings.is_empty()
        });
        expired.sort_by_key(|binding| binding.expires_at);
        expired
    }

    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.by_user
            .values()
            .flatten()
            .map(|binding| binding.expires_at)
            .min()
    }

    pub(super) fn len(&self) -> usize {
        self.by_user.values().map(Vec::len).sum()
    }
}
