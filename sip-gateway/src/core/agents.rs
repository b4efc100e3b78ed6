//! The agents' side: ringing softphones for the ACD, answering, hanging up.

use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use sip_proto::dialog::Dialog;
use sip_proto::sdp::{AudioCodec, AudioConfig, SessionDescription, create_offer, read_answer};
use sip_proto::transaction::build_cancel;
use sip_proto::{CSeq, HeaderName, Method, NameAddr, Request, Response, Uri};

use super::browser::is_browser;
use super::commands::{AgentNotice, consult_key, is_consult, main_call};
use super::sip_util::{self, random_token};
use super::{AgentLeg, CallPhase, Core, LegPurpose, LegRef};
use crate::acd::{AcdAction, CallKey};
use crate::call_events::CallEventKind;
use crate::relay::{CALLER, LegMedia, MediaCommand};
use crate::transport::Peer;

/// Media slot of the leg that answers the call, and of a consultation leg.
const ANSWER_SLOT: usize = 1;
const CONSULT_SLOT: usize = 2;

impl Core {
    pub(super) fn drain_acd(&mut self, now: Instant) {
        while let Some(action) = self.acd.poll_action() {
            match action {
                AcdAction::Ring { call, agent } => self.ring_agent(call, &agent, now),
                AcdAction::CancelRing { call, agent } => self.cancel_ring(call, &agent, now),
                AcdAction::Connect { call, agent } => self.connect(call, &agent, now),
                AcdAction::AnnouncePosition { call, position } => {
                    self.announce_position(call, position);
                }
                AcdAction::QueueTimeout { call } => {
                    self.end_call(main_call(call), "waited too long in the queue", now);
                }
                AcdAction::AgentStateChanged { agent, .. } => self.notify_status(&agent),
            }
        }
    }

    pub(super) fn drain_registrar(&mut self, _now: Instant) {
        while let Some(event) = self.registrar.poll_event() {
            tracing::debug!(?event, "registration changed");
        }
    }

    /// Where to send an INVITE for `agent`: a desk phone's fixed address, or the
    /// newest registration (to the address the REGISTER came from, NAT friendly);
    /// and whether that phone is a browser, which needs WebRTC media.
    fn agent_target(&self, agent: &str, now: Instant) -> Option<(Uri, Peer, bool)> {
        if let Some(uri) = self.static_agents.get(agent) {
            let sip = uri.as_sip()?;
            let ip = sip.host.ip()?;
            let address = SocketAddr::new(ip, sip.port.unwrap_or(5060));
            return Some((uri.clone(), Peer::Udp(address), false));
        }
        let binding = self.registrar.lookup(agent, now).into_iter().next()?;
        let peer = if binding.transport.is_reliable() {
            *self.tcp_peers.get(&binding.source)?
        } else {
            Peer::Udp(binding.source)
        };
        let browser = is_browser(peer, binding.ice);
        Some((binding.contact.clone(), peer, browser))
    }

    fn ring_agent(&mut self, acd_call: CallKey, agent: &str, now: Instant) {
        let call = main_call(acd_call);
        let purpose = if is_consult(acd_call) {
            LegPurpose::Consult
        } else {
            LegPurpose::Answer
        };
        if !self.is_live(call) {
            self.acd.ring_failed(acd_call, agent, now);
            return;
        }
        let Some((target, peer, browser)) = self.agent_target(agent, now) else {
            tracing::info!(agent, "agent has no registered softphone: auto-paused");
            self.acd.ring_failed(acd_call, agent, now);
            return;
        };
        let socket = match UdpSocket::bind((self.config.rtp_ip(), 0)) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::error!(%error, "no RTP port for an agent leg");
                self.acd.ring_failed(acd_call, agent, now);
                return;
            }
        };
        let rtp_port = socket.local_addr().map(|a| a.port()).unwrap_or_default();
        let mut audio = AudioConfig::new(
            self.config.public_ip(),
            rtp_port,
            rand::random::<u32>().into(),
        );
        // Offer the trunk's codec first, then the other: a phone (and a browser) picks
        // the first one it supports, and when both legs agree the relay passes packets
        // through without transcoding.
        audio.codecs = self
            .calls
            .get(&call)
            .map(|state| agent_codec_preference(state.caller.codec))
            .unwrap_or_else(|| agent_codec_preference(AudioCodec::Pcmu));
        let (offer, webrtc, browser) = if browser {
            let (offer, transport, browser) = self.browser_offer(audio, now);
            (offer, Some(transport), Some(browser))
        } else {
            (create_offer(&audio), None, None)
        };
        let invite = self.build_agent_invite(call, agent, target, peer, &offer);
        let Ok(invite_key) = self
            .layer
            .send_request(invite.clone(), peer, peer.is_reliable(), now)
        else {
            self.acd.ring_failed(acd_call, agent, now);
            return;
        };
        let slot = match purpose {
            LegPurpose::Answer => ANSWER_SLOT,
            LegPurpose::Consult => CONSULT_SLOT,
        };
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let leg = state.next_leg;
        state.next_leg += 1;
        state.media.send(MediaCommand::AddLeg {
            slot,
            socket,
            media: None,
            webrtc,
        });
        let call_id = invite.headers.call_id().unwrap_or_default().to_owned();
        let our_tag = invite
            .headers
            .from()
            .ok()
            .and_then(|from| from.tag().map(str::to_owned))
            .unwrap_or_default();
        let notice = AgentNotice::Ringing {
            call_uuid: state.uuid.clone(),
            caller_phone: state.caller_phone.clone(),
            queue: state.queue.clone().unwrap_or_default(),
            service: state.service,
        };
        state.legs.insert(
            leg,
            AgentLeg {
                agent: agent.to_owned(),
                purpose,
                slot,
                peer,
                invite,
                offer,
                browser,
                dialog: None,
                ack: None,
                connected: false,
                cancelled: false,
            },
        );
        state.index_keys.push((call_id.clone(), our_tag.clone()));
        state.invite_keys.push(invite_key.clone());
        self.invites.insert(invite_key, (call, leg));
        self.dialogs
            .insert((call_id, our_tag), (call, LegRef::Agent(leg)));
        self.notify(agent, notice);
    }

    fn build_agent_invite(
        &self,
        call: CallKey,
        agent: &str,
        target: Uri,
        peer: Peer,
        offer: &SessionDescription,
    ) -> Request {
        let public_ip = self.config.public_ip();
        let local = self.transport.local_addr();
        let caller_phone = self
            .calls
            .get(&call)
            .map(|c| c.caller_phone.clone())
            .unwrap_or_default();
        let host = sip_proto::Host::from(public_ip);
        let mut invite = Request::new(Method::Invite, target);
        let via = sip_util::our_via(local, public_ip, peer);
        invite.headers.push(HeaderName::Via, via.to_string());
        invite.headers.push(HeaderName::MaxForwards, "70");
        // The agent's phone shows the worker's number.
        let from_user = if caller_phone.is_empty() {
            "anonymous".to_owned()
        } else {
            caller_phone
        };
        let from = format!("<sip:{from_user}@{host}>;tag={}", random_token(6));
        invite.headers.push(HeaderName::From, from);
        invite
            .headers
            .push(HeaderName::To, format!("<sip:{agent}@{host}>"));
        invite
            .headers
            .push(HeaderName::CallId, format!("{}@{host}", random_token(10)));
        invite.headers.push(
            HeaderName::CSeq,
            CSeq {
                seq: 1,
                method: Method::Invite,
            }
            .to_string(),
        );
        invite.headers.push(
            HeaderName::Contact,
            sip_util::our_contact(&self.config.service_number, public_ip, local.port(), peer),
        );
        invite.headers.push(HeaderName::Allow, sip_util::ALLOW);
        invite
            .headers
            .push(HeaderName::UserAgent, sip_util::USER_AGENT);
        invite
            .headers
            .push(HeaderName::ContentType, "application/sdp");
        invite.body = offer.to_bytes();
        invite
    }

    fn find_leg(&self, call: CallKey, agent: &str, purpose: LegPurpose) -> Option<u32> {
        let state = self.calls.get(&call)?;
        state
            .legs
            .iter()
            .filter(|(_, leg)| leg.agent == agent && leg.purpose == purpose && !leg.cancelled)
            .map(|(id, _)| *id)
            .max()
    }

    fn cancel_ring(&mut self, acd_call: CallKey, agent: &str, now: Instant) {
        let call = main_call(acd_call);
        let purpose = if is_consult(acd_call) {
            LegPurpose::Consult
        } else {
            LegPurpose::Answer
        };
        if let Some(leg) = self.find_leg(call, agent, purpose) {
            self.release_leg(call, leg, now);
        }
        self.notify(
            agent,
            AgentNotice::Ended {
                call_uuid: self
                    .calls
                    .get(&call)
                    .map(|c| c.uuid.clone())
                    .unwrap_or_default(),
                reason: "ring cancelled".into(),
            },
        );
    }

    /// Ends a leg whatever its state: CANCEL while ringing, BYE once answered.
    pub(super) fn release_leg(&mut self, call: CallKey, leg: u32, now: Instant) {
        let local = self.transport.local_addr();
        let public_ip = self.config.public_ip();
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(agent_leg) = state.legs.get_mut(&leg) else {
            return;
        };
        if agent_leg.cancelled {
            return;
        }
        agent_leg.cancelled = true;
        let peer = agent_leg.peer;
        let request = match &mut agent_leg.dialog {
            Some(dialog) => {
                let via = sip_util::our_via(local, public_ip, peer);
                dialog.create_request(Method::Bye, &via)
            }
            None => build_cancel(&agent_leg.invite),
        };
        let slot = agent_leg.slot;
        let was_media_owner =
            state.talking == Some(leg) || state.consulting == Some(leg) || !agent_leg.connected;
        if state.talking == Some(leg) {
            state.talking = None;
        }
        if state.consulting == Some(leg) {
            state.consulting = None;
        }
        // A newer leg may already own the slot (a ring that replaced a cancelled one).
        let slot_taken_by_newer = state
            .legs
            .iter()
            .any(|(id, other)| *id > leg && other.slot == slot && !other.cancelled);
        if was_media_owner && !slot_taken_by_newer {
            state.media.send(MediaCommand::RemoveLeg { slot });
        }
        let _ = self
            .layer
            .send_request(request, peer, peer.is_reliable(), now);
    }

    pub(super) fn agent_invite_response(
        &mut self,
        call: CallKey,
        leg: u32,
        response: Response,
        now: Instant,
    ) {
        let status = response.status.as_u16();
        if status < 200 {
            return;
        }
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(agent_leg) = state.legs.get_mut(&leg) else {
            return;
        };
        let agent = agent_leg.agent.clone();
        let acd_call = match agent_leg.purpose {
            LegPurpose::Answer => call,
            LegPurpose::Consult => consult_key(call),
        };
        if status >= 300 {
            let cancelled = agent_leg.cancelled;
            state.legs.remove(&leg);
            if !cancelled {
                tracing::info!(call, agent, status, "agent did not take the call");
                self.acd.ring_failed(acd_call, &agent, now);
            }
            return;
        }
        // 2xx: the dialog exists, so it must be ACKed whatever we do with it next.
        let local = self.transport.local_addr();
        let public_ip = self.config.public_ip();
        let peer = agent_leg.peer;
        let Ok(mut dialog) = Dialog::from_uac(&agent_leg.invite, &response) else {
            return;
        };
        let via = sip_util::our_via(local, public_ip, peer);
        let ack = dialog.create_ack(1, &via);
        dialog.local_seq = Some(1);
        self.layer.send_stateless(peer, ack.clone());
        agent_leg.ack = Some(ack);
        agent_leg.dialog = Some(dialog);
        let negotiated = SessionDescription::parse(&response.body)
            .map_err(|e| e.to_string())
            .and_then(|answer| read_answer(&agent_leg.offer, &answer).map_err(|e| e.to_string()));
        let late = agent_leg.cancelled;
        if late {
            // Answered after we cancelled: hang up that phone, the call is elsewhere.
            agent_leg.cancelled = false;
            self.release_leg(call, leg, now);
            return;
        }
        let negotiated = match negotiated {
            Ok(negotiated) => negotiated,
            Err(error) => {
                tracing::warn!(call, agent, %error, "agent answered with unusable SDP");
                self.release_leg(call, leg, now);
                self.acd.ring_failed(acd_call, &agent, now);
                return;
            }
        };
        let Some(codec) =
            hotline_media::g711::G711::from_payload_type(negotiated.codec.static_payload_type())
        else {
            return;
        };
        let slot = agent_leg.slot;
        let webrtc = match &mut agent_leg.browser {
            None => None,
            Some(browser) => {
                let answer = SessionDescription::parse(&response.body);
                match answer.map_err(|e| e.to_string()).and_then(|answer| {
                    browser
                        .answered(&answer, negotiated.codec)
                        .map_err(|e| e.to_string())
                }) {
                    Ok(remote) => Some(remote),
                    Err(error) => {
                        tracing::warn!(call, agent, %error, "browser answered without usable WebRTC parameters");
                        self.release_leg(call, leg, now);
                        self.acd.ring_failed(acd_call, &agent, now);
                        return;
                    }
                }
            }
        };
        state.media.send(MediaCommand::SetMedia {
            slot,
            media: LegMedia {
                remote: SocketAddr::new(negotiated.remote_address, negotiated.remote_port),
                codec,
                telephone_event: negotiated.telephone_event_payload_type,
            },
            webrtc,
        });
        if let Err(error) = self.acd.answered(acd_call, &agent, now) {
            // Never two agents on one call: this one lost the race.
            tracing::info!(call, agent, %error, "late answer hung up");
            self.release_leg(call, leg, now);
        }
        self.drain_acd(now);
    }

    pub(super) fn agent_invite_failed(&mut self, call: CallKey, leg: u32, now: Instant) {
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(agent_leg) = state.legs.remove(&leg) else {
            return;
        };
        if agent_leg.dialog.is_none() && !agent_leg.cancelled {
            let acd_call = match agent_leg.purpose {
                LegPurpose::Answer => call,
                LegPurpose::Consult => consult_key(call),
            };
            self.acd.ring_failed(acd_call, &agent_leg.agent, now);
        }
    }

    /// The ACD gave the call to `agent`, whose leg has answered.
    fn connect(&mut self, acd_call: CallKey, agent: &str, now: Instant) {
        let call = main_call(acd_call);
        let purpose = if is_consult(acd_call) {
            LegPurpose::Consult
        } else {
            LegPurpose::Answer
        };
        let Some(leg) = self.find_leg(call, agent, purpose) else {
            return;
        };
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(agent_leg) = state.legs.get_mut(&leg) else {
            return;
        };
        agent_leg.connected = true;
        let slot = agent_leg.slot;
        match purpose {
            LegPurpose::Answer => {
                state.talking = Some(leg);
                state.phase = CallPhase::Talking;
                state.answered = true;
                state
                    .media
                    .send(MediaCommand::Bridge { a: CALLER, b: slot });
            }
            LegPurpose::Consult => {
                state.consulting = Some(leg);
                if let Some(talking) = state.talking.and_then(|t| state.legs.get(&t)) {
                    state.media.send(MediaCommand::Bridge {
                        a: talking.slot,
                        b: slot,
                    });
                }
            }
        }
        let uuid = state.uuid.clone();
        if purpose == LegPurpose::Answer {
            let agent_name = agent.to_owned();
            self.call_event(call, CallEventKind::Answered, |event| {
                event.agent = agent_name
            });
        }
        self.notify(agent, AgentNotice::Connected { call_uuid: uuid });
        let _ = now;
    }

    /// An agent's BYE. The agent who talks with the caller ends the call; a consulted
    /// lawyer hanging up returns the agent to the caller.
    pub(super) fn agent_hung_up(&mut self, call: CallKey, leg: u32, now: Instant) {
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(agent_leg) = state.legs.get_mut(&leg) else {
            return;
        };
        agent_leg.cancelled = true; // nothing more to send on this leg
        let agent = agent_leg.agent.clone();
        if state.talking == Some(leg) {
            self.end_call(call, "agent hung up", now);
        } else if state.consulting == Some(leg) {
            state.consulting = None;
            if let Some(talking) = state.talking.and_then(|t| state.legs.get(&t)) {
                state.media.send(MediaCommand::Bridge {
                    a: CALLER,
                    b: talking.slot,
                });
            }
            state
                .media
                .send(MediaCommand::RemoveLeg { slot: CONSULT_SLOT });
            self.acd.call_ended(&agent, now);
        }
        self.drain_acd(now);
    }

    fn announce_position(&mut self, acd_call: CallKey, position: usize) {
        if is_consult(acd_call) {
            return;
        }
        let Some(state) = self.calls.get(&acd_call) else {
            return;
        };
        if state.phase != CallPhase::Queued {
            return;
        }
        let prompts = self.prompts.position(position);
        state.media.send(MediaCommand::Play {
            prompts,
            then_music: true,
        });
    }

    /// REFER from the agent's softphone: a blind transfer to the queue named by the
    /// Refer-To user ("lawyers", "hardship", "agents").
    pub(super) fn handle_refer(
        &mut self,
        key: sip_proto::transaction::TransactionKey,
        request: &Request,
        call: CallKey,
        leg: LegRef,
        now: Instant,
    ) {
        let target_queue = request
            .headers
            .get(&HeaderName::ReferTo)
            .and_then(|value| NameAddr::parse(value, "Refer-To").ok())
            .and_then(|address| address.uri.as_sip().and_then(|sip| sip.user.clone()));
        let LegRef::Agent(leg) = leg else {
            let response = sip_util::respond_with_warning(request, 403, "callers cannot transfer");
            let _ = self.layer.send_response(&key, response, now);
            return;
        };
        let queue = match target_queue.as_deref() {
            Some(queue) if crate::config::QUEUES.contains(&queue) => queue.to_owned(),
            _ => {
                let response = sip_util::respond_with_warning(
                    request,
                    403,
                    "Refer-To must name a queue: lawyers, hardship or agents",
                );
                let _ = self.layer.send_response(&key, response, now);
                return;
            }
        };
        let agent = self
            .calls
            .get(&call)
            .and_then(|state| state.legs.get(&leg))
            .map(|leg| leg.agent.clone());
        let Some(agent) = agent else {
            return;
        };
        let _ = self
            .layer
            .send_response(&key, sip_util::respond(request, 202, None), now);
        // RFC 3515: report the outcome with a NOTIFY carrying a sipfrag; the transfer
        // is ours to do, so it "succeeds" as soon as the caller is queued.
        self.send_refer_notify(call, leg, now);
        if let Err(error) = self.blind_transfer(call, &agent, &queue, now) {
            tracing::warn!(call, agent, %error, "REFER could not transfer");
        }
    }

    fn send_refer_notify(&mut self, call: CallKey, leg: u32, now: Instant) {
        let local = self.transport.local_addr();
        let public_ip = self.config.public_ip();
        let Some(agent_leg) = self.calls.get_mut(&call).and_then(|s| s.legs.get_mut(&leg)) else {
            return;
        };
        let peer = agent_leg.peer;
        let Some(dialog) = &mut agent_leg.dialog else {
            return;
        };
        let via = sip_util::our_via(local, public_ip, peer);
        let mut notify = dialog.create_request(Method::Notify, &via);
        notify.headers.push(HeaderName::Event, "refer");
        notify.headers.push(
            HeaderName::SubscriptionState,
            "terminated;reason=noresource",
        );
        notify
            .headers
            .push(HeaderName::ContentType, "message/sipfrag;version=2.0");
        notify.body = b"SIP/2.0 200 OK\r\n".to_vec();
        let _ = self
            .layer
            .send_request(notify, peer, peer.is_reliable(), now);
    }
}

/// The codecs offered to an agent's phone: the caller's first.
fn agent_codec_preference(caller: AudioCodec) -> Vec<AudioCodec> {
    match caller {
        AudioCodec::Pcma => vec![AudioCodec::Pcma, AudioCodec::Pcmu],
        AudioCodec::Pcmu => vec![AudioCodec::Pcmu, AudioCodec::Pcma],
    }
}
