//! The transaction layer: many transactions behind one sans-io interface.
//!
//! It matches incoming messages to transactions by [`TransactionKey`], creates server
//! transactions for new requests, remembers for each transaction the peer its
//! messages go to, merges all timers into one `poll_timeout`, and drops transactions
//! once they terminate. The peer type `P` is the transport's business (a socket
//! address, a connection id, …); for responses it should already reflect Via
//! `received`/`rport` (RFC 3261 §18.2.2, RFC 3581), which in practice means "where the
//! request came from".

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use super::{
    ClientInviteTransaction, ClientNonInviteTransaction, ServerInviteState,
    ServerInviteTransaction, ServerNonInviteTransaction, TimerConfig, TransactionError,
    TransactionEvent, TransactionKey,
};
use crate::error::ParseError;
use crate::message::{Message, Method, Request, Response};

/// What an incoming message means for the transaction user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A new request; a server transaction now exists under `key` for the response.
    Request {
        key: TransactionKey,
        request: Request,
    },
    /// An ACK outside any transaction: the ACK for a 2xx, for the dialog layer.
    Ack(Request),
    /// A response without a client transaction, such as a retransmitted 2xx after the
    /// INVITE transaction ended; the dialog layer resends its ACK.
    StrayResponse(Response),
}

#[derive(Debug)]
enum Transaction {
    InviteClient(ClientInviteTransaction),
    NonInviteClient(ClientNonInviteTransaction),
    InviteServer(ServerInviteTransaction),
    NonInviteServer(ServerNonInviteTransaction),
}

macro_rules! each {
    ($transaction:expr, $inner:ident => $body:expr) => {
        match $transaction {
            Transaction::InviteClient($inner) => $body,
            Transaction::NonInviteClient($inner) => $body,
            Transaction::InviteServer($inner) => $body,
            Transaction::NonInviteServer($inner) => $body,
        }
    };
}

#[derive(Debug)]
struct Entry<P> {
    peer: P,
    transaction: Transaction,
    /// The transaction's next timer as scheduled in the layer's heap, and its id
    /// there; a later schedule makes older heap entries stale.
    timer: Option<(Instant, u64)>,
}

/// All transactions of one SIP endpoint.
#[derive(Debug)]
pub struct TransactionLayer<P> {
    config: TimerConfig,
    clients: HashMap<TransactionKey, Entry<P>>,
    servers: HashMap<TransactionKey, Entry<P>>,
    transmit: VecDeque<(P, Message)>,
    events: VecDeque<(TransactionKey, TransactionEvent)>,
    /// Every transaction's next timer, earliest first. Entries go stale when a
    /// transaction reschedules or ends and are skipped when they come up, so neither
    /// `poll_timeout` nor `handle_timeout` looks at transactions with nothing due: a
    /// gateway at hundreds of calls per second holds tens of thousands of transactions
    /// (a non-INVITE lingers 32 s over UDP).
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    timer_owners: HashMap<u64, (Side, TransactionKey)>,
    next_timer_id: u64,
}

impl<P: Clone> TransactionLayer<P> {
    pub fn new(config: TimerConfig) -> Self {
        TransactionLayer {
            config,
            clients: HashMap::new(),
            servers: HashMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            timers: BinaryHeap::new(),
            timer_owners: HashMap::new(),
            next_timer_id: 0,
        }
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of the INVITE server transaction `key`, if it is still alive. A CANCEL
    /// (find its INVITE with [`TransactionKey::cancelled_by`]) only has an effect while
    /// that INVITE is in Proceeding; with no INVITE at all, answer the CANCEL with 481
    /// (RFC 3261 §9.2).
    pub fn server_invite_state(&self, key: &TransactionKey) -> Option<ServerInviteState> {
        match &self.servers.get(key)?.transaction {
            Transaction::InviteServer(server) => Some(server.state()),
            _ => None,
        }
    }

    /// Starts a client transaction for `request`, sent to `peer`. ACKs are not
    /// transactions: send the ACK for a 2xx with [`Self::send_stateless`].
    pub fn send_request(
        &mut self,
        request: Request,
        peer: P,
        reliable: bool,
        now: Instant,
    ) -> Result<TransactionKey, TransactionError> {
        let transaction = match request.method {
            Method::Ack => {
                return Err(TransactionError::WrongMethod {
                    expected: "non-ACK",
                    found: "ACK".to_owned(),
                });
            }
            Method::Invite => Transaction::InviteClient(ClientInviteTransaction::new(
                request,
                reliable,
                self.config,
                now,
            )?),
            _ => Transaction::NonInviteClient(ClientNonInviteTransaction::new(
                request,
                reliable,
                self.config,
                now,
            )?),
        };
        let key = each!(&transaction, inner => inner.key().clone());
        if self.clients.contains_key(&key) {
            return Err(TransactionError::DuplicateTransaction(key.branch));
        }
        self.clients.insert(
            key.clone(),
            Entry {
                peer,
                transaction,
                timer: None,
            },
        );
        self.drain(&key, Side::Client);
        Ok(key)
    }

    /// Sends a response through the server transaction `key`.
    pub fn send_response(
        &mut self,
        key: &TransactionKey,
        response: Response,
        now: Instant,
    ) -> Result<(), TransactionError> {
        let entry = self
            .servers
            .get_mut(key)
            .ok_or(TransactionError::UnknownTransaction)?;
        match &mut entry.transaction {
            Transaction::InviteServer(server) => server.send_response(response, now)?,
            Transaction::NonInviteServer(server) => server.send_response(response, now)?,
            _ => unreachable!("only server transactions are stored as servers"),
        }
        self.drain(key, Side::Server);
        Ok(())
    }

    /// Queues a message outside any transaction (the ACK for a 2xx, or a stateless
    /// response to a request that could not be parsed into a transaction).
    pub fn send_stateless(&mut self, peer: P, message: impl Into<Message>) {
        self.transmit.push_back((peer, message.into()));
    }

    /// Feeds a received message. Returns what the user must handle, or `None` when
    /// a transaction absorbed it (a retransmission, or a response now in `poll_event`).
    /// Validate requests first ([`Request::validate`]) and answer 400 statelessly.
    pub fn handle_message(
        &mut self,
        message: Message,
        peer: P,
        reliable: bool,
        now: Instant,
    ) -> Result<Option<Incoming>, ParseError> {
        match message {
            Message::Response(response) => {
                let key = TransactionKey::for_response(&response)?;
                let Some(entry) = self.clients.get_mut(&key) else {
                    return Ok(Some(Incoming::StrayResponse(response)));
                };
                each!(&mut entry.transaction, inner => inner.handle_message(Message::Response(response), now));
                self.drain(&key, Side::Client);
                Ok(None)
            }
            Message::Request(request) => {
                let key = TransactionKey::for_request(&request)?;
                if let Some(entry) = self.servers.get_mut(&key) {
                    // A peer that reuses the INVITE's branch for the ACK of a 2xx: the
                    // ACK still belongs to the dialog layer (RFC 6026 §7.1).
                    if let Transaction::InviteServer(server) = &entry.transaction
                        && server.state() == ServerInviteState::Accepted
                        && request.method == Method::Ack
                    {
                        return Ok(Some(Incoming::Ack(request)));
                    }
                    each!(&mut entry.transaction, inner => inner.handle_message(Message::Request(request), now));
                    self.drain(&key, Side::Server);
                    return Ok(None);
                }
                let transaction = match request.method {
                    Method::Ack => return Ok(Some(Incoming::Ack(request))),
                    Method::Invite => {
                        ServerInviteTransaction::new(request.clone(), reliable, self.config, now)
                            .map(Transaction::InviteServer)
                    }
                    _ => ServerNonInviteTransaction::new(&request, reliable, self.config)
                        .map(Transaction::NonInviteServer),
                };
                let transaction = transaction.map_err(|error| match error {
                    TransactionError::InvalidRequest(parse) => parse,
                    _ => unreachable!("the method was checked above"),
                })?;
                self.servers.insert(
                    key.clone(),
                    Entry {
                        peer,
                        transaction,
                        timer: None,
                    },
                );
                self.schedule(&key, Side::Server);
                Ok(Some(Incoming::Request { key, request }))
            }
        }
    }

    /// Runs every transaction timer that is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some((side, key)) = self.timer_owners.remove(&id) else {
                continue;
            };
            let Some(entry) = self.map_mut(side).get_mut(&key) else {
                continue; // ended since
            };
            if entry.timer.map(|(_, current)| current) != Some(id) {
                continue; // rescheduled since
            }
            entry.timer = None;
            let due = each!(&entry.transaction, inner => inner.poll_timeout())
                .is_some_and(|at| at <= now);
            if due {
                each!(&mut entry.transaction, inner => inner.handle_timeout(now));
            }
            self.drain(&key, side);
        }
    }

    /// The transport failed to deliver for transaction `key`.
    pub fn handle_transport_error(&mut self, key: &TransactionKey) {
        for side in [Side::Client, Side::Server] {
            if let Some(entry) = self.map_mut(side).get_mut(key) {
                each!(&mut entry.transaction, inner => inner.handle_transport_error());
                self.drain(key, side);
            }
        }
    }

    /// The next message to send and where.
    pub fn poll_transmit(&mut self) -> Option<(P, Message)> {
        self.transmit.pop_front()
    }

    /// The next event for the user, with the transaction it concerns.
    pub fn poll_event(&mut self) -> Option<(TransactionKey, TransactionEvent)> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next. It may be earlier than
    /// needed (a transaction rescheduled or ended since), never later.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Moves a transaction's output into the layer's queues and forgets it once it
    /// has terminated.
    fn drain(&mut self, key: &TransactionKey, side: Side) {
        let Some(entry) = self.map_mut(side).get_mut(key) else {
            return;
        };
        let mut transmit = Vec::new();
        let mut events = Vec::new();
        each!(&mut entry.transaction, inner => {
            while let Some(message) = inner.poll_transmit() {
                transmit.push(message);
            }
            while let Some(event) = inner.poll_event() {
                events.push(event);
            }
        });
        let peer = entry.peer.clone();
        let terminated = each!(&entry.transaction, inner => inner.is_terminated());
        self.transmit
            .extend(transmit.into_iter().map(|message| (peer.clone(), message)));
        self.events
            .extend(events.into_iter().map(|event| (key.clone(), event)));
        if terminated {
            self.map_mut(side).remove(key);
        } else {
            self.schedule(key, side);
        }
    }

    /// Puts the transaction's next timer in the heap, unless it is already there.
    fn schedule(&mut self, key: &TransactionKey, side: Side) {
        let id = self.next_timer_id;
        let Some(entry) = self.map_mut(side).get_mut(key) else {
            return;
        };
        let next = each!(&entry.transaction, inner => inner.poll_timeout());
        match next {
            None => entry.timer = None,
            Some(at) if entry.timer.map(|(scheduled, _)| scheduled) == Some(at) => {}
            Some(at) => {
                entry.timer = Some((at, id));
                self.next_timer_id += 1;
                self.timers.push(Reverse((at, id)));
                self.timer_owners.insert(id, (side, key.clone()));
            }
        }
    }

    fn map_mut(&mut self, side: Side) -> &mut HashMap<TransactionKey, Entry<P>> {
        match side {
            Side::Client => &mut self.clients,
            Side::Server => &mut self.servers,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}
