//! Calls through the gateway with real SIP peers: SIPp as the carrier trunk (G.711
//! audio streamed from a file) and baresip as the agent's softphone, registered with
//! digest auth and answering automatically.
//!
//! What crosses the bridge is checked by ear, so to speak: the caller streams a
//! 1,000 Hz tone and baresip a 440 Hz one; the gateway's stereo recording must have
//! 1,000 Hz on the left (caller) and 440 Hz on the right (agent), and baresip's dump of
//! what it heard must be 1,000 Hz.

use std::time::Duration;

use hotline_api::gateway::v1::{AgentRequest, LoginRequest, agent_notification};
use hotline_media::tone::dominant_tone;
use hotline_tests::gateway::{
    Baresip, GatewayWorld, assert_answered_call_events_once, free_udp_port, next_notice,
    peer_available, read_wav_channels, run_sipp, sipp_caller_args, wait_registered,
    write_ulaw_tone,
};
use sha2::Digest;
use sip_gateway::registrar::SipRole;

const CALLER_HZ: f64 = 1000.0;
const AGENT_HZ: f64 = 440.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_call_reaches_a_baresip_agent_with_audio_both_ways_and_a_stereo_recording()
-> anyhow::Result<()> {
    if !peer_available("sipp") || !peer_available("baresip") {
        return Ok(());
    }
    let world = GatewayWorld::start(|_| {}).await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    let agent = Baresip::start(world.dir.path(), "agent01", world.sip, AGENT_HZ as u32).await?;
    if let Err(error) = wait_registered(&world, "agent01").await {
        panic!("{error}\n{}", agent.logs());
    }

    let mut api = world.agent_api("agent01").await?;
    api.login(LoginRequest {
        agent: String::new(),
        queues: vec!["agents".into()],
    })
    .await?;
    let mut notices = api.watch_agent(AgentRequest::default()).await?.into_inner();

    let work = world.dir.path().join("caller");
    std::fs::create_dir_all(&work)?;
    write_ulaw_tone(&work.join("tone.ulaw"), CALLER_HZ, 30.0)?;
    let args = sipp_caller_args(&world, '0', 5000)?;
    let caller = tokio::spawn(async move { run_sipp(&work, &args, Duration::from_secs(90)).await });

    let ringing = next_notice(&mut notices, Duration::from_secs(20), |k| {
        matches!(k, agent_notification::Kind::Ringing(_))
    })
    .await?;
    let agent_notification::Kind::Ringing(ringing) = ringing else {
        unreachable!()
    };
    assert_eq!(ringing.caller_phone, "13800138000");
    assert_eq!(ringing.queue, "agents");
    assert!(
        ringing.history.is_some(),
        "the caller's history comes with the ring: {}",
        ringing.history_error
    );
    let call_uuid = ringing.call_uuid.clone();
    next_notice(&mut notices, Duration::from_secs(10), |k| {
        matches!(k, agent_notification::Kind::Connected(_))
    })
    .await?;

    let (status, output) = caller.await??;
    assert!(status.success(), "SIPp caller failed:\n{output}");

    let call = world
        .wait_for_call(&call_uuid, Duration::from_secs(20), |call| {
            call.state == "ended" && !call.recording_sha256.is_empty()
        })
        .await?;
    assert_eq!(call.caller_phone, "13800138000");
    assert_eq!(call.answered_by, "agent01");
    assert_answered_call_events_once(&call);

    // The recording: where ticket-core says, with the hash ticket-core holds.
    let path = std::path::PathBuf::from(&call.recording_path);
    let bytes = std::fs::read(&path)?;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        call.recording_sha256
    );
    let (rate, channels) = read_wav_channels(&path)?;
    assert_eq!((rate, channels.len()), (8000, 2), "8 kHz stereo");
    // The last two seconds before the caller hung up are the bridged conversation.
    let end = channels[0].len().saturating_sub(4000);
    let window = end.saturating_sub(16_000)..end;
    let candidates = [CALLER_HZ, AGENT_HZ];
    assert_eq!(
        dominant_tone(&channels[0][window.clone()], &candidates, 8000),
        Some(CALLER_HZ),
        "the caller is on the left"
    );
    assert_eq!(
        dominant_tone(&channels[1][window], &candidates, 8000),
        Some(AGENT_HZ),
        "the agent is on the right"
    );

    // What baresip heard: the caller's tone.
    let heard = agent.received_audio();
    assert!(!heard.is_empty(), "baresip wrote what it received");
    let (rate, channels) = read_wav_channels(&heard[0])?;
    let mono = &channels[0];
    let tail = &mono[mono.len().saturating_sub(rate as usize * 2)..];
    assert_eq!(
        dominant_tone(tail, &candidates, rate),
        Some(CALLER_HZ),
        "the agent heard the caller"
    );
    drop(notices);
    drop(agent);
    world.stop().await;
    Ok(())
}

/// A SIPp UAS answering every call, standing in for agents' desk phones.
struct SippAgents {
    /// Killed when dropped.
    _child: tokio::process::Child,
    port: u16,
}

impl SippAgents {
    fn start(dir: &std::path::Path) -> anyhow::Result<SippAgents> {
        let port = free_udp_port()?;
        let child = tokio::process::Command::new("sipp")
            .args([
                "-sn",
                "uas",
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-nostdin",
            ])
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        Ok(SippAgents {
            _child: child,
            port,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_go_on_while_ticket_core_is_down_and_every_event_arrives_once() -> anyhow::Result<()>
{
    if !peer_available("sipp") {
        return Ok(());
    }
    let scratch = tempfile::tempdir()?;
    let agents = SippAgents::start(scratch.path())?;
    let port = agents.port;
    let mut world = GatewayWorld::start(|config| {
        config.trunks[0].ivr = false;
        config.static_agents = (1..=4)
            .map(|n| sip_gateway::config::StaticAgent {
                user: format!("desk{n:02}"),
                contact: format!("sip:desk{n:02}@127.0.0.1:{port}"),
                queues: vec!["agents".into()],
            })
            .collect();
    })
    .await?;
    let mut progress = world.outbox.watch_progress();
    world.stop_core().await;

    // Six calls while ticket-core is down: the trunk and the agents notice nothing.
    const CALLS: u64 = 6;
    let args: Vec<String> = [
        &world.sip.to_string(),
        "-sn",
        "uac",
        "-s",
        "12351",
        "-m",
        &CALLS.to_string(),
        "-r",
        "3",
        "-d",
        "800",
        "-i",
        "127.0.0.1",
        "-p",
        &free_udp_port()?.to_string(),
        "-timeout",
        "60s",
        "-timeout_error",
        "-nostdin",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (status, output) = run_sipp(scratch.path(), &args, Duration::from_secs(60)).await?;
    assert!(
        status.success(),
        "calls failed while ticket-core was down:\n{output}"
    );

    // Offered, queued, answered, ended, recording ready: five events per call, all
    // waiting in the outbox.
    let expected = CALLS * 5;
    tokio::time::timeout(
        Duration::from_secs(20),
        progress.wait_for(|p| p.recorded >= expected),
    )
    .await
    .map_err(|_| anyhow::anyhow!("the gateway did not record {expected} events"))??;
    assert_eq!(
        progress.borrow().delivered,
        0,
        "nothing can be delivered yet"
    );

    world.restart_core().await?;
    tokio::time::timeout(
        Duration::from_secs(60),
        progress.wait_for(|p| p.delivered >= expected),
    )
    .await
    .map_err(|_| anyhow::anyhow!("events not delivered after ticket-core came back"))??;
    assert_eq!(progress.borrow().rejected, 0);

    let outbox_file = world.dir.path().join("gateway/call_events.sqlite3");
    let uuids: Vec<String> = {
        let db = rusqlite::Connection::open_with_flags(
            &outbox_file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut statement = db.prepare("SELECT DISTINCT call_uuid FROM call_events")?;
        statement
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    assert_eq!(uuids.len() as u64, CALLS);
    for uuid in uuids {
        let call = world
            .wait_for_call(&uuid, Duration::from_secs(5), |call| call.state == "ended")
            .await?;
        let mut kinds: Vec<i32> = call.events.iter().map(|e| e.kind).collect();
        kinds.sort_unstable();
        let before = kinds.len();
        kinds.dedup();
        assert_eq!(
            before,
            kinds.len(),
            "each event counted once: {:?}",
            call.events
        );
        assert_eq!(
            kinds.len(),
            5,
            "every event of the call arrived: {:?}",
            call.events
        );
        assert!(call.answered_by.starts_with("desk"), "{}", call.answered_by);
    }
    drop(agents);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_pressed_as_rfc4733_events_routes_the_caller_to_the_lawyers() -> anyhow::Result<()> {
    if !peer_available("sipp") || !peer_available("baresip") {
        return Ok(());
    }
    let world = GatewayWorld::start(|_| {}).await?;
    world.set_sip_password("lawyer01", SipRole::Lawyer).await?;
    let lawyer = Baresip::start(world.dir.path(), "lawyer01", world.sip, AGENT_HZ as u32).await?;
    if let Err(error) = wait_registered(&world, "lawyer01").await {
        panic!("{error}\n{}", lawyer.logs());
    }
    let mut api = world.agent_api("lawyer01").await?;
    let status = api.login(LoginRequest::default()).await?.into_inner();
    assert_eq!(status.queues, ["lawyers"], "a lawyer's default queue");
    let mut notices = api.watch_agent(AgentRequest::default()).await?.into_inner();

    let mut args = sipp_caller_args(&world, '2', 1500)?;
    let scenario = args.iter().position(|a| a == "-sf").expect("a scenario") + 1;
    args[scenario] = hotline_tests::gateway::sipp_scenarios()
        .join("trunk_caller_presses_2_rfc4733.xml")
        .display()
        .to_string();
    let work = world.dir.path().to_owned();
    let caller = tokio::spawn(async move { run_sipp(&work, &args, Duration::from_secs(60)).await });
    let ringing = next_notice(&mut notices, Duration::from_secs(20), |k| {
        matches!(k, agent_notification::Kind::Ringing(_))
    })
    .await?;
    let agent_notification::Kind::Ringing(ringing) = ringing else {
        unreachable!()
    };
    assert_eq!(ringing.queue, "lawyers");
    assert_eq!(ringing.service, "legal_aid");
    let (status, output) = caller.await??;
    assert!(status.success(), "SIPp caller failed:\n{output}");
    let call = world
        .wait_for_call(&ringing.call_uuid, Duration::from_secs(20), |call| {
            call.state == "ended"
        })
        .await?;
    assert_eq!(call.answered_by, "lawyer01");
    assert_eq!(call.queue, "lawyers");
    drop(notices);
    drop(lawyer);
    world.stop().await;
    Ok(())
}
