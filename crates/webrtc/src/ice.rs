//! ICE for one component over one local candidate: the lite answerer the gateway is
//! (RFC 8445 §2.5: it only answers checks, and the controlling peer nominates), the
//! controlling checker a client is (aggressive nomination: every check carries
//! USE-CANDIDATE), and consent freshness (RFC 7675). STUN messages are rtc-stun's.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rtc_stun::attributes::{
    ATTR_ICE_CONTROLLED, ATTR_ICE_CONTROLLING, ATTR_MESSAGE_INTEGRITY, ATTR_PRIORITY,
    ATTR_USE_CANDIDATE, ATTR_USERNAME,
};
use rtc_stun::crypto::RTCCrypto;
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Message, Setter, TransactionId};
use rtc_stun::textattrs::TextAttribute;
use rtc_stun::xoraddr::XorMappedAddress;

use crate::IceCredentials;

/// RFC 7675 §5.1: consent is lost 30 s after the last authenticated check.
pub(crate) const CONSENT_TIMEOUT: Duration = Duration::from_secs(30);
/// RFC 7675 §5.1 asks for a check every 5 s (the jitter it suggests matters for
/// many flows behind one NAT; one client leg per socket does without).
const CONSENT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8445 §14.2 pacing of checks (Ta) while looking for a working pair.
const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// Checks whose answer we still accept; older ones are forgotten, so the list cannot
/// grow while a peer stays silent.
const OUTSTANDING_CHECKS: usize = 16;
/// Addresses that passed a check and may send DTLS and SRTP. A few, because an ICE
/// restart keeps the old path usable until the new one is nominated.
const VALIDATED_ADDRESSES: usize = 4;
/// RFC 8445 §5.1.2.1 priority of a peer-reflexive candidate, component 1: what our
/// checks advertise for the address the peer will learn from them.
const PEER_REFLEXIVE_PRIORITY: u32 = (110 << 24) | (65535 << 8) | 255;
/// Big enough for a STUN binding message with our attributes.
const MAX_STUN_SIZE: usize = 548;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IceRole {
    Lite,
    Controlling,
}

/// What a STUN datagram changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IceEvent {
    Nothing,
    /// Media now goes to this address (first nomination, or a new path after a restart).
    Selected(SocketAddr),
}

pub(crate) struct IceAgent {
    role: IceRole,
    local: IceCredentials,
    remote: Option<IceCredentials>,
    candidates: Vec<SocketAddr>,
    selected: Option<SocketAddr>,
    validated: VecDeque<SocketAddr>,
    /// The last authenticated check (or answer to ours). `None` until the peer's SDP
    /// is known: a callee may ring for a minute before its browser starts ICE.
    last_consent: Option<Instant>,
    /// When the controlling side sends its next check.
    next_check: Option<Instant>,
    next_candidate: usize,
    outstanding: VecDeque<(TransactionId, SocketAddr)>,
    /// Whether the controlling side is still looking for a pair to nominate (at the
    /// start, and after an ICE restart).
    nominating: bool,
    tie_breaker: u64,
    /// Credentials made for an ICE restart we offer, in force once it is answered.
    prepared: Option<IceCredentials>,
}

impl IceAgent {
    pub(crate) fn new(role: IceRole) -> IceAgent {
        IceAgent {
            role,
            local: IceCredentials::random(),
            remote: None,
            candidates: Vec::new(),
            selected: None,
            validated: VecDeque::with_capacity(VALIDATED_ADDRESSES),
            last_consent: None,
            next_check: None,
            next_candidate: 0,
            outstanding: VecDeque::with_capacity(OUTSTANDING_CHECKS),
            nominating: true,
            tie_breaker: rand::random(),
            prepared: None,
        }
    }

    pub(crate) fn role(&self) -> IceRole {
        self.role
    }

    pub(crate) fn local_credentials(&self) -> &IceCredentials {
        &self.local
    }

    pub(crate) fn selected(&self) -> Option<SocketAddr> {
        self.selected
    }

    pub(crate) fn is_validated(&self, address: SocketAddr) -> bool {
        self.validated.contains(&address)
    }

    /// The peer's credentials and candidates; from now on the controlling side checks.
    /// Consent time starts over: the peer can only have begun once it had ours.
    pub(crate) fn set_remote(
        &mut self,
        remote: IceCredentials,
        candidates: Vec<SocketAddr>,
        now: Instant,
    ) {
        self.remote = Some(remote);
        self.candidates = candidates;
        self.next_candidate = 0;
        self.outstanding.clear();
        self.last_consent = Some(now);
        if self.role == IceRole::Controlling {
            self.nominating = true;
            self.next_check = Some(now);
        }
    }

    /// RFC 8445 §9: new credentials on both sides; the selected pair keeps carrying
    /// media until the peer (or we, when controlling) nominate a pair of the new
    /// generation.
    pub(crate) fn restart(
        &mut self,
        remote: IceCredentials,
        candidates: Vec<SocketAddr>,
        now: Instant,
    ) -> IceCredentials {
        self.local = self.prepared.take().unwrap_or_else(IceCredentials::random);
        self.set_remote(remote, candidates, now);
        self.local.clone()
    }

    /// Chosen credentials for the next restart (see `WebRtcTransport::restart_ice_with`).
    pub(crate) fn prepare_restart_with(&mut self, local: IceCredentials) {
        self.prepared = Some(local);
    }

    /// New credentials for an ICE restart this side offers; the current ones stay in
    /// force until [`IceAgent::restart`] takes the answer.
    pub(crate) fn prepare_restart(&mut self) -> IceCredentials {
        self.prepared
            .get_or_insert_with(IceCredentials::random)
            .clone()
    }

    /// Answers a binding request or takes a binding response. Anything that fails
    /// authentication is ignored: the answer is `None` and nothing changes.
    pub(crate) fn handle_stun(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        crypto: &dyn RTCCrypto,
        transmits: &mut VecDeque<(SocketAddr, Vec<u8>)>,
    ) -> Option<IceEvent> {
        if datagram.len() > MAX_STUN_SIZE {
            return None;
        }
        let mut message = Message::new();
        message.unmarshal_binary(datagram).ok()?;
        if message.typ == BINDING_REQUEST {
            self.answer_check(now, from, &mut message, crypto, transmits)
        } else if message.typ == BINDING_SUCCESS {
            self.take_check_answer(now, from, &mut message, crypto)
        } else {
            None
        }
    }

    fn answer_check(
        &mut self,
        now: Instant,
        from: SocketAddr,
        request: &mut Message,
        crypto: &dyn RTCCrypto,
        transmits: &mut VecDeque<(SocketAddr, Vec<u8>)>,
    ) -> Option<IceEvent> {
        let username = TextAttribute::get_from_as(request, ATTR_USERNAME).ok()?;
        let (ours, theirs) = username.text.split_once(':')?;
        if ours != self.local.ufrag {
            return None;
        }
        if let Some(remote) = &self.remote
            && theirs != remote.ufrag
        {
            return None;
        }
        authenticate(request, &self.local.pwd, crypto)?;
        // A peer that also believes it is controlled could never nominate; only a
        // controlling peer's checks count (RFC 8445 §7.3.1.1 role conflicts cannot
        // arise with a lite agent, which is always controlled).
        if self.role == IceRole::Lite && request.contains(ATTR_ICE_CONTROLLED) {
            return None;
        }

        let response = build_message(&[
            Box::new(BINDING_SUCCESS),
            Box::new(request.transaction_id),
            Box::new(XorMappedAddress {
                ip: from.ip(),
                port: from.port(),
            }),
            Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                self.local.pwd.clone(),
                crypto,
            )),
            Box::new(FINGERPRINT),
        ])?;
        transmits.push_back((from, response));

        self.validate(from);
        self.last_consent = Some(now);
        let nominated = request.contains(ATTR_USE_CANDIDATE) && self.role == IceRole::Lite;
        if nominated && self.selected != Some(from) {
            self.selected = Some(from);
            return Some(IceEvent::Selected(from));
        }
        Some(IceEvent::Nothing)
    }

    fn take_check_answer(
        &mut self,
        now: Instant,
        from: SocketAddr,
        response: &mut Message,
        crypto: &dyn RTCCrypto,
    ) -> Option<IceEvent> {
        let index = self
            .outstanding
            .iter()
            .position(|(id, _)| *id == response.transaction_id)?;
        // RFC 8445 §7.2.5.2.1: the answer must come from where the check went.
        if self.outstanding[index].1 != from {
            return None;
        }
        let remote_pwd = self.remote.as_ref()?.pwd.clone();
        authenticate(response, &remote_pwd, crypto)?;
        self.outstanding.remove(index);
        self.validate(from);
        self.last_consent = Some(now);
        if self.nominating {
            // Every check carried USE-CANDIDATE, so its success nominates the pair.
            self.nominating = false;
            self.next_check = Some(now + CONSENT_INTERVAL);
            if self.selected != Some(from) {
                self.selected = Some(from);
                return Some(IceEvent::Selected(from));
            }
        }
        Some(IceEvent::Nothing)
    }

    fn validate(&mut self, address: SocketAddr) {
        if self.validated.contains(&address) {
            return;
        }
        if self.validated.len() == VALIDATED_ADDRESSES {
            self.validated.pop_front();
        }
        self.validated.push_back(address);
    }

    /// Whether consent has run out at `now`.
    pub(crate) fn consent_expired(&self, now: Instant) -> bool {
        self.last_consent
            .is_some_and(|last| now >= last + CONSENT_TIMEOUT)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let consent = self.last_consent.map(|last| last + CONSENT_TIMEOUT);
        [consent, self.next_check].into_iter().flatten().min()
    }

    /// Sends the controlling side's due check: round-robin over the candidates while
    /// nominating, then a consent check on the selected pair.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        crypto: &dyn RTCCrypto,
        transmits: &mut VecDeque<(SocketAddr, Vec<u8>)>,
    ) {
        let Some(due) = self.next_check else {
            return;
        };
        if now < due {
            return;
        }
        let target = if self.nominating {
            if self.candidates.is_empty() {
                self.next_check = None;
                return;
            }
            let target = self.candidates[self.next_candidate % self.candidates.len()];
            self.next_candidate = self.next_candidate.wrapping_add(1);
            self.next_check = Some(now + CHECK_INTERVAL);
            target
        } else {
            let Some(selected) = self.selected else {
                return;
            };
            self.next_check = Some(now + CONSENT_INTERVAL);
            selected
        };
        let Some(remote) = &self.remote else {
            return;
        };
        let transaction_id = TransactionId::new();
        let username = format!("{}:{}", remote.ufrag, self.local.ufrag);
        let Some(check) = build_message(&[
            Box::new(BINDING_REQUEST),
            Box::new(transaction_id),
            Box::new(TextAttribute::new(ATTR_USERNAME, username)),
            Box::new(RawAttribute(
                ATTR_PRIORITY,
                PEER_REFLEXIVE_PRIORITY.to_be_bytes().to_vec(),
            )),
            Box::new(RawAttribute(
                ATTR_ICE_CONTROLLING,
                self.tie_breaker.to_be_bytes().to_vec(),
            )),
            Box::new(RawAttribute(ATTR_USE_CANDIDATE, Vec::new())),
            Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                remote.pwd.clone(),
                crypto,
            )),
            Box::new(FINGERPRINT),
        ]) else {
            return;
        };
        if self.outstanding.len() == OUTSTANDING_CHECKS {
            self.outstanding.pop_front();
        }
        self.outstanding.push_back((transaction_id, target));
        transmits.push_back((target, check));
    }
}

/// MESSAGE-INTEGRITY with the short-term password, and FINGERPRINT, both required on
/// ICE checks and their answers (RFC 8445 §7.1.2, §7.2.5.2).
fn authenticate(message: &mut Message, pwd: &str, crypto: &dyn RTCCrypto) -> Option<()> {
    let integrity = message.get(ATTR_MESSAGE_INTEGRITY).ok()?;
    if integrity.len() != 20 {
        return None;
    }
    FINGERPRINT.check(message).ok()?;
    MessageIntegrity::check(message, pwd.as_bytes(), crypto).ok()
}

fn build_message(setters: &[Box<dyn Setter + '_>]) -> Option<Vec<u8>> {
    let mut message = Message::new();
    message.build(setters).ok()?;
    Some(message.raw)
}

/// An attribute rtc-stun has a type for but no setter (PRIORITY, ICE-CONTROLLING,
/// USE-CANDIDATE live in rtc-ice, which we do not otherwise need).
struct RawAttribute(rtc_stun::attributes::AttrType, Vec<u8>);

impl Setter for RawAttribute {
    fn add_to(&self, message: &mut Message) -> Result<(), rtc_shared::error::Error> {
        message.add(self.0, &self.1);
        Ok(())
    }
}
