//! The REGISTER state machine (RFC 3261 §10.3), sans-io.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use sip_proto::digest::{Credentials, DigestError, DigestServer, VerifyError};
use sip_proto::{Contact, HeaderName, Method, NameAddr, Request, Response, StatusCode, Uri};

use super::bindings::{Binding, BindingTable, UnregisterReason};
use super::credentials::Credential;
use super::throttle::{AuthThrottle, ThrottleConfig, Verdict};

/// Limits of the registrar; the defaults suit desk phones and softphones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Seconds granted when the REGISTER names none.
    pub default_expires: u32,
    /// Shorter requests get 423 Interval Too Brief: a phone refreshing every few
    /// seconds costs a digest verification each time.
    pub min_expires: u32,
    /// Longer requests are shortened to this, so a phone that vanished is not rung
    /// for hours.
    pub max_expires: u32,
    /// Contacts kept per user (desk phone, softphone, browser…). Memory stays bounded
    /// by the number of accounts times this.
    pub max_bindings_per_user: usize,
    /// How long a nonce stays fresh; older ones get `stale=true`.
    pub nonce_lifetime: Duration,
    pub throttle: ThrottleConfig,
    /// Events kept for [`Registrar::poll_event`]; past this the oldest are dropped, so
    /// a flood of failed attempts cannot grow memory if the driver falls behind.
    pub max_queued_events: usize,
    /// Digest algorithms offered, one challenge each, in this order. Both are
    /// verified whenever offered; the gateway's config decides (see
    /// `GatewayConfig::digest_algorithms`, MD5 only by default, because softphones
    /// built on libre such as baresip abort on any challenge whose algorithm they do
    /// not know instead of skipping it).
    pub digest_algorithms: Vec<sip_proto::digest::DigestAlgorithm>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            default_expires: 3600,
            min_expires: 60,
            max_expires: 7200,
            max_bindings_per_user: 5,
            nonce_lifetime: Duration::from_secs(300),
            throttle: ThrottleConfig::default(),
            max_queued_events: 4096,
            // RFC 8760 §2.4's order; the gateway narrows it from its config.
            digest_algorithms: vec![
                sip_proto::digest::DigestAlgorithm::Sha256,
                sip_proto::digest::DigestAlgorithm::Md5,
            ],
        }
    }
}

/// What the driver does with one REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// Send this response now.
    Respond(Response),
    /// Send this response at `at`, not before: the source has been failing to
    /// authenticate. The driver arms a timer and keeps serving others meanwhile.
    RespondAt { response: Response, at: Instant },
    /// Send nothing: the source is blocked. A scanner waiting for an answer learns
    /// nothing and loses its retransmission timeout on every guess, which a quick
    /// 403 would spare it. The driver lets the server transaction run out.
    Drop { blocked_until: Instant },
}

impl RegisterOutcome {
    pub fn response(&self) -> Option<&Response> {
        match self {
            RegisterOutcome::Respond(response) | RegisterOutcome::RespondAt { response, .. } => {
                Some(response)
            }
            RegisterOutcome::Drop { .. } => None,
        }
    }
}

/// Why an authentication attempt failed. The phone always gets the same 403, so it
/// cannot tell an unknown user from a wrong password; the log can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    UnknownUser,
    WrongPassword,
    /// The credentials name another realm.
    WrongRealm(String),
    /// The account was stored for another realm (the realm was reconfigured without
    /// setting the passwords again), so its HA1 cannot match.
    AccountForOtherRealm(String),
}

/// What changed, for the driver to log and to tell the queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarEvent {
    /// A contact was added (`refreshed: false`) or renewed.
    Registered { binding: Binding, refreshed: bool },
    Unregistered {
        binding: Binding,
        reason: UnregisterReason,
    },
    AuthFailed {
        source: SocketAddr,
        username: String,
        reason: AuthFailure,
    },
    /// From now until `until`, REGISTERs from `ip` are dropped.
    SourceBlocked { ip: IpAddr, until: Instant },
}

/// What a password sign-in comes to (see [`Registrar::check_password`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    Accepted(Credential),
    /// Wrong password, unknown user or foreign realm, told apart only in the log.
    /// The answer waits until `not_before` when the source has been failing.
    Refused {
        not_before: Option<Instant>,
    },
    /// The source is shut out until `until`.
    Blocked {
        until: Instant,
    },
}

/// Registrations of agents' and lawyers' phones. Sans-io: it never reads the clock,
/// sleeps or touches a socket or file; the driver passes `now`, sends what it returns,
/// calls [`Registrar::handle_timeout`] at [`Registrar::poll_timeout`] and drains
/// [`Registrar::poll_event`].
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    digest: DigestServer,
    tag_key: Vec<u8>,
    bindings: BindingTable,
    throttle: AuthThrottle,
    events: VecDeque<RegistrarEvent>,
}

/// A stand-in HA1 for accounts that do not exist: verifying against it runs the same
/// nonce checks as for a real account, so the answer (401 or 403) never reveals
/// whether a user name exists.
const NO_ACCOUNT_HA1: &str = "00000000000000000000000000000000";

impl Registrar {
    /// `nonce_secret` should be at least 16 random bytes, new at every start.
    pub fn new(realm: &str, nonce_secret: &[u8], now: Instant) -> Self {
        Self::with_config(realm, nonce_secret, RegistrarConfig::default(), now)
    }

    pub fn with_config(
        realm: &str,
        nonce_secret: &[u8],
        config: RegistrarConfig,
        now: Instant,
    ) -> Self {
        let digest = DigestServer::new(realm, nonce_secret, now)
            .with_nonce_lifetime(config.nonce_lifetime)
            .with_algorithms(&config.digest_algorithms);
        Registrar {
            throttle: AuthThrottle::new(config.throttle.clone()),
            config,
            digest,
            tag_key: nonce_secret.to_vec(),
            bindings: BindingTable::default(),
            events: VecDeque::new(),
        }
    }

    pub fn realm(&self) -> &str {
        self.digest.realm()
    }

    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// The user name in the request's Digest credentials, if any. The credential store
    /// blocks on SQLite, so the driver fetches the account on a blocking thread first
    /// and then hands [`Registrar::handle_register`] a lookup that returns it.
    pub fn credential_username(&self, request: &Request) -> Option<String> {
        match select_credentials(request, self.realm()) {
            Some(Ok(credentials)) => Some(credentials.username),
            _ => None,
        }
    }

    /// Answers one REGISTER that arrived from `source` (the packet's address, or the
    /// TCP peer). `credential_lookup` returns the account of a user name; it must not
    /// block (see [`Registrar::credential_username`]).
    pub fn handle_register(
        &mut self,
        request: &Request,
        source: SocketAddr,
        credential_lookup: impl Fn(&str) -> Option<Credential>,
        now: Instant,
    ) -> RegisterOutcome {
        self.throttle.purge(now);
        let verdict = self.throttle.verdict(source.ip(), now);
        if let Verdict::Blocked(blocked_until) = verdict {
            return RegisterOutcome::Drop { blocked_until };
        }
        let response = self.answer(request, source, &credential_lookup, now);
        match verdict {
            // A right password is never held back: it also cleared the record.
            Verdict::Delay(at) if !response.status.is_success() => {
                RegisterOutcome::RespondAt { response, at }
            }
            _ => RegisterOutcome::Respond(response),
        }
    }

    fn answer(
        &mut self,
        request: &Request,
        source: SocketAddr,
        credential_lookup: &impl Fn(&str) -> Option<Credential>,
        now: Instant,
    ) -> Response {
        if request.method != Method::Register {
            let mut response = self.reply(request, status(405), None);
            response.headers.push(HeaderName::Allow, "REGISTER");
            return response;
        }
        let (Ok(to), Ok(call_id), Ok(cseq)) = (
            request.headers.to(),
            request.headers.call_id(),
            request.headers.cseq(),
        ) else {
            return self.reply(
                request,
                StatusCode::BAD_REQUEST,
                Some("Bad To, Call-ID or CSeq"),
            );
        };
        let credentials = match select_credentials(request, self.realm()) {
            None => return self.challenge(request, now, false),
            Some(Err(_)) => {
                return self.reply(
                    request,
                    StatusCode::BAD_REQUEST,
                    Some("Malformed Authorization"),
                );
            }
            Some(Ok(credentials)) => credentials,
        };
        let account = credential_lookup(&credentials.username);
        let (ha1, unusable) = match &account {
            Some(account) if account.realm == self.realm() => {
                (account.ha1(credentials.algorithm).to_owned(), None)
            }
            Some(account) => (
                NO_ACCOUNT_HA1.to_owned(),
                Some(AuthFailure::AccountForOtherRealm(account.realm.clone())),
            ),
            None => (NO_ACCOUNT_HA1.to_owned(), Some(AuthFailure::UnknownUser)),
        };
        let failure = match self.digest.verify(&credentials, &request.method, &ha1, now) {
            Ok(()) => unusable,
            Err(VerifyError::StaleNonce) => return self.challenge(request, now, true),
            // A nonce from before a restart, or a replayed count: a fresh nonce lets an
            // honest phone retry; nothing was guessed, so nothing is counted.
            Err(VerifyError::UnknownNonce | VerifyError::ReplayedNonceCount(_)) => {
                return self.challenge(request, now, false);
            }
            Err(VerifyError::AlgorithmNotOffered(_)) => {
                return self.reply(
                    request,
                    StatusCode::FORBIDDEN,
                    Some("Algorithm not offered"),
                );
            }
            Err(VerifyError::WrongRealm(realm)) => Some(AuthFailure::WrongRealm(realm)),
            Err(VerifyError::WrongResponse) => Some(unusable.unwrap_or(AuthFailure::WrongPassword)),
        };
        let account = match (failure, account) {
            (None, Some(account)) => account,
            (failure, _) => {
                let reason = failure.unwrap_or(AuthFailure::UnknownUser);
                self.auth_failed(source, credentials.username, reason, now);
                return self.reply(request, StatusCode::FORBIDDEN, None);
            }
        };
        self.throttle.record_success(source.ip());
        // Authenticated, but only for its own address of record (RFC 3261 §10.3 step 4).
        let aor_user = to
            .uri
            .as_sip()
            .and_then(|uri| uri.user_decoded())
            .and_then(|user| String::from_utf8(user).ok());
        if aor_user.as_deref() != Some(account.username.as_str()) {
            return self.reply(
                request,
                StatusCode::FORBIDDEN,
                Some("May only register your own address"),
            );
        }
        let call = RequestIds {
            call_id: call_id.to_owned(),
            cseq: cseq.seq,
        };
        self.update_bindings(request, &account, source, &call, now)
    }

    fn update_bindings(
        &mut self,
        request: &Request,
        account: &Credential,
        source: SocketAddr,
        call: &RequestIds,
        now: Instant,
    ) -> Response {
        let bad_request = |registrar: &Self, reason| {
            registrar.reply(request, StatusCode::BAD_REQUEST, Some(reason))
        };
        let (Ok(contacts), Ok(header_expires), Ok(via)) = (
            request.headers.contacts(),
            request.headers.expires(),
            request.headers.top_via(),
        ) else {
            return bad_request(self, "Bad Contact, Expires or Via");
        };
        let username = account.username.as_str();
        let live = self.bindings.live(username, now);
        let out_of_order =
            |existing: &Binding| existing.call_id == call.call_id && call.cseq <= existing.cseq;

        if contacts.contains(&Contact::Wildcard) {
            if contacts.len() != 1 || header_expires != Some(0) {
                return bad_request(self, "Contact: * needs Expires: 0 and no other Contact");
            }
            if live.iter().any(out_of_order) {
                return self.reply(
                    request,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    Some("Out of order REGISTER"),
                );
            }
            for binding in self.bindings.remove_user(username) {
                self.unregistered(binding, UnregisterReason::Removed, now);
            }
            return self.ok(request, username, now);
        }

        // Check everything before changing anything: a REGISTER applies whole or not
        // at all (RFC 3261 §10.3 step 7).
        if contacts.len() > self.config.max_bindings_per_user {
            return bad_request(self, "Too many Contact values");
        }
        let mut planned: Vec<(Uri, u32, bool)> = Vec::with_capacity(contacts.len());
        for contact in &contacts {
            let Some(address) = contact.address() else {
                continue;
            };
            if address.uri.as_sip().is_none() {
                return bad_request(self, "Contact must be a sip: or sips: URI");
            }
            let expires = contact
                .expires()
                .or(header_expires)
                .unwrap_or(self.config.default_expires);
            if expires != 0 && expires < self.config.min_expires {
                let mut response = self.reply(request, status(423), None);
                response
                    .headers
                    .push(HeaderName::MinExpires, self.config.min_expires.to_string());
                return response;
            }
            if let Some(existing) = self.bindings.find(username, &address.uri)
                && existing.is_live(now)
                && out_of_order(existing)
            {
                return self.reply(
                    request,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    Some("Out of order REGISTER"),
                );
            }
            let ice = address.params.get("+sip.ice").is_some();
            planned.push((
                address.uri.clone(),
                expires.min(self.config.max_expires),
                ice,
            ));
        }

        for (contact, expires, ice) in &planned {
            if *expires == 0 {
                if let Some(binding) = self.bindings.remove(username, contact) {
                    self.unregistered(binding, UnregisterReason::Removed, now);
                }
                continue;
            }
            let binding = Binding {
                username: username.to_owned(),
                role: account.role,
                contact: contact.clone(),
                source,
                transport: via.transport.clone(),
                ice: *ice,
                call_id: call.call_id.clone(),
                cseq: call.cseq,
                expires_at: now + Duration::from_secs(u64::from(*expires)),
            };
            let refreshed = self.bindings.upsert(binding.clone());
            self.push_event(RegistrarEvent::Registered { binding, refreshed });
        }
        let just_registered =
            |binding: &Binding| planned.iter().any(|(uri, ..)| binding.same_contact(uri));
        let displaced =
            self.bindings
                .trim(username, self.config.max_bindings_per_user, just_registered);
        for binding in displaced {
            self.unregistered(binding, UnregisterReason::Displaced, now);
        }
        self.ok(request, username, now)
    }

    /// Checks a plain password (the browser page's sign-in) against the account's
    /// HA1. It shares the throttle with REGISTER: a failure here counts against the
    /// source IP exactly like a failed digest, so the page is no side door for
    /// guessing, and a blocked IP is refused here too. An unknown user, a wrong
    /// password and an account of another realm fail alike.
    pub fn check_password(
        &mut self,
        source: SocketAddr,
        username: &str,
        password: &str,
        credential_lookup: impl Fn(&str) -> Option<Credential>,
        now: Instant,
    ) -> PasswordCheck {
        self.throttle.purge(now);
        let verdict = self.throttle.verdict(source.ip(), now);
        if let Verdict::Blocked(until) = verdict {
            return PasswordCheck::Blocked { until };
        }
        let account = credential_lookup(username);
        let offered = sip_proto::digest::compute_ha1(
            sip_proto::digest::DigestAlgorithm::Md5,
            username,
            self.realm(),
            password,
        );
        let failure = match &account {
            Some(account) if account.realm != self.realm() => {
                Some(AuthFailure::AccountForOtherRealm(account.realm.clone()))
            }
            Some(account) if same_bytes(account.ha1_md5.as_bytes(), offered.as_bytes()) => None,
            Some(_) => Some(AuthFailure::WrongPassword),
            None => Some(AuthFailure::UnknownUser),
        };
        match (failure, account) {
            (None, Some(account)) => {
                self.throttle.record_success(source.ip());
                PasswordCheck::Accepted(account)
            }
            (failure, _) => {
                let reason = failure.unwrap_or(AuthFailure::UnknownUser);
                self.auth_failed(source, username.to_owned(), reason, now);
                PasswordCheck::Refused {
                    not_before: match verdict {
                        Verdict::Delay(at) => Some(at),
                        _ => None,
                    },
                }
            }
        }
    }

    /// The unexpired bindings of a user, where INVITEs for them go.
    pub fn lookup(&self, username: &str, now: Instant) -> Vec<Binding> {
        self.bindings.live(username, now)
    }

    /// Removes every binding of a user whose account was deleted; returns how many.
    pub fn remove_user(&mut self, username: &str, now: Instant) -> usize {
        let removed = self.bindings.remove_user(username);
        let count = removed.len();
        for binding in removed {
            self.unregistered(binding, UnregisterReason::AccountRemoved, now);
        }
        count
    }

    /// Lifts the block of an IP (an operator's command); `false` if it had no record.
    pub fn unblock(&mut self, ip: IpAddr) -> bool {
        self.throttle.unblock(ip)
    }

    /// Bindings held, live or not yet expired by [`Registrar::handle_timeout`].
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }

    /// Source IPs the throttle remembers.
    pub fn tracked_sources(&self) -> usize {
        self.throttle.tracked()
    }

    /// When [`Registrar::handle_timeout`] has work: the next binding expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bindings.next_expiry()
    }

    /// Expires bindings (queuing `Unregistered` events) and forgets stale throttle
    /// records.
    pub fn handle_timeout(&mut self, now: Instant) {
        for binding in self.bindings.expire(now) {
            self.push_event(RegistrarEvent::Unregistered {
                binding,
                reason: UnregisterReason::Expired,
            });
        }
        self.throttle.purge(now);
    }

    pub fn poll_event(&mut self) -> Option<RegistrarEvent> {
        self.events.pop_front()
    }

    fn auth_failed(
        &mut self,
        source: SocketAddr,
        username: String,
        reason: AuthFailure,
        now: Instant,
    ) {
        self.push_event(RegistrarEvent::AuthFailed {
            source,
            username,
            reason,
        });
        if let Some(until) = self.throttle.record_failure(source.ip(), now) {
            self.push_event(RegistrarEvent::SourceBlocked {
                ip: source.ip(),
                until,
            });
        }
    }

    fn unregistered(&mut self, binding: Binding, reason: UnregisterReason, now: Instant) {
        // A binding that ran out before anyone called handle_timeout expired, whatever
        // removed it later.
        let reason = if binding.is_live(now) {
            reason
        } else {
            UnregisterReason::Expired
        };
        self.push_event(RegistrarEvent::Unregistered { binding, reason });
    }

    fn push_event(&mut self, event: RegistrarEvent) {
        if self.events.len() >= self.config.max_queued_events.max(1) {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    fn challenge(&self, request: &Request, now: Instant, stale: bool) -> Response {
        let mut response = self.reply(request, StatusCode::UNAUTHORIZED, None);
        for challenge in self.digest.challenges(now, stale) {
            response
                .headers
                .push(HeaderName::WwwAuthenticate, challenge.to_string());
        }
        response
    }

    /// 200 OK listing every live contact with its remaining time (RFC 3261 §10.3 step 8).
    fn ok(&self, request: &Request, username: &str, now: Instant) -> Response {
        let mut response = self.reply(request, StatusCode::OK, None);
        for binding in self.bindings.live(username, now) {
            let expires = binding.remaining_secs(now).to_string();
            let contact = NameAddr::new(binding.contact).with_param("expires", Some(&expires));
            response
                .headers
                .push(HeaderName::Contact, contact.to_string());
        }
        response
    }

    fn reply(&self, request: &Request, status: StatusCode, reason: Option<&str>) -> Response {
        let mut response = Response::for_request(request, status, Some(&self.to_tag(request)));
        if let Some(reason) = reason {
            response.reason = reason.to_owned();
        }
        response
    }

    /// Every final response needs a To tag (RFC 3261 §8.2.6.2). Deriving it from the
    /// request keeps the registrar free of randomness and gives a retransmitted request
    /// the same tag; the key keeps tags unpredictable to others.
    fn to_tag(&self, request: &Request) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.tag_key);
        hasher.update(
            request
                .headers
                .get(&HeaderName::CallId)
                .unwrap_or("")
                .as_bytes(),
        );
        hasher.update(
            request
                .headers
                .get(&HeaderName::CSeq)
                .unwrap_or("")
                .as_bytes(),
        );
        hex::encode(&hasher.finalize()[..8])
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::new(code).expect("status codes written here are within 100..=699")
}

struct RequestIds {
    call_id: String,
    cseq: u32,
}

/// The Digest credentials for `realm`, else the first Digest credentials for another
/// realm (which then fail as a wrong realm). Authorization headers of other schemes
/// are ignored, so a phone offering only Basic is challenged.
fn select_credentials(request: &Request, realm: &str) -> Option<Result<Credentials, DigestError>> {
    let parsed: Vec<Result<Credentials, DigestError>> = request
        .headers
        .get_all(&HeaderName::Authorization)
        .map(Credentials::parse)
        .filter(|parsed| !matches!(parsed, Err(DigestError::NotDigest(_))))
        .collect();
    let ours = parsed
        .iter()
        .position(|parsed| matches!(parsed, Ok(credentials) if credentials.realm == realm));
    let index = ours.or_else(|| parsed.iter().position(Result::is_ok)).or(
        // Only malformed Digest headers: report the first.
        (!parsed.is_empty()).then_some(0),
    )?;
    parsed.into_iter().nth(index)
}

/// Compares two HA1 values in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
