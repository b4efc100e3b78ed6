//! The caller's side: admission, answering with the IVR, the menu, the end of a call.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use sip_proto::dialog::Dialog;
use sip_proto::sdp::{AudioConfig, SessionDescription, create_answer};
use sip_proto::transaction::{SuccessRetransmitter, TimerConfig, TransactionKey};
use sip_proto::{HeaderName, Request};

use super::sip_util::{self, random_token, respond, respond_with_warning};
use super::{Call, CallPhase, CallerLeg, Core, LegRef};
use crate::acd::CallKey;
use crate::call_events::CallEventKind;
use crate::ivr::{IvrAction, IvrSession};
use crate::relay::{self, CALLER, LegMedia, MediaCommand, MediaEvent, MediaSetup};
use crate::transport::Peer;

/// A caller whose RTP stops for this long is gone (the trunk lost the BYE).
const CALLER_SILENCE_TIMEOUT: Duration = Duration::from_secs(120);

impl Core {
    pub(super) fn handle_new_invite(
        &mut self,
        key: TransactionKey,
        invite: Request,
        peer: Peer,
        now: Instant,
    ) {
        let refuse = |core: &mut Core, code: u16, why: &str| {
            let mut response = respond_with_warning(&invite, code, why);
            if code == 503 {
                response.headers.push(
                    HeaderName::RetryAfter,
                    core.config.retry_after_seconds.to_string(),
                );
            }
            let _ = core.layer.send_response(&key, response, now);
        };
        let Some((trunk, trunk_config)) = self.config.trunk_for(peer.address().ip()) else {
            self.stats.refused_not_trunk += 1;
            refuse(self, 403, "calls are accepted from the carrier trunk only");
            return;
        };
        let (trunk_ivr, trunk_queue, trunk_max) = (
            trunk_config.ivr,
            trunk_config.queue.clone(),
            trunk_config.max_calls,
        );
        if sip_util::dialled_user(&invite).as_deref() != Some(self.config.service_number.as_str()) {
            refuse(self, 404, "this gateway answers the hotline number only");
            return;
        }
        if !self.total_bucket.try_take(now) {
            self.stats.refused_for_load += 1;
            refuse(self, 503, "too many new calls per second");
            return;
        }
        if !self.trunk_buckets[trunk].try_take(now) {
            self.total_bucket.give_back();
            self.stats.refused_for_load += 1;
            refuse(self, 503, "too many new calls per second on this trunk");
            return;
        }
        if self.trunk_calls[trunk] >= trunk_max {
            self.stats.refused_for_load += 1;
            refuse(self, 503, "the trunk's call limit is reached");
            return;
        }
        let offer = match SessionDescription::parse(&invite.body) {
            Ok(offer) => offer,
            Err(error) => {
                refuse(self, 488, &format!("SDP offer: {error}"));
                return;
            }
        };
        let socket = match UdpSocket::bind((self.config.rtp_ip(), 0)) {
            Ok(socket) => socket,
            Err(error) => {
                tracing::error!(%error, "no RTP port for a new call");
                refuse(self, 503, "no media port available");
                return;
            }
        };
        let rtp_port = socket.local_addr().map(|a| a.port()).unwrap_or_default();
        let audio = AudioConfig::new(
            self.config.public_ip(),
            rtp_port,
            rand::random::<u32>().into(),
        );
        let (answer, negotiated) = match create_answer(&offer, &audio) {
            Ok(answer) => answer,
            Err(error) => {
                refuse(self, 488, &format!("SDP offer: {error}"));
                return;
            }
        };
        let local_tag = random_token(6);
        let mut response = respond(&invite, 200, Some(&local_tag));
        response.copy_record_route(&invite);
        response.headers.push(
            HeaderName::Contact,
            sip_util::our_contact(
                &self.config.service_number,
                self.config.public_ip(),
                self.transport.local_addr().port(),
                peer,
            ),
        );
        response.headers.push(HeaderName::Allow, sip_util::ALLOW);
        response
            .headers
            .push(HeaderName::ContentType, "application/sdp");
        response.body = answer.to_bytes();
        let dialog = match Dialog::from_uas(&invite, &response) {
            Ok(dialog) => dialog,
            Err(error) => {
                refuse(self, 400, &error.to_string());
                return;
            }
        };
        let answer_sdp = response.body.clone();
        let _ = self.layer.send_response(&key, response.clone(), now);
        let success =
            SuccessRetransmitter::new(response, peer.is_reliable(), TimerConfig::default(), now);

        let call = self.next_call;
        self.next_call += 1;
        self.stats.calls_offered += 1;
        self.trunk_calls[trunk] += 1;
        let uuid = format!("{}-{}", super::now_ms(), random_token(6));
        let recording = self
            .config
            .record
            .then(|| self.recording_path(&uuid))
            .flatten();
        let media = relay::spawn(
            MediaSetup {
                call,
                recording,
                hold_music: self.prompts.hold_music.clone(),
                caller_silence_timeout: CALLER_SILENCE_TIMEOUT,
            },
            self.media_events.clone(),
        );
        let Some(codec) =
            hotline_media::g711::G711::from_payload_type(negotiated.codec.static_payload_type())
        else {
            return;
        };
        media.send(MediaCommand::AddLeg {
            slot: CALLER,
            socket,
            media: Some(LegMedia {
                remote: std::net::SocketAddr::new(
                    negotiated.remote_address,
                    negotiated.remote_port,
                ),
                codec,
                telephone_event: negotiated.telephone_event_payload_type,
            }),
            webrtc: None,
        });
        let call_id = dialog.id.call_id.clone();
        let caller_phone = sip_util::caller_number(&invite);
        self.dialogs
            .insert((call_id.clone(), local_tag.clone()), (call, LegRef::Caller));
        self.calls.insert(
            call,
            Call {
                uuid,
                caller_phone: caller_phone.clone(),
                trunk,
                phase: CallPhase::Ivr,
                caller: CallerLeg {
                    peer,
                    dialog,
                    success: Some(success),
                    answer_sdp,
                    codec: negotiated.codec,
                },
                ivr: None,
                queue: None,
                service: "agent",
                legs: HashMap::new(),
                next_leg: 1,
                talking: None,
                consulting: None,
                media,
                event_seq: 0,
                answered: false,
                index_keys: vec![(call_id, local_tag)],
                invite_keys: Vec::new(),
            },
        );
        self.call_event(call, CallEventKind::Offered, |event| {
            event.caller_phone = caller_phone;
        });
        if trunk_ivr {
            let ivr = IvrSession::start(self.ivr_config.clone(), now);
            if let Some(state) = self.calls.get_mut(&call) {
                state.ivr = Some(ivr);
            }
            self.drain_ivr(call, now);
        } else {
            let hold = vec![self.prompts.please_hold.clone()];
            self.route_to_queue(call, &trunk_queue, "agent", hold, now);
        }
    }

    /// `recordings/YYYYMMDD/<uuid>.wav`, one directory per day so none grows huge.
    fn recording_path(&self, uuid: &str) -> Option<std::path::PathBuf> {
        let root = self.config.recordings_dir.clone()?;
        let day = chrono_day();
        let dir = root.join(day);
        if let Err(error) = std::fs::create_dir_all(&dir) {
            tracing::error!(dir = %dir.display(), %error, "cannot create the recordings directory");
            return None;
        }
        Some(dir.join(format!("{uuid}.wav")))
    }

    pub(super) fn caller_digit(&mut self, call: CallKey, digit: char, now: Instant) {
        if let Some(ivr) = self
            .calls
            .get_mut(&call)
            .and_then(|state| state.ivr.as_mut())
        {
            ivr.digit(digit, now);
        }
        self.drain_ivr(call, now);
    }

    pub(super) fn drain_ivr(&mut self, call: CallKey, now: Instant) {
        loop {
            let Some(action) = self
                .calls
                .get_mut(&call)
                .and_then(|state| state.ivr.as_mut())
                .and_then(IvrSession::poll_action)
            else {
                return;
            };
            match action {
                IvrAction::Play(prompts) => {
                    let prompts: Vec<_> = prompts.iter().map(|p| self.prompts.ivr(*p)).collect();
                    // A Route right behind this Play keeps these prompts and adds
                    // the hold music after them.
                    let next_is_route = self
                        .calls
                        .get_mut(&call)
                        .and_then(|state| state.ivr.as_mut())
                        .and_then(IvrSession::poll_action);
                    match next_is_route {
                        Some(IvrAction::Route { queue, service }) => {
                            if let Some(state) = self.calls.get_mut(&call) {
                                state.ivr = None;
                            }
                            self.route_to_queue(call, &queue, service, prompts, now);
                            return;
                        }
                        other => {
                            if let Some(state) = self.calls.get(&call) {
                                state.media.send(MediaCommand::Play {
                                    prompts,
                                    then_music: false,
                                });
                            }
                            match other {
                                Some(IvrAction::HangUp) => {
                                    self.end_call(call, "no choice in the menu", now);
                                    return;
                                }
                                Some(IvrAction::Play(_)) | Some(IvrAction::Route { .. }) | None => {
                                }
                            }
                        }
                    }
                }
                IvrAction::Route { queue, service } => {
                    if let Some(state) = self.calls.get_mut(&call) {
                        state.ivr = None;
                    }
                    let hold = vec![self.prompts.please_hold.clone()];
                    self.route_to_queue(call, &queue, service, hold, now);
                    return;
                }
                IvrAction::HangUp => {
                    self.end_call(call, "no choice in the menu", now);
                    return;
                }
            }
        }
    }

    /// Queues the call; the caller hears `prompts`, then hold music until an agent
    /// answers.
    pub(super) fn route_to_queue(
        &mut self,
        call: CallKey,
        queue: &str,
        service: &'static str,
        prompts: Vec<hotline_media::prompt::Prompt>,
        now: Instant,
    ) {
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        state.phase = CallPhase::Queued;
        state.queue = Some(queue.to_owned());
        state.service = service;
        state.media.send(MediaCommand::Play {
            prompts,
            then_music: true,
        });
        let queue_name = queue.to_owned();
        self.call_event(call, CallEventKind::Queued, |event| {
            event.queue = queue_name
        });
        if let Err(error) = self.acd.enqueue(call, queue, now) {
            tracing::error!(call, queue, %error, "cannot queue a call");
        }
        self.drain_acd(now);
    }

    pub(super) fn handle_media(&mut self, call: CallKey, event: MediaEvent, now: Instant) {
        match event {
            MediaEvent::Digit(digit) => self.caller_digit(call, digit, now),
            MediaEvent::PromptsFinished => {
                if let Some(ivr) = self
                    .calls
                    .get_mut(&call)
                    .and_then(|state| state.ivr.as_mut())
                {
                    ivr.prompts_finished(now);
                }
                self.drain_ivr(call, now);
            }
            MediaEvent::CallerSilent => self.end_call(call, "no media from the caller", now),
            MediaEvent::Recorded(outcome) => {
                match outcome {
                    Ok(summary) => {
                        let path = summary.path.display().to_string();
                        let sha256 = summary.sha256_hex.clone();
                        self.call_event(call, CallEventKind::RecordingReady, |event| {
                            event.recording_path = path;
                            event.recording_sha256 = sha256;
                        });
                    }
                    Err(error) => tracing::error!(call, %error, "recording failed"),
                }
                self.forget_call(call);
            }
        }
    }

    /// Ends the call on every leg. Idempotent.
    pub(super) fn end_call(&mut self, call: CallKey, reason: &str, now: Instant) {
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        if state.phase == CallPhase::Ended {
            return;
        }
        let was_answered = state.answered;
        state.phase = CallPhase::Ended;
        self.ended_calls += 1;
        state.ivr = None;
        let trunk = state.trunk;
        self.trunk_calls[trunk] = self.trunk_calls[trunk].saturating_sub(1);
        // The caller's leg: BYE unless the caller is the one who hung up.
        if reason != "caller hung up" {
            self.send_bye_to_caller(call, now);
        }
        let legs: Vec<u32> = self.calls[&call].legs.keys().copied().collect();
        for leg in legs {
            self.release_leg(call, leg, now);
        }
        self.acd.caller_hung_up(call, now);
        self.acd
            .caller_hung_up(super::commands::consult_key(call), now);
        let kind = if was_answered {
            CallEventKind::Ended
        } else {
            CallEventKind::Abandoned
        };
        let reason_text = reason.to_owned();
        self.call_event(call, kind, |event| event.end_reason = reason_text);
        let state = &self.calls[&call];
        state.media.send(MediaCommand::Stop);
        if !self.config.record || self.config.recordings_dir.is_none() {
            self.forget_call(call);
        }
        self.drain_acd(now);
    }

    fn send_bye_to_caller(&mut self, call: CallKey, now: Instant) {
        let local = self.transport.local_addr();
        let public_ip = self.config.public_ip();
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        let peer = state.caller.peer;
        let via = sip_util::our_via(local, public_ip, peer);
        let bye = state
            .caller
            .dialog
            .create_request(sip_proto::Method::Bye, &via);
        state.caller.success = None;
        let _ = self.layer.send_request(bye, peer, peer.is_reliable(), now);
    }

    fn forget_call(&mut self, call: CallKey) {
        if let Some(state) = self.calls.remove(&call) {
            if state.phase == CallPhase::Ended {
                self.ended_calls -= 1;
            }
            for key in &state.index_keys {
                self.dialogs.remove(key);
            }
            for key in &state.invite_keys {
                self.invites.remove(key);
            }
        }
    }
}

/// Today's date as `YYYYMMDD` in China Standard Time, where the hotline works.
fn chrono_day() -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    chrono::Utc::now()
        .with_timezone(&china)
        .format("%Y%m%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_day_is_a_plausible_date() {
        let day = super::chrono_day();
        assert_eq!(day.len(), 8);
        assert!(day.starts_with("20"), "{day}");
    }
}
