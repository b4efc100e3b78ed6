//! A client and a server transaction joined by a virtual network and a virtual clock.

use std::time::{Duration, Instant};

use sip_proto::transaction::{
    ClientInviteTransaction, ClientNonInviteTransaction, ServerInviteTransaction,
    ServerNonInviteTransaction, TimerConfig, TransactionEvent,
};
use sip_proto::{Message, Request, Response, StatusCode, parse_message};

pub trait Machine {
    fn handle_message(&mut self, message: Message, now: Instant);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_transmit(&mut self) -> Option<Message>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn poll_event(&mut self) -> Option<TransactionEvent>;
}

macro_rules! machine {
    ($($kind:ty),*) => {$(
        impl Machine for $kind {
            fn handle_message(&mut self, message: Message, now: Instant) { <$kind>::handle_message(self, message, now) }
            fn handle_timeout(&mut self, now: Instant) { <$kind>::handle_timeout(self, now) }
            fn poll_transmit(&mut self) -> Option<Message> { <$kind>::poll_transmit(self) }
            fn poll_timeout(&self) -> Option<Instant> { <$kind>::poll_timeout(self) }
            fn poll_event(&mut self) -> Option<TransactionEvent> { <$kind>::poll_event(self) }
        }
    )*};
}
machine!(
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ServerInviteTransaction,
    ServerNonInviteTransaction
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

/// What crossed (or failed to cross) the network, and when.
#[derive(Debug)]
pub struct Sent {
    pub at: Duration,
    pub direction: Direction,
    pub summary: String,
    pub dropped: bool,
}

pub type ServerFactory<S> = Box<dyn Fn(Request, Instant) -> S>;
pub type DropRule = Box<dyn FnMut(Direction, &Message) -> bool>;

pub struct Pair<C, S> {
    pub start: Instant,
    pub now: Instant,
    pub client: C,
    pub server: Option<S>,
    pub make_server: ServerFactory<S>,
    pub drop_rule: DropRule,
    pub wire: Vec<Sent>,
    pub client_events: Vec<(Duration, TransactionEvent)>,
    pub server_events: Vec<(Duration, TransactionEvent)>,
}

pub fn summary(message: &Message) -> String {
    match message {
        Message::Request(request) => request.method.to_string(),
        Message::Response(response) => response.status.to_string(),
    }
}

impl<C: Machine, S: Machine> Pair<C, S> {
    pub fn new(start: Instant, client: C, make_server: ServerFactory<S>) -> Self {
        let mut pair = Self::without_delivery(start, client, make_server);
        pair.deliver();
        pair
    }

    /// A pair whose client's first transmission is still queued.
    pub fn without_delivery(start: Instant, client: C, make_server: ServerFactory<S>) -> Self {
        Pair {
            start,
            now: start,
            client,
            server: None,
            make_server,
            drop_rule: Box::new(|_, _| false),
            wire: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn server(&mut self) -> &mut S {
        self.server.as_mut().expect("server transaction exists")
    }

    /// Lets the server's user act at the current time, then delivers what it sent.
    pub fn with_server(&mut self, act: impl FnOnce(&mut S, Instant)) {
        let now = self.now;
        act(self.server(), now);
        self.deliver();
    }

    /// Moves every queued message across the network until nothing is left to send.
    pub fn deliver(&mut self) {
        loop {
            let mut moved = false;
            while let Some(message) = self.client.poll_transmit() {
                moved = true;
                if self.transmit(Direction::ToServer, &message) {
                    match &mut self.server {
                        Some(server) => server.handle_message(message, self.now),
                        None => {
                            if let Message::Request(request) = message {
                                self.server = Some((self.make_server)(request, self.now));
                            }
                        }
                    }
                }
            }
            if let Some(server) = &mut self.server {
                while let Some(message) = server.poll_transmit() {
                    moved = true;
                    let delivered = {
                        let dropped = (self.drop_rule)(Direction::ToClient, &message);
                        self.wire.push(Sent {
                            at: self.now - self.start,
                            direction: Direction::ToClient,
                            summary: summary(&message),
                            dropped,
                        });
                        !dropped
                    };
                    if delivered {
                        self.client.handle_message(message, self.now);
                    }
                }
            }
            let elapsed = self.elapsed();
            while let Some(event) = self.client.poll_event() {
                self.client_events.push((elapsed, event));
            }
            if let Some(server) = &mut self.server {
                while let Some(event) = server.poll_event() {
                    self.server_events.push((elapsed, event));
                }
            }
            if !moved {
                break;
            }
        }
    }

    pub fn transmit(&mut self, direction: Direction, message: &Message) -> bool {
        let dropped = (self.drop_rule)(direction, message);
        self.wire.push(Sent {
            at: self.now - self.start,
            direction,
            summary: summary(message),
            dropped,
        });
        !dropped
    }

    /// Advances the virtual clock from timeout to timeout up to `start + until`.
    pub fn run_until(&mut self, until: Duration) {
        let limit = self.start + until;
        loop {
            let next = [
                self.client.poll_timeout(),
                self.server
                    .as_ref()
                    .and_then(|server| server.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= limit => {
                    self.now = self.now.max(at);
                    self.client.handle_timeout(self.now);
                    if let Some(server) = &mut self.server {
                        server.handle_timeout(self.now);
                    }
                    self.deliver();
                }
                _ => break,
            }
        }
        self.now = self.now.max(limit);
    }

    /// Times at which `summary` was put on the wire in `direction`.
    pub fn sent_times(&self, direction: Direction, summary: &str) -> Vec<f64> {
        self.wire
            .iter()
            .filter(|sent| sent.direction == direction && sent.summary == summary)
            .map(|sent| sent.at.as_secs_f64())
            .collect()
    }
}

pub fn secs(value: f64) -> Duration {
    Duration::from_secs_f64(value)
}

pub fn request(method: &str, branch: &str) -> Request {
    let text = format!(
        "{method} sip:agent7@10.0.0.7:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 203.0.113.1:5060;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+8613800000000@carrier.example.cn>;tag=caller1\r\n\
         To: <sip:12351@hotline.example.cn>\r\n\
         Call-ID: call-1@203.0.113.1\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:+8613800000000@203.0.113.1>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()).unwrap() {
        Message::Request(request) => request,
        Message::Response(_) => unreachable!(),
    }
}

pub fn response(to: &Request, code: u16) -> Response {
    Response::for_request(to, StatusCode::new(code).unwrap(), Some("callee1"))
}

pub fn responses(events: &[(Duration, TransactionEvent)]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|(_, event)| match event {
            TransactionEvent::Response(response) => Some(response.status.as_u16()),
            _ => None,
        })
        .collect()
}

pub fn event_time(
    events: &[(Duration, TransactionEvent)],
    wanted: &TransactionEvent,
) -> Option<f64> {
    events
        .iter()
        .find(|(_, event)| event == wanted)
        .map(|(at, _)| at.as_secs_f64())
}

pub type InvitePair = Pair<ClientInviteTransaction, ServerInviteTransaction>;
pub type NonInvitePair = Pair<ClientNonInviteTransaction, ServerNonInviteTransaction>;

/// An INVITE pair whose network follows `drop_rule` from the very first message.
pub fn invite_pair_with(reliable: bool, drop_rule: DropRule) -> InvitePair {
    let start = Instant::now();
    let config = TimerConfig::default();
    let client =
        ClientInviteTransaction::new(request("INVITE", "z9hG4bKinvp"), reliable, config, start)
            .unwrap();
    let mut pair = Pair::without_delivery(
        start,
        client,
        Box::new(move |request, now| {
            ServerInviteTransaction::new(request, reliable, config, now).unwrap()
        }),
    );
    pair.drop_rule = drop_rule;
    pair.deliver();
    pair
}

/// A non-INVITE pair whose network follows `drop_rule` from the very first message.
pub fn non_invite_pair_with(reliable: bool, drop_rule: DropRule) -> NonInvitePair {
    let start = Instant::now();
    let config = TimerConfig::default();
    let client =
        ClientNonInviteTransaction::new(request("OPTIONS", "z9hG4bKoptp"), reliable, config, start)
            .unwrap();
    let mut pair = Pair::without_delivery(
        start,
        client,
        Box::new(move |request, _| {
            ServerNonInviteTransaction::new(&request, reliable, config).unwrap()
        }),
    );
    pair.drop_rule = drop_rule;
    pair.deliver();
    pair
}

pub fn invite_pair(reliable: bool) -> InvitePair {
    let start = Instant::now();
    let config = TimerConfig::default();
    let client =
        ClientInviteTransaction::new(request("INVITE", "z9hG4bKinv1"), reliable, config, start)
            .unwrap();
    Pair::new(
        start,
        client,
        Box::new(move |request, now| {
            ServerInviteTransaction::new(request, reliable, config, now).unwrap()
        }),
    )
}

pub fn non_invite_pair(reliable: bool) -> NonInvitePair {
    let start = Instant::now();
    let config = TimerConfig::default();
    let client =
        ClientNonInviteTransaction::new(request("OPTIONS", "z9hG4bKopt1"), reliable, config, start)
            .unwrap();
    Pair::new(
        start,
        client,
        Box::new(move |request, _| {
            ServerNonInviteTransaction::new(&request, reliable, config).unwrap()
        }),
    )
}
