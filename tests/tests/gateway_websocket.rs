//! SIP over WebSocket (RFC 7118), as a browser softphone speaks it: the handshake,
//! digest registration over `ws`, and a trunk call (SIPp) rung down the same
//! WebSocket to the agent, answered, with RTP flowing, hung up; `wss` with the
//! gateway's self-signed certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hotline_api::gateway::v1::LoginRequest;
use hotline_tests::gateway::{
    GatewayWorld, SIP_PASSWORD, peer_available, run_sipp, sipp_caller_args, wait_registered,
    write_ulaw_tone,
};
use sip_proto::digest::{ClientSecret, answer_challenge, pick_challenge};
use sip_proto::{Message, Method, Request, Response, parse_message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A browser-like SIP user agent on one WebSocket.
struct WsPhone<S> {
    socket: WebSocketStream<S>,
    sequence: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsPhone<S> {
    async fn connect(stream: S, url: &str) -> anyhow::Result<WsPhone<S>> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "sip".parse()?);
        let (socket, response) = tokio_tungstenite::client_async(request, stream).await?;
        assert_eq!(
            response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.to_str().unwrap_or("")),
            Some("sip"),
            "the gateway agrees on the sip subprotocol"
        );
        Ok(WsPhone {
            socket,
            sequence: 0,
        })
    }

    async fn send(&mut self, text: String) -> anyhow::Result<()> {
        self.socket.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    /// The next SIP message, within `limit`.
    async fn receive(&mut self, limit: Duration) -> anyhow::Result<Message> {
        loop {
            let next = tokio::time::timeout(limit, self.socket.next())
                .await
                .map_err(|_| anyhow::anyhow!("no SIP message within {limit:?}"))?
                .ok_or_else(|| anyhow::anyhow!("the WebSocket closed"))??;
            if let WsMessage::Text(text) = next {
                return Ok(parse_message(text.as_bytes())?);
            }
        }
    }

    async fn receive_request(
        &mut self,
        method: Method,
        limit: Duration,
    ) -> anyhow::Result<Request> {
        loop {
            if let Message::Request(request) = self.receive(limit).await?
                && request.method == method
            {
                return Ok(request);
            }
        }
    }

    async fn receive_response(&mut self, limit: Duration) -> anyhow::Result<Response> {
        loop {
            if let Message::Response(response) = self.receive(limit).await? {
                return Ok(response);
            }
        }
    }

    fn register_text(&mut self, user: &str, authorization: Option<String>) -> String {
        self.sequence += 1;
        let n = self.sequence;
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@127.0.0.1>;tag=wsphone\r\n\
             To: <sip:{user}@127.0.0.1>\r\n\
             Call-ID: ws-register-{user}\r\n\
             CSeq: {n} REGISTER\r\n\
             Contact: <sip:{user}@df7jal23ls0d.invalid;transport=ws>;expires=600\r\n\
             {authorization}Content-Length: 0\r\n\r\n"
        )
    }

    /// Registers with digest auth: 401, then 200.
    async fn register(&mut self, user: &str) -> anyhow::Result<()> {
        let first = self.register_text(user, None);
        self.send(first).await?;
        let challenge = self.receive_response(Duration::from_secs(5)).await?;
        assert_eq!(challenge.status.as_u16(), 401);
        let challenges = challenge.headers.digest_challenges(false);
        let chosen =
            pick_challenge(&challenges).ok_or_else(|| anyhow::anyhow!("no usable challenge"))?;
        let credentials = answer_challenge(
            chosen,
            ClientSecret {
                username: user,
                password: SIP_PASSWORD,
            },
            &Method::Register,
            "sip:127.0.0.1",
            "0a4f113b",
            1,
        )?;
        let second = self.register_text(user, Some(credentials.to_string()));
        self.send(second).await?;
        let accepted = self.receive_response(Duration::from_secs(5)).await?;
        assert_eq!(accepted.status.as_u16(), 200, "{accepted:?}");
        Ok(())
    }
}

fn response_text(request: &Request, code: u16, reason: &str, to_tag: &str, body: &str) -> String {
    let mut response = Response::for_request(
        request,
        sip_proto::StatusCode::new(code).expect("a status code"),
        Some(to_tag),
    );
    response.reason = reason.to_owned();
    if !body.is_empty() {
        response.headers.push(
            sip_proto::HeaderName::Contact,
            "<sip:agent01@df7jal23ls0d.invalid;transport=ws>",
        );
        response
            .headers
            .push(sip_proto::HeaderName::ContentType, "application/sdp");
        response.body = body.as_bytes().to_vec();
    }
    String::from_utf8(response.to_bytes()).expect("SIP is text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_without_the_sip_subprotocol_is_refused() -> anyhow::Result<()> {
    let world = GatewayWorld::start(|config| {
        config.ws_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    let ws = world.ws.expect("ws is on");
    let stream = tokio::net::TcpStream::connect(ws).await?;
    let request = format!("ws://{ws}/").into_client_request()?;
    let refused = tokio_tungstenite::client_async(request, stream).await;
    assert!(
        refused.is_err(),
        "a WebSocket without the sip subprotocol is refused"
    );
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_agent_registers_over_websocket_and_takes_a_trunk_call() -> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    let world = GatewayWorld::start(|config| {
        config.ws_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    world
        .set_sip_password("agent01", sip_gateway::registrar::SipRole::Agent)
        .await?;
    let ws = world.ws.expect("ws is on");
    let stream = tokio::net::TcpStream::connect(ws).await?;
    let mut phone = WsPhone::connect(stream, &format!("ws://{ws}/")).await?;
    phone.register("agent01").await?;
    wait_registered(&world, "agent01").await?;
    let mut api = world.agent_api("agent01").await?;
    api.login(LoginRequest::default()).await?;

    let work = world.dir.path().join("caller");
    std::fs::create_dir_all(&work)?;
    write_ulaw_tone(&work.join("tone.ulaw"), 1000.0, 30.0)?;
    let args = sipp_caller_args(&world, '0', 3000)?;
    let caller = tokio::spawn(async move { run_sipp(&work, &args, Duration::from_secs(60)).await });

    // The call rings down the WebSocket.
    let invite = phone
        .receive_request(Method::Invite, Duration::from_secs(20))
        .await?;
    assert!(
        invite.headers.top_via()?.to_string().contains("SIP/2.0/WS"),
        "the gateway's Via names the WebSocket transport"
    );
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let rtp_port = rtp.local_addr()?.port();
    let sdp = format!(
        "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    );
    phone
        .send(response_text(&invite, 180, "Ringing", "browser1", ""))
        .await?;
    phone
        .send(response_text(&invite, 200, "OK", "browser1", &sdp))
        .await?;
    phone
        .receive_request(Method::Ack, Duration::from_secs(5))
        .await?;

    // The caller's audio reaches the browser's media address.
    let mut buffer = [0u8; 1500];
    let mut packets = 0;
    let mut gateway_media: Option<SocketAddr> = None;
    while packets < 25 {
        let (len, from) = tokio::time::timeout(Duration::from_secs(5), rtp.recv_from(&mut buffer))
            .await
            .map_err(|_| anyhow::anyhow!("no RTP after {packets} packets"))??;
        assert!(hotline_media::rtp::parse_rtp(&buffer[..len]).is_ok());
        gateway_media = Some(from);
        packets += 1;
    }
    assert!(gateway_media.is_some());

    // The caller hangs up: the BYE comes down the WebSocket too.
    let bye = phone
        .receive_request(Method::Bye, Duration::from_secs(20))
        .await?;
    phone
        .send(response_text(&bye, 200, "OK", "browser1", ""))
        .await?;
    let (status, output) = caller.await??;
    assert!(status.success(), "SIPp caller failed:\n{output}");
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_serves_the_self_signed_certificate_and_answers_register() -> anyhow::Result<()> {
    let world = GatewayWorld::start(|config| {
        config.wss_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    let wss = world.wss.expect("wss is on");
    let cert_path = world.dir.path().join("gateway/tls/self-signed-cert.pem");
    use rustls_pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(&cert_path)? {
        roots.add(cert?)?;
    }
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(wss).await?;
    let tls = connector
        .connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp)
        .await?;
    let mut phone = WsPhone::connect(tls, &format!("wss://localhost:{}/", wss.port())).await?;
    let first = phone.register_text("agent01", None);
    phone.send(first).await?;
    let challenge = phone.receive_response(Duration::from_secs(5)).await?;
    assert_eq!(
        challenge.status.as_u16(),
        401,
        "the registrar answers over wss"
    );
    world.stop().await;
    Ok(())
}
