//! SIP over WebSocket (RFC 7118), as a browser softphone speaks it: the handshake,
//! digest registration over `ws`, and a trunk call (SIPp) rung down the same
//! WebSocket to the agent, answered, with RTP flowing, hung up; `wss` with the
//! gateway's self-signed certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hotline_api::gateway::v1::LoginRequest;
use hotline_tests::gateway::{
    GatewayWorld, peer_available, run_sipp, sipp_caller_args, wait_registered, write_ulaw_tone,
};
use hotline_tests::ws_phone::{WsPhone, response_text};
use sip_proto::Method;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

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
