//! Handing a caller to the duty lawyer, with real softphones: baresip as the agent
//! (440 Hz) and as the lawyer (700 Hz), SIPp as the trunk caller (1,000 Hz).
//!
//! Three ways: the agent's softphone sends REFER (blind), the agent's screen asks
//! over gRPC (blind), and the attended way (consult the lawyer while the caller hears
//! music, then complete). Each time the lawyer must end up hearing the caller, the
//! recording must continue in one file with the lawyer on the right at the end, and
//! ticket-core must hold the transfer among the call's events.

use std::time::Duration;

use hotline_api::gateway::v1::{
    AgentRequest, CallRequest, LoginRequest, TransferRequest, agent_notification,
};
use hotline_api::ticket::v1::{Call, CallEventKind};
use hotline_media::tone::dominant_tone;
use hotline_tests::gateway::{
    Baresip, GatewayWorld, TransferTones, assert_recording_ends_with_the_lawyer, next_notice,
    peer_available, read_wav_channels, run_sipp, sipp_caller_args, wait_registered,
    write_ulaw_tone,
};
use sip_gateway::registrar::SipRole;

const CALLER_HZ: f64 = 1000.0;
const AGENT_HZ: f64 = 440.0;
const LAWYER_HZ: f64 = 700.0;
const TONES: [f64; 3] = [CALLER_HZ, AGENT_HZ, LAWYER_HZ];

type Notices = tonic::Streaming<hotline_api::gateway::v1::AgentNotification>;

struct Scene {
    world: GatewayWorld,
    agent: Baresip,
    lawyer: Baresip,
    agent_notices: Notices,
    lawyer_notices: Notices,
    caller: tokio::task::JoinHandle<anyhow::Result<(std::process::ExitStatus, String)>>,
    call_uuid: String,
}

/// An agent and a lawyer logged in with registered softphones, and a caller who
/// pressed 0 and is talking to the agent.
async fn agent_on_a_call(talk_ms: u32) -> anyhow::Result<Scene> {
    let world = GatewayWorld::start(|_| {}).await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    world.set_sip_password("lawyer01", SipRole::Lawyer).await?;
    let agent = Baresip::start(world.dir.path(), "agent01", world.sip, AGENT_HZ as u32).await?;
    let lawyer = Baresip::start(world.dir.path(), "lawyer01", world.sip, LAWYER_HZ as u32).await?;
    for (user, phone) in [("agent01", &agent), ("lawyer01", &lawyer)] {
        if let Err(error) = wait_registered(&world, user).await {
            panic!("{error}\n{}", phone.logs());
        }
    }
    let mut agent_api = world.agent_api("agent01").await?;
    agent_api
        .login(LoginRequest {
            agent: String::new(),
            queues: vec!["agents".into()],
        })
        .await?;
    let mut lawyer_api = world.agent_api("lawyer01").await?;
    lawyer_api
        .login(LoginRequest {
            agent: String::new(),
            queues: vec![],
        })
        .await?;
    let mut agent_notices = agent_api
        .watch_agent(AgentRequest::default())
        .await?
        .into_inner();
    let lawyer_notices = lawyer_api
        .watch_agent(AgentRequest::default())
        .await?
        .into_inner();

    let work = world.dir.path().join("caller");
    std::fs::create_dir_all(&work)?;
    write_ulaw_tone(&work.join("tone.ulaw"), CALLER_HZ, 60.0)?;
    let args = sipp_caller_args(&world, '0', talk_ms)?;
    let caller = tokio::spawn(async move { run_sipp(&work, &args, Duration::from_secs(90)).await });
    let connected = next_notice(&mut agent_notices, Duration::from_secs(20), |k| {
        matches!(k, agent_notification::Kind::Connected(_))
    })
    .await?;
    let agent_notification::Kind::Connected(connected) = connected else {
        unreachable!()
    };
    Ok(Scene {
        world,
        agent,
        lawyer,
        agent_notices,
        lawyer_notices,
        caller,
        call_uuid: connected.call_uuid,
    })
}

impl Scene {
    async fn lawyer_connected(&mut self) -> anyhow::Result<()> {
        next_notice(&mut self.lawyer_notices, Duration::from_secs(20), |k| {
            matches!(k, agent_notification::Kind::Connected(_))
        })
        .await?;
        Ok(())
    }

    /// Waits for the caller to hang up and ticket-core to have the whole call.
    async fn finish(self) -> anyhow::Result<(Call, Vec<Vec<i16>>, Baresip, GatewayWorld)> {
        let (status, output) = self.caller.await??;
        assert!(status.success(), "SIPp caller failed:\n{output}");
        let call = self
            .world
            .wait_for_call(&self.call_uuid, Duration::from_secs(20), |call| {
                call.state == "ended" && !call.recording_sha256.is_empty()
            })
            .await?;
        let (_, channels) = read_wav_channels(std::path::Path::new(&call.recording_path))?;
        drop(self.agent);
        Ok((call, channels, self.lawyer, self.world))
    }
}

/// What every transfer must leave behind: ticket-core has one transfer by agent01 and
/// the answers of agent01 then lawyer01; the one recording ends with the lawyer on the
/// right; the lawyer's phone heard the caller.
async fn finish_with_the_lawyer(scene: Scene) -> anyhow::Result<(Baresip, GatewayWorld)> {
    let (call, channels, lawyer, world) = scene.finish().await?;
    assert_eq!(event_agents(&call, CallEventKind::Transferred), ["agent01"]);
    assert_eq!(
        event_agents(&call, CallEventKind::Answered),
        ["agent01", "lawyer01"]
    );
    assert_recording_ends_with_the_lawyer(&channels, &PARTIES);
    assert_lawyer_heard_the_caller(&lawyer)?;
    Ok((lawyer, world))
}

/// The people on the phone talk for a while: not a wait for an event, but the
/// conversation the recording checks look for.
async fn talk_for_two_seconds() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

fn event_agents(call: &Call, kind: CallEventKind) -> Vec<String> {
    call.events
        .iter()
        .filter(|e| e.kind == kind as i32)
        .map(|e| e.agent.clone())
        .collect()
}

/// What the lawyer's phone heard at the end: the caller.
fn assert_lawyer_heard_the_caller(lawyer: &Baresip) -> anyhow::Result<()> {
    let heard = lawyer.received_audio();
    assert!(
        !heard.is_empty(),
        "the lawyer's softphone wrote what it received"
    );
    let (rate, channels) = read_wav_channels(&heard[0])?;
    let mono = &channels[0];
    let tail = &mono[mono.len().saturating_sub(rate as usize * 2)..];
    assert_eq!(
        dominant_tone(tail, &TONES, rate),
        Some(CALLER_HZ),
        "the lawyer heard the caller"
    );
    Ok(())
}

const PARTIES: TransferTones = TransferTones {
    caller: CALLER_HZ,
    agent: AGENT_HZ,
    lawyer: LAWYER_HZ,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_softphone_transfers_with_refer_and_the_lawyer_takes_the_caller()
-> anyhow::Result<()> {
    if !peer_available("sipp") || !peer_available("baresip") {
        return Ok(());
    }
    let mut scene = agent_on_a_call(9000).await?;
    talk_for_two_seconds().await;
    let target = format!("sip:lawyers@{}", scene.world.sip);
    scene.agent.command("transfer", &target).await?;
    let ended = next_notice(&mut scene.agent_notices, Duration::from_secs(10), |k| {
        matches!(k, agent_notification::Kind::Ended(_))
    })
    .await?;
    let agent_notification::Kind::Ended(ended) = ended else {
        unreachable!()
    };
    assert!(ended.reason.contains("lawyers"), "{}", ended.reason);
    scene.lawyer_connected().await?;
    let (lawyer, world) = finish_with_the_lawyer(scene).await?;
    drop(lawyer);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_screen_transfers_blind_over_grpc() -> anyhow::Result<()> {
    if !peer_available("sipp") || !peer_available("baresip") {
        return Ok(());
    }
    let mut scene = agent_on_a_call(9000).await?;
    talk_for_two_seconds().await;
    let mut api = scene.world.agent_api("agent01").await?;
    // A queue that does not exist is refused and names the field.
    let error = api
        .transfer_to_queue(TransferRequest {
            agent: String::new(),
            queue: "judges".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument);
    assert!(error.message().contains("queue"), "{}", error.message());
    let moved = api
        .transfer_to_queue(TransferRequest {
            agent: String::new(),
            queue: String::new(),
        })
        .await?
        .into_inner();
    assert_eq!(moved.call_uuid, scene.call_uuid);
    scene.lawyer_connected().await?;
    let (lawyer, world) = finish_with_the_lawyer(scene).await?;
    drop(lawyer);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attended_transfer_consults_the_lawyer_first_then_completes() -> anyhow::Result<()> {
    if !peer_available("sipp") || !peer_available("baresip") {
        return Ok(());
    }
    let mut scene = agent_on_a_call(10_000).await?;
    talk_for_two_seconds().await;
    let mut api = scene.world.agent_api("agent01").await?;
    let completed_too_early = api
        .complete_consultation(CallRequest::default())
        .await
        .unwrap_err();
    assert_eq!(completed_too_early.code(), tonic::Code::FailedPrecondition);
    api.start_consultation(TransferRequest::default()).await?;
    scene.lawyer_connected().await?;
    // Agent and lawyer talk while the caller waits with music.
    talk_for_two_seconds().await;
    api.complete_consultation(CallRequest::default()).await?;
    next_notice(&mut scene.agent_notices, Duration::from_secs(10), |k| {
        matches!(k, agent_notification::Kind::Ended(_))
    })
    .await?;
    let (lawyer, world) = finish_with_the_lawyer(scene).await?;
    // The lawyer's first audio was the agent (the consultation), not the caller.
    let heard = lawyer.received_audio();
    let (rate, lawyer_heard) = read_wav_channels(&heard[0])?;
    let first = &lawyer_heard[0][..(rate as usize).min(lawyer_heard[0].len())];
    assert_eq!(
        dominant_tone(first, &TONES, rate),
        Some(AGENT_HZ),
        "the consultation came first"
    );
    drop(lawyer);
    world.stop().await;
    Ok(())
}
