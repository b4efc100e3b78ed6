//! The browser softphone, driven like a person would: Chromium opens the page the
//! gateway serves (same origin as its SIP WebSocket), signs in, registers over the
//! WebSocket, goes ready, answers trunk calls with WebRTC audio, transfers to the
//! lawyers, and gets its audio back after a network drop.
//!
//! Audio is checked by ear, so to speak: the caller (SIPp) streams 1,000 Hz, the
//! browser's fake microphone plays 660 Hz, the duty lawyer (baresip) 700 Hz. The page
//! must hear 1,000 Hz; the recording must have the browser agent's 660 Hz on the right.
//!
//! Each test runs in a network namespace of its own with only `lo` (see
//! `hotline_tests::browser`), where Chromium's WebRTC can only use loopback.

use std::time::Duration;

use hotline_api::gateway::v1::{
    AgentRequest, AgentStateKind, AgentStatus, LoginRequest, agent_notification,
};
use hotline_api::ticket::v1::ticket_service_client::TicketServiceClient;
use hotline_api::ticket::v1::{Call, CallEventKind};
use hotline_media::tone::dominant_tone;
use hotline_tests::browser::{
    Browser, Namespace, UdpBlackout, browser_peers_available, run_in_loopback_namespace,
    selected_pair_js, write_fake_mic_wav,
};
use hotline_tests::gateway::{
    Baresip, GatewayWorld, SIP_PASSWORD, TransferTones, assert_answered_call_events_once,
    assert_recording_ends_with_the_lawyer, last_seconds, next_notice, peer_available,
    read_wav_channels, run_sipp, sipp_caller_args, sipp_scenarios, wait_registered,
    write_ulaw_tone,
};
use hotline_tests::{BearerToken, connect};
use sip_gateway::registrar::SipRole;

const CALLER_HZ: f64 = 1000.0;
const BROWSER_HZ: f64 = 660.0;
const LAWYER_HZ: f64 = 700.0;
const TONES: [f64; 3] = [CALLER_HZ, BROWSER_HZ, LAWYER_HZ];
const CALLER_PHONE: &str = "13800138000";
const AGENT: &str = "agent01";

type Notices = tonic::Streaming<hotline_api::gateway::v1::AgentNotification>;
type SippRun = tokio::task::JoinHandle<anyhow::Result<(std::process::ExitStatus, String)>>;

/// Skips without the peers, and re-executes the test in its own loopback namespace;
/// true where the test's body runs.
async fn in_namespace(test_name: &str, extra_peers: &[&str]) -> anyhow::Result<bool> {
    if !browser_peers_available() || !extra_peers.iter().all(|p| peer_available(p)) {
        return Ok(false);
    }
    Ok(run_in_loopback_namespace(test_name).await? == Namespace::Inside)
}

/// A gateway serving the page over ws and wss, with `agent01`'s SIP password set,
/// and a Chromium whose microphone plays 660 Hz.
async fn world_and_browser() -> anyhow::Result<(GatewayWorld, Browser)> {
    let world = GatewayWorld::start(|config| {
        config.ws_listen = Some("127.0.0.1:0".parse().expect("an address"));
        config.wss_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    world.set_sip_password(AGENT, SipRole::Agent).await?;
    let mic = world.dir.path().join("browser-mic.wav");
    write_fake_mic_wav(&mic, BROWSER_HZ, 10.0)?;
    let browser = Browser::start(&mic).await?;
    Ok((world, browser))
}

fn page_url(world: &GatewayWorld) -> String {
    format!("http://{}/", world.ws.expect("ws is on"))
}

/// Signs in on the page at `url` and waits for the softphone to register.
async fn sign_in(browser: &mut Browser, url: &str) -> anyhow::Result<()> {
    browser.goto(url).await?;
    browser.fill("#signin-user", AGENT).await?;
    browser.fill("#signin-password", SIP_PASSWORD).await?;
    browser.click("#signin-button").await?;
    browser
        .wait_visible("#seat", Duration::from_secs(10))
        .await?;
    browser
        .wait_text("#sip-status", "registered", Duration::from_secs(20))
        .await?;
    Ok(())
}

/// Signed in, registered and ready: waiting for calls.
async fn ready_at_the_page(world: &GatewayWorld, browser: &mut Browser) -> anyhow::Result<()> {
    sign_in(browser, &page_url(world)).await?;
    wait_registered(world, AGENT).await?;
    browser.click("#ready-button").await?;
    browser
        .wait_text("#agent-state", "ready", Duration::from_secs(10))
        .await?;
    Ok(())
}

async fn watch(world: &GatewayWorld, user: &str) -> anyhow::Result<Notices> {
    let mut api = world.agent_api(user).await?;
    Ok(api.watch_agent(AgentRequest::default()).await?.into_inner())
}

/// A SIPp trunk caller (1,000 Hz, menu key 0) running `scenario` from `tests/sipp`;
/// `talk_ms` matters only to scenarios where the caller hangs up.
fn call_in(world: &GatewayWorld, scenario: &str, talk_ms: u32) -> anyhow::Result<SippRun> {
    let work = world.dir.path().join("caller");
    std::fs::create_dir_all(&work)?;
    write_ulaw_tone(&work.join("tone.ulaw"), CALLER_HZ, 60.0)?;
    let mut args = sipp_caller_args(world, '0', talk_ms)?;
    let at = args.iter().position(|a| a == "-sf").expect("a scenario") + 1;
    args[at] = sipp_scenarios().join(scenario).display().to_string();
    // The browser's caller waits for the page: give the whole call room.
    let timeout = args.iter().position(|a| a == "-timeout").expect("-timeout") + 1;
    args[timeout] = "150s".into();
    Ok(tokio::spawn(async move {
        run_sipp(&work, &args, Duration::from_secs(160)).await
    }))
}

/// The call rings at the page; returns its UUID from the agent's notifications.
async fn rings_at_the_page(browser: &mut Browser, notices: &mut Notices) -> anyhow::Result<String> {
    let ringing = next_notice(notices, Duration::from_secs(30), |k| {
        matches!(k, agent_notification::Kind::Ringing(_))
    })
    .await?;
    let agent_notification::Kind::Ringing(ringing) = ringing else {
        unreachable!()
    };
    browser
        .wait_visible("#incoming", Duration::from_secs(10))
        .await?;
    Ok(ringing.call_uuid)
}

/// Answers at the page and waits until the caller's tone is heard there.
async fn answer_and_hear_the_caller(browser: &mut Browser) -> anyhow::Result<()> {
    browser.click("#answer-button").await?;
    browser
        .wait_text("#call-state", "talking", Duration::from_secs(20))
        .await?;
    assert_page_hears_the_caller(browser).await
}

async fn assert_page_hears_the_caller(browser: &mut Browser) -> anyhow::Result<()> {
    let heard = browser
        .dominant_frequency(Duration::from_millis(1500))
        .await?;
    assert!(
        heard.is_tone(CALLER_HZ, 15.0),
        "the page hears the caller's 1,000 Hz: {heard:?}"
    );
    Ok(())
}

/// The people on the phone talk for a while: the conversation the recording checks
/// look for, not a wait for an event.
async fn talk_for_two_seconds() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

async fn sipp_passed(caller: SippRun) -> anyhow::Result<()> {
    let (status, output) = caller.await??;
    assert!(status.success(), "SIPp caller failed:\n{output}");
    Ok(())
}

async fn recorded_call(world: &GatewayWorld, call_uuid: &str) -> anyhow::Result<Call> {
    world
        .wait_for_call(call_uuid, Duration::from_secs(20), |call| {
            call.state == "ended" && !call.recording_sha256.is_empty()
        })
        .await
}

/// What the gateway's AgentService says about agent01.
async fn agent_status(world: &GatewayWorld) -> anyhow::Result<AgentStatus> {
    let mut api = world.agent_api("supervisor01").await?;
    let request = AgentRequest {
        agent: AGENT.into(),
    };
    Ok(api.get_agent(request).await?.into_inner())
}

fn event_agents(call: &Call, kind: CallEventKind) -> Vec<String> {
    call.events
        .iter()
        .filter(|e| e.kind == kind as i32)
        .map(|e| e.agent.clone())
        .collect()
}

/// What the page shows when its call is over.
async fn page_call_ended(browser: &mut Browser) -> anyhow::Result<()> {
    browser
        .wait_text_matching("#call-state", "^(ended|idle)$", Duration::from_secs(15))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_signs_in_registers_and_goes_ready() -> anyhow::Result<()> {
    if !in_namespace("page_signs_in_registers_and_goes_ready", &[]).await? {
        return Ok(());
    }
    let (world, mut browser) = world_and_browser().await?;

    // A wrong password: an error, no seat, nothing registered.
    browser.goto(&page_url(&world)).await?;
    browser.fill("#signin-user", AGENT).await?;
    browser.fill("#signin-password", "not-the-password").await?;
    browser.click("#signin-button").await?;
    browser
        .wait_visible("#signin-error", Duration::from_secs(10))
        .await?;
    let error = browser.text("#signin-error").await?.unwrap_or_default();
    assert!(!error.is_empty(), "the sign-in error says something");
    assert!(
        !browser.is_visible("#seat").await?,
        "no seat without sign-in"
    );
    assert!(
        !agent_status(&world).await?.registered,
        "nothing registered"
    );

    // The right one, over https and wss with the gateway's self-signed certificate.
    let wss = world.wss.expect("wss is on");
    sign_in(&mut browser, &format!("https://{wss}/")).await?;
    let seat_user = browser.text("#seat-user").await?.unwrap_or_default();
    assert!(seat_user.starts_with(AGENT), "{seat_user}");
    assert_eq!(
        agent_status(&world).await?.state(),
        AgentStateKind::Paused,
        "a seat starts paused after signing in"
    );
    wait_registered(&world, AGENT).await?;

    browser.click("#ready-button").await?;
    browser
        .wait_text("#agent-state", "ready", Duration::from_secs(10))
        .await?;
    let now = agent_status(&world).await?;
    assert_eq!(now.state(), AgentStateKind::Ready, "{now:?}");
    assert!(now.registered, "{now:?}");
    assert!(now.queues.contains(&"agents".to_owned()), "{now:?}");

    // A pause with a reason, and back.
    let reason = browser
        .evaluate("document.querySelector('#pause-reason option:not([value=\"\"])').value")
        .await?;
    let reason = reason.as_str().unwrap_or_default().to_owned();
    browser.select("#pause-reason", &reason).await?;
    browser.click("#pause-button").await?;
    browser
        .wait_text("#agent-state", "paused", Duration::from_secs(10))
        .await?;
    let now = agent_status(&world).await?;
    assert_eq!(now.state(), AgentStateKind::Paused, "{now:?}");
    assert_eq!(now.pause_reason, reason);
    browser.click("#ready-button").await?;
    browser
        .wait_text("#agent-state", "ready", Duration::from_secs(10))
        .await?;

    // Signing out logs the agent out and takes the softphone off the registrar.
    browser.click("#signout-button").await?;
    browser
        .wait_visible("#signin-form", Duration::from_secs(10))
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = agent_status(&world).await?;
        if now.state() == AgentStateKind::LoggedOut && !now.registered {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still logged in or registered after signing out: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_answers_a_trunk_call_both_ways_and_it_is_recorded() -> anyhow::Result<()> {
    if !in_namespace(
        "browser_agent_answers_a_trunk_call_both_ways_and_it_is_recorded",
        &["sipp"],
    )
    .await?
    {
        return Ok(());
    }
    let (world, mut browser) = world_and_browser().await?;
    // A past ticket of the caller's, to show at the ring.
    let channel = connect(world.core_addr).await?;
    let mut tickets =
        TicketServiceClient::with_interceptor(channel, BearerToken::new(&world.tokens[AGENT])?);
    let past = tickets
        .create_ticket(hotline_tests::sample::unpaid_wages_ticket(
            "browser-history-1",
            CALLER_PHONE,
        ))
        .await?
        .into_inner();
    ready_at_the_page(&world, &mut browser).await?;
    let mut notices = watch(&world, AGENT).await?;

    let caller = call_in(&world, "trunk_caller_hung_up_on.xml", 0)?;
    let call_uuid = rings_at_the_page(&mut browser, &mut notices).await?;
    browser
        .wait_text("#agent-state", "ringing", Duration::from_secs(5))
        .await?;
    let number = browser.text("#caller-number").await?.unwrap_or_default();
    assert!(number.contains(CALLER_PHONE), "caller number {number:?}");
    assert_eq!(
        browser.count("#caller-history li.history-ticket").await?,
        1,
        "one past ticket"
    );
    let history = browser.text("#caller-history").await?.unwrap_or_default();
    assert!(
        history.contains(&past.number),
        "the history names ticket {}: {history:?}",
        past.number
    );

    answer_and_hear_the_caller(&mut browser).await?;
    browser
        .wait_text("#agent-state", "talking", Duration::from_secs(5))
        .await?;
    talk_for_two_seconds().await;
    browser.click("#hangup-button").await?;
    page_call_ended(&mut browser).await?;
    sipp_passed(caller).await?;

    let call = recorded_call(&world, &call_uuid).await?;
    assert_eq!(call.caller_phone, CALLER_PHONE);
    assert_eq!(call.answered_by, AGENT);
    assert_answered_call_events_once(&call);
    // The browser's microphone reached the caller's side of the bridge: the agent's
    // channel (right) of the recording is the fake microphone's 660 Hz.
    let (rate, channels) = read_wav_channels(std::path::Path::new(&call.recording_path))?;
    assert_eq!((rate, channels.len()), (8000, 2), "8 kHz stereo");
    assert_eq!(
        dominant_tone(last_seconds(&channels[0]), &TONES, 8000),
        Some(CALLER_HZ),
        "the caller is on the left"
    );
    assert_eq!(
        dominant_tone(last_seconds(&channels[1]), &TONES, 8000),
        Some(BROWSER_HZ),
        "the browser agent is on the right"
    );
    browser.close().await?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_transfer_from_the_page_lands_on_a_lawyer_softphone() -> anyhow::Result<()> {
    if !in_namespace(
        "blind_transfer_from_the_page_lands_on_a_lawyer_softphone",
        &["sipp", "baresip"],
    )
    .await?
    {
        return Ok(());
    }
    let (world, mut browser) = world_and_browser().await?;
    world.set_sip_password("lawyer01", SipRole::Lawyer).await?;
    let lawyer = Baresip::start(world.dir.path(), "lawyer01", world.sip, LAWYER_HZ as u32).await?;
    if let Err(error) = wait_registered(&world, "lawyer01").await {
        panic!("{error}\n{}", lawyer.logs());
    }
    world
        .agent_api("lawyer01")
        .await?
        .login(LoginRequest::default())
        .await?;
    let mut lawyer_notices = watch(&world, "lawyer01").await?;
    ready_at_the_page(&world, &mut browser).await?;
    let mut notices = watch(&world, AGENT).await?;

    // The caller talks for 16 s after the menu, then hangs up: long enough for the
    // page to answer, talk, transfer, and the lawyer to talk.
    let caller = call_in(&world, "trunk_caller.xml", 16_000)?;
    let call_uuid = rings_at_the_page(&mut browser, &mut notices).await?;
    answer_and_hear_the_caller(&mut browser).await?;
    talk_for_two_seconds().await;

    browser.click("#transfer-lawyers-button").await?;
    next_notice(&mut lawyer_notices, Duration::from_secs(20), |k| {
        matches!(k, agent_notification::Kind::Connected(_))
    })
    .await?;
    page_call_ended(&mut browser).await?;
    sipp_passed(caller).await?;

    let call = recorded_call(&world, &call_uuid).await?;
    assert_eq!(event_agents(&call, CallEventKind::Transferred), [AGENT]);
    assert_eq!(
        event_agents(&call, CallEventKind::Answered),
        [AGENT, "lawyer01"]
    );
    let (_, channels) = read_wav_channels(std::path::Path::new(&call.recording_path))?;
    assert_recording_ends_with_the_lawyer(
        &channels,
        &TransferTones {
            caller: CALLER_HZ,
            agent: BROWSER_HZ,
            lawyer: LAWYER_HZ,
        },
    );
    drop(lawyer);
    browser.close().await?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_gets_the_call_back_after_its_network_drops() -> anyhow::Result<()> {
    if !in_namespace(
        "browser_gets_the_call_back_after_its_network_drops",
        &["sipp"],
    )
    .await?
    {
        return Ok(());
    }
    let (world, mut browser) = world_and_browser().await?;
    ready_at_the_page(&world, &mut browser).await?;
    let mut notices = watch(&world, AGENT).await?;
    let caller = call_in(&world, "trunk_caller_hung_up_on.xml", 0)?;
    rings_at_the_page(&mut browser, &mut notices).await?;
    answer_and_hear_the_caller(&mut browser).await?;

    let connection = "window.hotline.session.connection";
    let ufrags = format!(
        "[{connection}.localDescription.sdp, {connection}.remoteDescription.sdp]
           .map((sdp) => (sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1])"
    );
    let before = browser.evaluate(&ufrags).await?;
    let pair = browser.evaluate(&selected_pair_js(connection)).await?;
    assert_eq!(pair["remoteAddress"], "127.0.0.1", "{pair}");
    let gateway_port = pair["remote"].as_u64().expect("a selected pair") as u16;

    // Media to and from the gateway's WebRTC port stops; the WebSocket (TCP) does not.
    // Chromium calls ICE disconnected after about 5 s without answers to its checks.
    let blackout = UdpBlackout::start(gateway_port).await?;
    browser
        .wait_text("#call-state", "reconnecting", Duration::from_secs(20))
        .await?;
    // Stay dark a little longer: the page's ICE restart happens while the network is
    // still down, and must still succeed once it is back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        blackout.dropped_packets().await? > 0,
        "iptables dropped media"
    );
    blackout.lift().await?;

    browser
        .wait_text("#call-state", "talking", Duration::from_secs(30))
        .await?;
    assert_page_hears_the_caller(&mut browser).await?;
    // An ICE restart: the page's re-INVITE offered new credentials and the gateway
    // answered with new ones of its own (RFC 8839 §4.4.1.1.1).
    let after = browser.evaluate(&ufrags).await?;
    assert_ne!(
        before[0], after[0],
        "the page restarted ICE: {before} {after}"
    );
    assert_ne!(
        before[1], after[1],
        "the gateway restarted ICE: {before} {after}"
    );
    assert!(
        !caller.is_finished(),
        "the SIPp caller is still on the line"
    );

    browser.click("#hangup-button").await?;
    page_call_ended(&mut browser).await?;
    sipp_passed(caller).await?;
    browser.close().await?;
    world.stop().await;
    Ok(())
}

/// A caller whose media the test handles itself: it sends 1,000 Hz µ-law from
/// `socket` once the gateway's first packet says where to, and counts the digits that
/// arrive as RFC 4733 telephone-events (payload type 101, as offered).
async fn caller_media(
    socket: tokio::net::UdpSocket,
    digits: tokio::sync::mpsc::UnboundedSender<char>,
) -> anyhow::Result<()> {
    use hotline_media::rtp::{RtpHeader, parse_rtp, write_rtp};
    let tone = hotline_media::tone::sine(CALLER_HZ, 0.5, 160 * 50, 8000);
    let mut tone_ulaw = Vec::new();
    hotline_media::g711::G711::Pcmu.encode(&tone, &mut tone_ulaw);
    let mut detector = hotline_media::dtmf::DtmfDetector::default();
    let mut gateway = None;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut header = RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: 1,
        timestamp: 0,
        ssrc: 0x1235_1000,
    };
    let (mut buffer, mut packet) = ([0u8; 1500], Vec::new());
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                let (len, from) = received?;
                gateway.get_or_insert(from);
                if let Ok(rtp) = parse_rtp(&buffer[..len])
                    && rtp.header.payload_type == 101
                    && let Some(digit) = detector.on_packet(rtp.header.timestamp, rtp.payload)
                {
                    let _ = digits.send(digit);
                }
            }
            _ = tick.tick() => {
                let Some(gateway) = gateway else { continue };
                let at = (header.sequence as usize % 50) * 160;
                write_rtp(&header, &tone_ulaw[at..at + 160], &mut packet);
                socket.send_to(&packet, gateway).await?;
                header.sequence = header.sequence.wrapping_add(1);
                header.timestamp = header.timestamp.wrapping_add(160);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_on_the_page_dtmf_pad_reaches_the_caller_as_rfc4733_events() -> anyhow::Result<()> {
    if !in_namespace(
        "a_key_on_the_page_dtmf_pad_reaches_the_caller_as_rfc4733_events",
        &["sipp"],
    )
    .await?
    {
        return Ok(());
    }
    let (world, mut browser) = world_and_browser().await?;
    ready_at_the_page(&world, &mut browser).await?;
    let mut notices = watch(&world, AGENT).await?;

    let media = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let audio_port = media.local_addr()?.port();
    let (digits_tx, mut digits) = tokio::sync::mpsc::unbounded_channel();
    let media_task = tokio::spawn(caller_media(media, digits_tx));
    let work = world.dir.path().join("caller");
    std::fs::create_dir_all(&work)?;
    let mut args = sipp_caller_args(&world, '0', 0)?;
    let at = args.iter().position(|a| a == "-sf").expect("a scenario") + 1;
    args[at] = sipp_scenarios()
        .join("trunk_caller_hung_up_on_own_media.xml")
        .display()
        .to_string();
    args.extend(["-key".into(), "audio_port".into(), audio_port.to_string()]);
    let caller = tokio::spawn(async move { run_sipp(&work, &args, Duration::from_secs(90)).await });

    rings_at_the_page(&mut browser, &mut notices).await?;
    answer_and_hear_the_caller(&mut browser).await?;
    browser.click("#dtmf-pad button[data-digit=\"5\"]").await?;
    let digit = tokio::time::timeout(Duration::from_secs(5), digits.recv())
        .await
        .map_err(|_| anyhow::anyhow!("no telephone-event reached the caller"))?;
    assert_eq!(
        digit,
        Some('5'),
        "the caller got the page's key as RFC 4733"
    );

    browser.click("#hangup-button").await?;
    page_call_ended(&mut browser).await?;
    sipp_passed(caller).await?;
    media_task.abort();
    browser.close().await?;
    world.stop().await;
    Ok(())
}
