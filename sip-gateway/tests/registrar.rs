//! The registrar against sip-proto's digest client, on a virtual clock, with accounts
//! in a real credential store on disk.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip_gateway::registrar::{
    AuthFailure, CredentialStore, GATEWAY_DATABASE_FILE, PasswordCheck, RegisterOutcome, Registrar,
    RegistrarConfig, RegistrarEvent, SipRole, ThrottleConfig, UnregisterReason,
};
use sip_proto::digest::{Challenge, ClientSecret, DigestAlgorithm, answer_challenge};
use sip_proto::{
    Contact, HeaderName, Message, Method, Request, Response, Transport, parse_message,
};

const REALM: &str = "12351.example.cn";
const SECRET: &[u8] = b"nonce secret for the tests, 32 b";
const PASSWORD: &str = "wage-theft-12351";

struct World {
    _dir: tempfile::TempDir,
    store: CredentialStore,
    registrar: Registrar,
    start: Instant,
}

impl World {
    fn new() -> World {
        World::with_config(RegistrarConfig::default())
    }

    fn with_config(config: RegistrarConfig) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CredentialStore::open(dir.path().join(GATEWAY_DATABASE_FILE)).expect("store");
        store
            .set_password("agent07", REALM, PASSWORD, SipRole::Agent)
            .expect("agent");
        store
            .set_password("lawyer.li", REALM, "legal-aid-2026", SipRole::Lawyer)
            .expect("lawyer");
        let start = Instant::now();
        World {
            _dir: dir,
            store,
            registrar: Registrar::with_config(REALM, SECRET, config, start),
            start,
        }
    }

    fn at(&self, seconds: u64) -> Instant {
        self.start + Duration::from_secs(seconds)
    }

    /// What a driver does: fetch the account named in the request, then hand the
    /// registrar a lookup that returns it.
    fn handle(&mut self, request: &Request, source: SocketAddr, now: Instant) -> RegisterOutcome {
        let account = self
            .registrar
            .credential_username(request)
            .and_then(|user| self.store.get(&user).expect("store read"));
        self.registrar.handle_register(
            request,
            source,
            |name| account.clone().filter(|account| account.username == name),
            now,
        )
    }

    /// Expects an immediate answer.
    fn send(&mut self, request: &Request, source: SocketAddr, now: Instant) -> Response {
        match self.handle(request, source, now) {
            RegisterOutcome::Respond(response) => response,
            other => panic!("expected an immediate answer, got {other:?}"),
        }
    }

    /// REGISTER, 401, REGISTER with credentials: the final answer.
    fn register(&mut self, phone: &mut Phone, source: SocketAddr, now: Instant) -> Response {
        // A fresh start: no credentials from an earlier challenge.
        phone.challenge = None;
        let challenge = self.send(&phone.request(&[]), source, now);
        assert_eq!(challenge.status.as_u16(), 401, "{challenge:?}");
        phone.learn(&challenge);
        self.send(&phone.request(&[]), source, now)
    }

    fn events(&mut self) -> Vec<RegistrarEvent> {
        std::iter::from_fn(|| self.registrar.poll_event()).collect()
    }
}

/// A softphone: sip-proto's digest client plus the REGISTER it would send.
struct Phone {
    user: String,
    aor_user: String,
    password: String,
    algorithm: DigestAlgorithm,
    transport: &'static str,
    contact: String,
    call_id: String,
    cseq: u32,
    challenge: Option<Challenge>,
    nonce_count: u32,
    headers: Vec<(String, String)>,
}

impl Phone {
    fn new(user: &str, password: &str) -> Phone {
        Phone {
            user: user.to_owned(),
            aor_user: user.to_owned(),
            password: password.to_owned(),
            algorithm: DigestAlgorithm::Sha256,
            transport: "UDP",
            contact: format!("<sip:{user}@192.168.1.20:5062>"),
            call_id: format!("reg-{user}@192.168.1.20"),
            cseq: 0,
            challenge: None,
            nonce_count: 0,
            headers: Vec::new(),
        }
    }

    fn agent() -> Phone {
        Phone::new("agent07", PASSWORD)
    }

    fn with_header(mut self, name: &str, value: &str) -> Phone {
        self.set_header(name, value);
        self
    }

    fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(existing, _)| existing != name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// The next REGISTER, answering the last challenge if there was one.
    fn request(&mut self, contacts: &[&str]) -> Request {
        self.cseq += 1;
        let contacts = if contacts.is_empty() {
            vec![self.contact.clone()]
        } else {
            contacts.iter().map(|c| (*c).to_owned()).collect()
        };
        let mut text = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\n\
             Via: SIP/2.0/{} 192.168.1.20:5062;branch=z9hG4bK{}x{};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{}@{REALM}>;tag=ph{}\r\n\
             To: <sip:{}@{REALM}>\r\n\
             Call-ID: {}\r\n\
             CSeq: {} REGISTER\r\n",
            self.transport,
            self.user,
            self.cseq,
            self.user,
            self.cseq,
            self.aor_user,
            self.call_id,
            self.cseq
        );
        for contact in contacts {
            text.push_str(&format!("Contact: {contact}\r\n"));
        }
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        let Message::Request(mut request) = parse_message(text.as_bytes()).expect("parses") else {
            panic!("not a request");
        };
        if let Some(challenge) = &self.challenge {
            self.nonce_count += 1;
            let secret = ClientSecret {
                username: &self.user,
                password: &self.password,
            };
            let credentials = answer_challenge(
                challenge,
                secret,
                &Method::Register,
                &format!("sip:{REALM}"),
                "0a4f113b",
                self.nonce_count,
            )
            .expect("answerable");
            request
                .headers
                .push(HeaderName::Authorization, credentials.to_string());
        }
        request
    }

    /// Keeps the challenge of the phone's algorithm.
    fn learn(&mut self, response: &Response) {
        let challenges = response.headers.digest_challenges(false);
        self.challenge = challenges
            .into_iter()
            .find(|challenge| challenge.algorithm == self.algorithm);
        assert!(self.challenge.is_some(), "no {} challenge", self.algorithm);
        self.nonce_count = 0;
    }
}

fn source(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([203, 0, 113, last], port))
}

fn contact_expires(response: &Response) -> Vec<(String, u32)> {
    response
        .headers
        .contacts()
        .expect("contacts parse")
        .into_iter()
        .map(|contact| {
            let expires = contact.expires().expect("expires param");
            let Contact::Address(address) = contact else {
                panic!("wildcard in a 200");
            };
            (address.uri.to_string(), expires)
        })
        .collect()
}

#[test]
fn digest_exchange_with_sha256_and_md5_registers_the_phone() {
    for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Md5] {
        let mut world = World::new();
        let mut phone = Phone::agent();
        phone.algorithm = algorithm;
        let now = world.at(1);

        let challenge = world.send(&phone.request(&[]), source(7, 40001), now);
        assert_eq!(challenge.status.as_u16(), 401);
        let offered: Vec<DigestAlgorithm> = challenge
            .headers
            .digest_challenges(false)
            .iter()
            .map(|c| c.algorithm)
            .collect();
        assert_eq!(offered, [DigestAlgorithm::Sha256, DigestAlgorithm::Md5]);
        assert!(challenge.headers.to().expect("To").tag().is_some());
        assert!(world.events().is_empty());

        phone.learn(&challenge);
        let ok = world.send(&phone.request(&[]), source(7, 40001), now);
        assert_eq!(ok.status.as_u16(), 200, "{algorithm}: {ok:?}");
        assert_eq!(
            contact_expires(&ok),
            [("sip:agent07@192.168.1.20:5062".to_owned(), 3600)]
        );

        let bindings = world.registrar.lookup("agent07", now);
        assert_eq!(bindings.len(), 1);
        assert_eq!(bindings[0].role, SipRole::Agent);
        assert_eq!(bindings[0].expires_at, now + Duration::from_secs(3600));
        let events = world.events();
        assert!(matches!(
            &events[..],
            [RegistrarEvent::Registered { binding, refreshed: false }] if binding.username == "agent07"
        ));
    }
}

#[test]
fn binding_keeps_the_nat_source_and_the_via_transport() {
    let mut world = World::new();
    let mut phone = Phone::agent();
    phone.transport = "TCP";
    let nat = source(7, 61234);
    let ok = world.register(&mut phone, nat, world.at(0));
    assert_eq!(ok.status.as_u16(), 200);
    let binding = &world.registrar.lookup("agent07", world.at(0))[0];
    assert_eq!(binding.source, nat);
    assert_eq!(binding.transport, Transport::Tcp);
    assert_eq!(binding.contact.to_string(), "sip:agent07@192.168.1.20:5062");
}

#[test]
fn wrong_password_unknown_user_and_foreign_realm_get_the_same_403() {
    let mut world = World::new();
    let now = world.at(0);
    let mut answers = Vec::new();
    for mut phone in [
        Phone::new("agent07", "not the password"),
        Phone::new("nobody", "any password"),
    ] {
        answers.push(world.register(&mut phone, source(9, 5060), now));
    }
    // Credentials for another realm: answer a challenge that claims one.
    let mut phone = Phone::agent();
    let mut challenge = world.send(&phone.request(&[]), source(9, 5060), now);
    let foreign = challenge
        .headers
        .get(&HeaderName::WwwAuthenticate)
        .expect("challenge");
    let foreign = foreign.replace(REALM, "elsewhere.example.cn");
    challenge.headers.set(HeaderName::WwwAuthenticate, foreign);
    phone.learn(&challenge);
    answers.push(world.send(&phone.request(&[]), source(9, 5060), now));

    for answer in &answers {
        assert_eq!(
            (answer.status.as_u16(), answer.reason.as_str()),
            (403, "Forbidden")
        );
        assert!(answer.headers.get(&HeaderName::WwwAuthenticate).is_none());
    }
    let reasons: Vec<AuthFailure> = world
        .events()
        .into_iter()
        .filter_map(|event| match event {
            RegistrarEvent::AuthFailed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            AuthFailure::WrongPassword,
            AuthFailure::UnknownUser,
            AuthFailure::WrongRealm("elsewhere.example.cn".into()),
        ]
    );
    assert!(world.registrar.lookup("agent07", now).is_empty());
}

#[test]
fn an_expired_nonce_gets_a_stale_challenge_and_the_retry_succeeds() {
    let mut world = World::new();
    let mut phone = Phone::agent();
    let first = world.send(&phone.request(&[]), source(7, 5060), world.at(0));
    phone.learn(&first);
    // Five minutes later the nonce is stale; the password is still right.
    let stale = world.send(&phone.request(&[]), source(7, 5060), world.at(301));
    assert_eq!(stale.status.as_u16(), 401);
    assert!(
        stale
            .headers
            .digest_challenges(false)
            .iter()
            .all(|c| c.stale)
    );
    phone.learn(&stale);
    let ok = world.send(&phone.request(&[]), source(7, 5060), world.at(301));
    assert_eq!(ok.status.as_u16(), 200);
    // A stale nonce is not a failure.
    assert_eq!(world.registrar.tracked_sources(), 0);
}

#[test]
fn a_nonce_from_before_a_restart_is_challenged_again() {
    let mut world = World::new();
    let mut phone = Phone::agent();
    let first = world.send(&phone.request(&[]), source(7, 5060), world.at(0));
    phone.learn(&first);
    world.registrar = Registrar::new(REALM, b"another secret after restart....", world.at(10));
    let again = world.send(&phone.request(&[]), source(7, 5060), world.at(10));
    assert_eq!(again.status.as_u16(), 401);
    assert!(!again.headers.digest_challenges(false)[0].stale);
    assert_eq!(world.registrar.tracked_sources(), 0);
}

#[test]
fn bindings_expire_on_the_virtual_clock_unless_refreshed() {
    let mut world = World::new();
    let mut phone = Phone::agent().with_header("Expires", "120");
    let ok = world.register(&mut phone, source(7, 5060), world.at(0));
    assert_eq!(contact_expires(&ok)[0].1, 120);
    assert_eq!(world.registrar.poll_timeout(), Some(world.at(120)));
    world.events();

    // Refreshed at 100 s: good until 220 s.
    let refreshed = world.send(&phone.request(&[]), source(7, 5060), world.at(100));
    assert_eq!(refreshed.status.as_u16(), 200);
    assert!(matches!(
        &world.events()[..],
        [RegistrarEvent::Registered {
            refreshed: true,
            ..
        }]
    ));
    world.registrar.handle_timeout(world.at(120));
    assert!(world.events().is_empty());
    assert_eq!(world.registrar.lookup("agent07", world.at(219)).len(), 1);
    // Past expiry the binding is gone from lookups even before the timer runs.
    assert!(world.registrar.lookup("agent07", world.at(220)).is_empty());
    assert_eq!(world.registrar.poll_timeout(), Some(world.at(220)));
    world.registrar.handle_timeout(world.at(220));
    assert!(matches!(
        &world.events()[..],
        [RegistrarEvent::Unregistered { reason: UnregisterReason::Expired, binding }]
            if binding.username == "agent07"
    ));
    assert_eq!(world.registrar.binding_count(), 0);
    assert_eq!(world.registrar.poll_timeout(), None);
}

#[test]
fn expires_zero_removes_one_contact_and_the_wildcard_removes_all() {
    let mut world = World::new();
    let mut phone = Phone::agent();
    let desk = "<sip:agent07@192.168.1.20:5062>";
    let soft = "<sip:agent07@192.168.1.21:5070;transport=tcp>";
    world.register(&mut phone, source(7, 5060), world.at(0));
    let two = world.send(&phone.request(&[desk, soft]), source(7, 5060), world.at(1));
    assert_eq!(contact_expires(&two).len(), 2);
    world.events();

    let one = world.send(
        &phone.request(&[&format!("{soft};expires=0")]),
        source(7, 5060),
        world.at(2),
    );
    assert_eq!(
        contact_expires(&one),
        [("sip:agent07@192.168.1.20:5062".to_owned(), 3599)]
    );
    assert!(matches!(
        &world.events()[..],
        [RegistrarEvent::Unregistered {
            reason: UnregisterReason::Removed,
            ..
        }]
    ));

    // `*` needs Expires: 0.
    let bad = world.send(&phone.request(&["*"]), source(7, 5060), world.at(3));
    assert_eq!(bad.status.as_u16(), 400);
    phone.set_header("Expires", "0");
    let none = world.send(&phone.request(&["*"]), source(7, 5060), world.at(3));
    assert_eq!(none.status.as_u16(), 200);
    assert!(contact_expires(&none).is_empty());
    assert!(world.registrar.lookup("agent07", world.at(3)).is_empty());
}

#[test]
fn too_brief_gets_423_too_long_is_shortened_and_the_contact_param_wins() {
    let mut world = World::new();
    let mut phone = Phone::agent().with_header("Expires", "30");
    let brief = world.register(&mut phone, source(7, 5060), world.at(0));
    assert_eq!(brief.status.as_u16(), 423);
    assert_eq!(brief.headers.get(&HeaderName::MinExpires), Some("60"));
    assert_eq!(world.registrar.binding_count(), 0);

    phone.set_header("Expires", "86400");
    let long = world.send(&phone.request(&[]), source(7, 5060), world.at(0));
    assert_eq!(contact_expires(&long)[0].1, 7200);

    let param = world.send(
        &phone.request(&["<sip:agent07@192.168.1.20:5062>;expires=600"]),
        source(7, 5060),
        world.at(0),
    );
    assert_eq!(contact_expires(&param)[0].1, 600);
}

#[test]
fn an_older_cseq_on_the_same_call_id_is_refused() {
    let mut world = World::new();
    let mut phone = Phone::agent();
    world.register(&mut phone, source(7, 5060), world.at(0));
    let current = phone.cseq;
    phone.cseq = current - 2; // the next request carries an older CSeq
    let old = world.send(&phone.request(&[]), source(7, 5060), world.at(1));
    assert_eq!(old.status.as_u16(), 500);
    assert_eq!(
        world.registrar.lookup("agent07", world.at(1))[0].cseq,
        current
    );
}

#[test]
fn a_user_may_register_only_its_own_address() {
    let mut world = World::new();
    let mut phone = Phone::agent();
    phone.aor_user = "lawyer.li".into();
    let refused = world.register(&mut phone, source(7, 5060), world.at(0));
    assert_eq!(refused.status.as_u16(), 403);
    assert!(world.registrar.lookup("lawyer.li", world.at(0)).is_empty());
    // Authenticated: not counted as a guess.
    assert_eq!(world.registrar.tracked_sources(), 0);
}

#[test]
fn bindings_per_user_are_capped_by_displacing_the_oldest() {
    let mut world = World::with_config(RegistrarConfig {
        max_bindings_per_user: 2,
        ..RegistrarConfig::default()
    });
    let mut phone = Phone::new("lawyer.li", "legal-aid-2026");
    world.register(&mut phone, source(8, 5060), world.at(0));
    for (second, host) in [(10, "10.0.0.2"), (20, "10.0.0.3")] {
        let contact = format!("<sip:lawyer.li@{host}>");
        let ok = world.send(
            &phone.request(&[&contact]),
            source(8, 5060),
            world.at(second),
        );
        assert_eq!(ok.status.as_u16(), 200);
    }
    let hosts: Vec<String> = world
        .registrar
        .lookup("lawyer.li", world.at(20))
        .iter()
        .map(|binding| binding.contact.to_string())
        .collect();
    assert_eq!(hosts, ["sip:lawyer.li@10.0.0.2", "sip:lawyer.li@10.0.0.3"]);
    assert!(world.events().iter().any(|event| matches!(
        event,
        RegistrarEvent::Unregistered { reason: UnregisterReason::Displaced, binding }
            if binding.contact.to_string() == "sip:lawyer.li@192.168.1.20:5062"
    )));
    assert!(matches!(
        world
            .register(&mut phone, source(8, 5060), world.at(21))
            .status
            .as_u16(),
        200
    ));
    let three = ["<sip:a@10.0.0.4>", "<sip:b@10.0.0.5>", "<sip:c@10.0.0.6>"];
    let too_many = world.send(&phone.request(&three), source(8, 5060), world.at(22));
    assert_eq!(too_many.status.as_u16(), 400);
}

#[test]
fn removing_an_account_drops_its_bindings() {
    let mut world = World::new();
    world.register(&mut Phone::agent(), source(7, 5060), world.at(0));
    world.events();
    assert!(world.store.remove("agent07").expect("remove"));
    assert_eq!(world.registrar.remove_user("agent07", world.at(1)), 1);
    assert!(matches!(
        &world.events()[..],
        [RegistrarEvent::Unregistered {
            reason: UnregisterReason::AccountRemoved,
            ..
        }]
    ));
    let refused = world.register(&mut Phone::agent(), source(7, 5060), world.at(2));
    assert_eq!(refused.status.as_u16(), 403);
}

#[test]
fn other_methods_get_405() {
    let mut world = World::new();
    let mut request = Phone::agent().request(&[]);
    request.method = Method::Options;
    let answer = world.send(&request, source(7, 5060), world.at(0));
    assert_eq!(answer.status.as_u16(), 405);
    assert_eq!(answer.headers.get(&HeaderName::Allow), Some("REGISTER"));
}

/// What svcrack sees: one guess after another from one address.
#[test]
fn guessing_is_slowed_then_blocked_while_others_still_register() {
    let mut world = World::new();
    let attacker = source(66, 5070);
    let mut now = world.at(0);
    let mut delays = Vec::new();
    let mut blocked_until = None;
    for guess in 1..=20u64 {
        now = world.at(guess);
        let mut guesser = Phone::new("agent07", &format!("guess-{guess:04}"));
        let challenge = world.handle(&guesser.request(&[]), attacker, now);
        let challenge = challenge.response().expect("answered").clone();
        guesser.learn(&challenge);
        match world.handle(&guesser.request(&[]), attacker, now) {
            RegisterOutcome::Respond(response) => {
                assert_eq!(response.status.as_u16(), 403);
                delays.push(Duration::ZERO);
            }
            RegisterOutcome::RespondAt { response, at } => {
                assert_eq!(response.status.as_u16(), 403);
                delays.push(at - now);
            }
            RegisterOutcome::Drop { .. } => panic!("blocked too early, at guess {guess}"),
        }
        for event in world.events() {
            if let RegistrarEvent::SourceBlocked { ip, until } = event {
                assert_eq!(ip, attacker.ip());
                blocked_until = Some(until);
            }
        }
    }
    // The first five answers come at once, then each is held back a second longer,
    // up to ten seconds.
    let seconds: Vec<u64> = delays.iter().map(Duration::as_secs).collect();
    assert_eq!(
        seconds,
        [
            0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10, 10, 10
        ]
    );
    let until = blocked_until.expect("blocked after 20 failures");
    assert_eq!(until, now + Duration::from_secs(15 * 60));

    // Blocked: even the right password gets no answer.
    let mut real = Phone::agent();
    let dropped = world.handle(&real.request(&[]), attacker, now);
    assert_eq!(
        dropped,
        RegisterOutcome::Drop {
            blocked_until: until
        }
    );
    // Another address registers normally.
    assert_eq!(
        world
            .register(&mut real, source(7, 5060), now)
            .status
            .as_u16(),
        200
    );
    // After the block the address starts with a clean slate.
    assert_eq!(
        world.register(&mut real, attacker, until).status.as_u16(),
        200
    );
}

#[test]
fn a_right_password_clears_the_failures_of_its_address() {
    let mut world = World::new();
    let office = source(20, 5060);
    for _ in 0..4 {
        world.register(&mut Phone::new("agent07", "mistyped!"), office, world.at(0));
    }
    assert_eq!(
        world
            .register(&mut Phone::agent(), office, world.at(1))
            .status
            .as_u16(),
        200
    );
    assert_eq!(world.registrar.tracked_sources(), 0);
    // Four more failures do not reach the delay threshold of five.
    for _ in 0..4 {
        let mut phone = Phone::new("agent07", "mistyped!");
        let challenge = world.send(&phone.request(&[]), office, world.at(2));
        phone.learn(&challenge);
        assert!(matches!(
            world.handle(&phone.request(&[]), office, world.at(2)),
            RegisterOutcome::Respond(_)
        ));
    }
    // The unblock command forgets them too.
    assert!(world.registrar.unblock(office.ip()));
    assert_eq!(world.registrar.tracked_sources(), 0);
}

#[test]
fn the_throttle_remembers_a_bounded_number_of_addresses() {
    let mut world = World::with_config(RegistrarConfig {
        throttle: ThrottleConfig {
            max_tracked: 50,
            ..ThrottleConfig::default()
        },
        max_queued_events: 16,
        ..RegistrarConfig::default()
    });
    let now = world.at(0);
    let mut phone = Phone::new("nobody", "password?");
    for n in 0..1000u16 {
        let [high, low] = n.to_be_bytes();
        let scanner = SocketAddr::from(([198, 18, high, low], 5060));
        phone.challenge = None;
        let challenge = world.send(&phone.request(&[]), scanner, now);
        phone.learn(&challenge);
        let answer = world.send(&phone.request(&[]), scanner, now);
        assert_eq!(answer.status.as_u16(), 403);
        assert!(world.registrar.tracked_sources() <= 50);
    }
    assert_eq!(world.registrar.tracked_sources(), 50);
    // The event queue is bounded as well when nobody drains it.
    assert_eq!(world.events().len(), 16);
}

/// The web page's sign-in checks the plain password against the HA1 and counts its
/// failures in the same throttle as REGISTER.
#[test]
fn password_sign_ins_share_the_throttle_with_register() {
    let mut world = World::new();
    let page = source(77, 40000);
    let now = world.at(0);
    let check = |world: &mut World, user: &str, password: &str, at: Instant| {
        let account = world.store.get(user).expect("store read");
        world
            .registrar
            .check_password(page, user, password, |_| account.clone(), at)
    };
    match check(&mut world, "agent07", PASSWORD, now) {
        PasswordCheck::Accepted(account) => assert_eq!(account.username, "agent07"),
        other => panic!("the right password: {other:?}"),
    }
    // A wrong password and an unknown user fail alike, and both count.
    for (guess, user) in ["agent07", "nobody", "agent07", "nobody", "agent07"]
        .into_iter()
        .enumerate()
    {
        let at = world.at(guess as u64 + 1);
        assert_eq!(
            check(&mut world, user, "wrong-guess", at),
            PasswordCheck::Refused { not_before: None }
        );
    }
    let reasons: Vec<AuthFailure> = world
        .events()
        .into_iter()
        .filter_map(|event| match event {
            RegistrarEvent::AuthFailed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 5);
    assert!(reasons.contains(&AuthFailure::UnknownUser));
    assert!(reasons.contains(&AuthFailure::WrongPassword));
    // The sixth failure within a minute is answered late, like a REGISTER's.
    let at = world.at(6);
    assert_eq!(
        check(&mut world, "agent07", "wrong-guess", at),
        PasswordCheck::Refused {
            not_before: Some(at + Duration::from_secs(1))
        }
    );
    for n in 7..=20 {
        let at = world.at(n);
        check(&mut world, "agent07", "wrong-guess", at);
    }
    // Blocked: the page is refused even the right password, and so is REGISTER.
    let at = world.at(21);
    assert!(matches!(
        check(&mut world, "agent07", PASSWORD, at),
        PasswordCheck::Blocked { .. }
    ));
    let mut phone = Phone::agent();
    assert!(matches!(
        world.handle(&phone.request(&[]), page, at),
        RegisterOutcome::Drop { .. }
    ));
}

#[test]
fn the_ice_feature_tag_marks_a_browser_and_its_absence_a_plain_phone() {
    let mut world = World::new();
    let now = world.at(1);
    // JsSIP's Contact: a made-up host, transport=ws, and the RFC 5768 feature tag.
    let mut browser = Phone::agent();
    browser.contact = "<sip:k3j2h1@x9y8z7.invalid;transport=ws>;+sip.ice;reg-id=1".to_owned();
    let ok = world.register(&mut browser, source(7, 40001), now);
    assert_eq!(ok.status.as_u16(), 200, "{ok:?}");
    let browser_binding = world.registrar.lookup("agent07", now);
    assert!(browser_binding[0].ice, "{browser_binding:?}");

    let mut world = World::new();
    let mut desk = Phone::agent();
    let ok = world.register(&mut desk, source(7, 40002), now);
    assert_eq!(ok.status.as_u16(), 200, "{ok:?}");
    let desk_binding = world.registrar.lookup("agent07", now);
    assert!(!desk_binding[0].ice, "{desk_binding:?}");
}
