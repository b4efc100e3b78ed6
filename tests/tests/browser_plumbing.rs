//! The browser setup itself, without the gateway: Chromium starts in a network
//! namespace that has only `lo`, its fake microphone plays the test's WAV, WebRTC
//! between two peer connections of one page uses loopback candidates only, a WebAudio
//! analyser hears the tone, and an iptables blackout of the media port is noticed by
//! ICE and recovered from when lifted. And Chromium speaks SIP to the gateway over
//! wss, accepting its self-signed certificate.
//!
//! The page is the test's own, served by the test on loopback: when a softphone test
//! fails, this one says whether the browser plumbing or the softphone is at fault.

use std::time::{Duration, Instant};

use hotline_tests::browser::{
    Browser, Namespace, UdpBlackout, browser_peers_available, run_in_loopback_namespace,
    selected_pair_js, write_fake_mic_wav,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIC_HZ: f64 = 660.0;

/// Two peer connections in one page: `a` sends the microphone, `b` receives it and
/// plays it in `#remote-audio`. Full SDP, no trickle: simple and deterministic.
const LOOPBACK_CALL_PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>loopback call</title>
<p id="status">starting</p><p id="ice">new</p>
<audio id="remote-audio" autoplay></audio>
<script>
const gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') resolve();
  });
});
(async () => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  let remote = null;
  b.ontrack = (event) => {
    remote = event.streams[0];
    document.getElementById('remote-audio').srcObject = remote;
  };
  a.oniceconnectionstatechange = () => {
    document.getElementById('ice').textContent = a.iceConnectionState;
  };
  mic.getTracks().forEach((track) => a.addTrack(track, mic));
  window.hotline = { a, b, remoteStream: () => remote };
  await a.setLocalDescription();
  await gathered(a);
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await gathered(b);
  await a.setRemoteDescription(b.localDescription);
  document.getElementById('status').textContent = 'negotiated';
})().catch((error) => {
  document.getElementById('status').textContent = `failed: ${error}`;
});
</script>
"#;

/// Serves `page` to every GET on 127.0.0.1 until the returned task is dropped.
async fn serve(page: &'static str) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok((url, task))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_plumbing_works_in_a_loopback_namespace() -> anyhow::Result<()> {
    if !browser_peers_available() {
        return Ok(());
    }
    if run_in_loopback_namespace("browser_plumbing_works_in_a_loopback_namespace").await?
        == Namespace::RanInside
    {
        return Ok(());
    }
    let scratch = tempfile::tempdir()?;
    let mic = scratch.path().join("mic.wav");
    write_fake_mic_wav(&mic, MIC_HZ, 10.0)?;
    let (url, server) = serve(LOOPBACK_CALL_PAGE).await?;

    let started = Instant::now();
    let mut browser = Browser::start(&mic).await?;
    eprintln!("Chromium started in {:?}", started.elapsed());
    browser.goto(&url).await?;
    browser
        .wait_text("#status", "negotiated", Duration::from_secs(10))
        .await?;
    browser
        .wait_text_matching("#ice", "^(connected|completed)$", Duration::from_secs(10))
        .await?;
    eprintln!("ICE connected {:?} after start", started.elapsed());

    // Only loopback candidates: the namespace has nothing else.
    let candidates = browser
        .evaluate(
            "[window.hotline.a.localDescription.sdp, window.hotline.b.localDescription.sdp]
               .join('\\n').split(/\\r?\\n/).filter((l) => l.startsWith('a=candidate'))",
        )
        .await?;
    let candidates: Vec<String> = serde_json::from_value(candidates)?;
    assert!(!candidates.is_empty(), "ICE gathered candidates");
    for candidate in &candidates {
        assert!(
            candidate.contains(" 127.0.0.1 ") || candidate.contains(" ::1 "),
            "a candidate that is not loopback: {candidate}"
        );
    }

    // The fake microphone's tone crosses WebRTC and reaches WebAudio.
    let heard = browser
        .dominant_frequency(Duration::from_millis(1500))
        .await?;
    eprintln!("heard before the blackout: {heard:?}");
    assert!(heard.is_tone(MIC_HZ, 15.0), "{heard:?}");

    // Blackout: ICE notices within seconds (consent checks stop being answered).
    let pair = browser
        .evaluate(&selected_pair_js("window.hotline.a"))
        .await?;
    let port = pair["remote"].as_u64().expect("a selected pair") as u16;
    let blackout = UdpBlackout::start(port).await?;
    let dark = Instant::now();
    browser
        .wait_text("#ice", "disconnected", Duration::from_secs(20))
        .await?;
    eprintln!("ICE disconnected {:?} into the blackout", dark.elapsed());
    assert!(
        blackout.dropped_packets().await? > 0,
        "iptables dropped media"
    );
    let silent = browser
        .dominant_frequency(Duration::from_millis(1000))
        .await?;
    eprintln!("heard during the blackout: {silent:?}");
    assert!(!silent.is_tone(MIC_HZ, 15.0), "{silent:?}");

    // Lifted: the same pair works again, the tone comes back.
    blackout.lift().await?;
    let lifted = Instant::now();
    browser
        .wait_text_matching("#ice", "^(connected|completed)$", Duration::from_secs(20))
        .await?;
    eprintln!("ICE connected {:?} after the blackout", lifted.elapsed());
    let heard = browser
        .dominant_frequency(Duration::from_millis(1500))
        .await?;
    assert!(heard.is_tone(MIC_HZ, 15.0), "{heard:?}");

    let picture = scratch.path().join("page.png");
    browser.screenshot(&picture).await?;
    assert!(std::fs::metadata(&picture)?.len() > 0);
    browser.close().await?;
    server.abort();
    Ok(())
}

/// A REGISTER without credentials sent from the page over a WebSocket to `url` with
/// the `sip` subprotocol; the answer's status line.
fn register_over_websocket_js(url: &str) -> String {
    let register = "REGISTER sip:127.0.0.1 SIP/2.0\\r\\n\
        Via: SIP/2.0/WSS plumbing.invalid;branch=z9hG4bKplumbing1\\r\\n\
        Max-Forwards: 70\\r\\n\
        From: <sip:agent01@127.0.0.1>;tag=plumbing\\r\\n\
        To: <sip:agent01@127.0.0.1>\\r\\n\
        Call-ID: plumbing-register\\r\\n\
        CSeq: 1 REGISTER\\r\\n\
        Contact: <sip:agent01@plumbing.invalid;transport=ws>\\r\\n\
        Content-Length: 0\\r\\n\\r\\n";
    format!(
        "new Promise((resolve, reject) => {{
           const socket = new WebSocket('{url}', 'sip');
           socket.onopen = () => socket.send('{register}');
           socket.onmessage = (event) => {{ resolve(event.data.split('\\r\\n')[0]); socket.close(); }};
           socket.onerror = () => reject(new Error('the WebSocket failed'));
           setTimeout(() => reject(new Error('no answer within 8 s')), 8000);
         }})"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_talks_sip_to_the_gateway_over_wss_with_its_self_signed_certificate()
-> anyhow::Result<()> {
    if !browser_peers_available() {
        return Ok(());
    }
    if run_in_loopback_namespace(
        "chromium_talks_sip_to_the_gateway_over_wss_with_its_self_signed_certificate",
    )
    .await?
        == Namespace::RanInside
    {
        return Ok(());
    }
    let world = hotline_tests::gateway::GatewayWorld::start(|config| {
        config.wss_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    let mic = world.dir.path().join("mic.wav");
    write_fake_mic_wav(&mic, MIC_HZ, 1.0)?;
    let (url, server) = serve("<!doctype html><title>blank</title>").await?;
    let mut browser = Browser::start(&mic).await?;
    browser.goto(&url).await?;
    let wss = world.wss.expect("wss is on");
    let status = browser
        .evaluate(&register_over_websocket_js(&format!("wss://{wss}/")))
        .await?;
    assert_eq!(
        status, "SIP/2.0 401 Unauthorized",
        "the registrar challenges"
    );
    browser.close().await?;
    server.abort();
    world.stop().await;
    Ok(())
}
