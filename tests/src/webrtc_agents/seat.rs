//! One agent's seat as the softphone page runs it: sign in over HTTP, register its SIP
//! side over a WebSocket with `+sip.ice` (so the gateway offers WebRTC), go Ready, and
//! answer every call with a WebRTC answer whose media is echoed back. The trunk side
//! hangs up; the seat answers the BYE.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use hotline_webrtc::{
    DtlsIdentity, DtlsSetup, Role, WebRtcTransport, add_local_parameters, remote_parameters,
};
use sip_proto::digest::{ClientSecret, answer_challenge, pick_challenge};
use sip_proto::sdp::{AudioCodec, AudioConfig, SessionDescription, create_offer};
use sip_proto::{HeaderName, Message, Method, Request, Response, StatusCode, parse_message};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::media::{CallCounters, CallMedia};
use super::{Output, Totals};
use crate::http::WebClient;

/// How long a registration lasts; it is refreshed at half that.
const REGISTER_EXPIRES: u64 = 600;

/// What every seat shares.
pub struct SeatContext {
    /// The gateway's `ws_listen`: the page, its API and SIP over WebSocket.
    pub web: SocketAddr,
    pub password: String,
    pub identity: DtlsIdentity,
    pub totals: Arc<Totals>,
    pub output: Output,
}

type Socket = WebSocketStream<TcpStream>;

struct Seat {
    user: String,
    /// The made-up host of our Contact, as a browser's is.
    contact_host: String,
    context: Arc<SeatContext>,
    web: WebClient,
    socket: Socket,
    register_sequence: u32,
    registered: bool,
    calls: HashMap<String, CallMedia>,
    /// Answers sent so far: the To tag and the SDP session id of the next.
    answers: u64,
}

/// Runs one seat until its WebSocket closes or fails.
pub async fn run(context: Arc<SeatContext>, user: String) -> anyhow::Result<()> {
    let mut web = WebClient::plain(context.web);
    let signed_in = web.sign_in(&user, &context.password).await?;
    if signed_in.status != 200 {
        bail!(
            "{user}: sign-in answered {}: {}",
            signed_in.status,
            signed_in.text()
        );
    }
    let stream = TcpStream::connect(context.web).await?;
    let mut request = format!("ws://{}/ws", context.web).into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse()?);
    let (socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .with_context(|| format!("{user}: WebSocket"))?;
    let contact_host = format!("{user}-{:08x}.invalid", rand::random::<u32>());
    let mut seat = Seat {
        user,
        contact_host,
        context,
        web,
        socket,
        register_sequence: 0,
        registered: false,
        calls: HashMap::new(),
        answers: 0,
    };
    let result = seat.serve().await;
    for (call_id, call) in seat.calls.drain() {
        let counters = call.finish().await;
        seat.context.totals.ended.fetch_add(1, Ordering::Relaxed);
        seat.context
            .output
            .call(&seat.user, &call_id, &counters, "seat stopped");
    }
    if seat.registered {
        seat.context
            .totals
            .registered
            .fetch_sub(1, Ordering::Relaxed);
    }
    result
}

impl Seat {
    async fn serve(&mut self) -> anyhow::Result<()> {
        self.send_register(None).await?;
        let refresh_every = Duration::from_secs(REGISTER_EXPIRES / 2);
        let mut refresh =
            tokio::time::interval_at(tokio::time::Instant::now() + refresh_every, refresh_every);
        loop {
            tokio::select! {
                next = self.socket.next() => {
                    let Some(next) = next else { bail!("{}: the WebSocket closed", self.user) };
                    if let WsMessage::Text(text) = next? {
                        match parse_message(text.as_bytes()) {
                            Ok(Message::Request(request)) => self.on_request(request).await?,
                            Ok(Message::Response(response)) => self.on_response(response).await?,
                            Err(error) => eprintln!("{}: unparsable SIP: {error}", self.user),
                        }
                    }
                }
                _ = refresh.tick() => self.send_register(None).await?,
            }
        }
    }

    async fn send_text(&mut self, text: String) -> anyhow::Result<()> {
        self.socket.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    async fn send_register(&mut self, authorization: Option<String>) -> anyhow::Result<()> {
        self.register_sequence += 1;
        let n = self.register_sequence;
        let user = &self.user;
        let host = &self.contact_host;
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let text = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/WS {host};branch=z9hG4bKreg{n}x{user};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@127.0.0.1>;tag=reg{user}\r\n\
             To: <sip:{user}@127.0.0.1>\r\n\
             Call-ID: register-{host}\r\n\
             CSeq: {n} REGISTER\r\n\
             Contact: <sip:{user}@{host};transport=ws>;+sip.ice;reg-id=1;expires={REGISTER_EXPIRES}\r\n\
             {authorization}Content-Length: 0\r\n\r\n"
        );
        self.send_text(text).await
    }

    async fn on_response(&mut self, response: Response) -> anyhow::Result<()> {
        let is_register = response
            .headers
            .get(&HeaderName::CSeq)
            .is_some_and(|cseq| cseq.ends_with("REGISTER"));
        if !is_register {
            return Ok(());
        }
        match response.status.as_u16() {
            401 => {
                let challenges = response.headers.digest_challenges(false);
                let chosen = pick_challenge(&challenges).context("no usable challenge")?;
                let cnonce = format!("{:016x}", rand::random::<u64>());
                let credentials = answer_challenge(
                    chosen,
                    ClientSecret {
                        username: &self.user,
                        password: &self.context.password,
                    },
                    &Method::Register,
                    "sip:127.0.0.1",
                    &cnonce,
                    1,
                )?;
                self.send_register(Some(credentials.to_string())).await
            }
            200 if !self.registered => {
                self.registered = true;
                let ready = self
                    .web
                    .post("/api/agent/ready", &serde_json::json!({}))
                    .await?;
                if ready.status != 200 {
                    bail!(
                        "{}: Ready answered {}: {}",
                        self.user,
                        ready.status,
                        ready.text()
                    );
                }
                self.context
                    .totals
                    .registered
                    .fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            200 => Ok(()),
            status => bail!("{}: REGISTER answered {status}", self.user),
        }
    }

    async fn on_request(&mut self, request: Request) -> anyhow::Result<()> {
        let call_id = request
            .headers
            .get(&HeaderName::CallId)
            .unwrap_or_default()
            .to_owned();
        match request.method {
            Method::Invite if self.calls.contains_key(&call_id) => {
                // A re-INVITE (session refresh): the gateway's side never needs one
                // here; refuse it rather than pretend.
                self.respond(&request, 488, None).await
            }
            Method::Invite => match self.answer(&request, &call_id).await {
                Ok(body) => self.respond(&request, 200, Some(body)).await,
                Err(error) => {
                    eprintln!("{}: cannot answer {call_id}: {error:#}", self.user);
                    self.respond(&request, 488, None).await
                }
            },
            Method::Ack => Ok(()),
            Method::Bye | Method::Cancel => {
                self.respond(&request, 200, None).await?;
                if let Some(call) = self.calls.remove(&call_id) {
                    let counters = call.finish().await;
                    self.ended(&call_id, &counters);
                }
                Ok(())
            }
            _ => self.respond(&request, 200, None).await,
        }
    }

    fn ended(&self, call_id: &str, counters: &CallCounters) {
        let totals = &self.context.totals;
        totals.ended.fetch_add(1, Ordering::Relaxed);
        totals.active.fetch_sub(1, Ordering::Relaxed);
        totals
            .expected
            .fetch_add(counters.expected(), Ordering::Relaxed);
        self.context
            .output
            .call(&self.user, call_id, counters, "bye");
    }

    /// Starts the call's media and returns our SDP answer: PCMU and telephone-event,
    /// DTLS-SRTP with us as the DTLS client (a=setup:active, as Chromium answers), one
    /// host candidate on the call's own socket.
    async fn answer(&mut self, request: &Request, call_id: &str) -> anyhow::Result<String> {
        let offer = SessionDescription::parse(&request.body)?;
        let mut remote = remote_parameters(&offer)?;
        // The gateway offers actpass; answering active makes it the DTLS server.
        remote.setup = DtlsSetup::Passive;
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let local_addr = socket.local_addr()?;
        let transport =
            WebRtcTransport::new(&self.context.identity, Role::IceControlling, Instant::now());
        let local = transport.local_parameters(DtlsSetup::Active);
        self.answers += 1;
        let mut audio = AudioConfig::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_addr.port(),
            self.answers,
        );
        audio.codecs = vec![AudioCodec::Pcmu];
        let mut answer = create_offer(&audio);
        add_local_parameters(&mut answer, &local, local_addr);
        let media = CallMedia::start(socket, transport, remote, self.context.totals.clone())?;
        self.calls.insert(call_id.to_owned(), media);
        let totals = &self.context.totals;
        totals.answered.fetch_add(1, Ordering::Relaxed);
        totals.active.fetch_add(1, Ordering::Relaxed);
        Ok(answer.to_string())
    }

    async fn respond(
        &mut self,
        request: &Request,
        code: u16,
        sdp: Option<String>,
    ) -> anyhow::Result<()> {
        let tag = format!("{}t{}", self.user, self.answers);
        let status = StatusCode::new(code).context("a status code")?;
        let mut response = Response::for_request(request, status, Some(&tag));
        if request.method == Method::Invite && code == 200 {
            let contact = format!("<sip:{}@{};transport=ws>", self.user, self.contact_host);
            response.headers.push(HeaderName::Contact, contact);
        }
        if let Some(sdp) = sdp {
            response
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            response.body = sdp.into_bytes();
        }
        let text = String::from_utf8(response.to_bytes()).context("SIP is text")?;
        self.send_text(text).await
    }
}
