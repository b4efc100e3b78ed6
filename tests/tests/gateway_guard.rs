//! The gateway's unhappy paths and defences, against real peers: SIPp as callers from
//! inside and outside the trunk and as agents' phones that never pick up, sipvicious'
//! svcrack guessing a softphone password, and raw sockets sending what no honest peer
//! sends.
//!
//! Each test starts its own gateway on its own ports, so they run in parallel. Waits
//! end on an event (a response, a process exit, a counter reaching a value) inside a
//! deadline; the only polling is of the supervisor snapshot and ticket-core's record.

use std::path::Path;
use std::time::{Duration, Instant};

use hotline_api::gateway::v1::{
    AgentRequest, AgentStateKind, Snapshot, SnapshotRequest, agent_notification,
};
use hotline_tests::gateway::{
    GatewayWorld, SIP_PASSWORD, free_udp_port, peer_available, run_sipp, sipp_scenarios,
    write_ulaw_tone,
};
use hotline_tests::sip_probe::{
    TcpEvent, TcpProbe, UdpProbe, has_to_tag, header, register, wait_udp_bound,
};
use sip_gateway::config::{GatewayConfig, StaticAgent};
use sip_gateway::registrar::SipRole;
use sip_proto::Message;

/// Long enough for a loaded machine, short enough to fail fast.
const ANSWER: Duration = Duration::from_secs(5);

async fn snapshot(world: &GatewayWorld) -> anyhow::Result<Snapshot> {
    let mut api = world.agent_api("supervisor01").await?;
    Ok(api.get_snapshot(SnapshotRequest {}).await?.into_inner())
}

/// Polls the supervisor snapshot until `done` holds.
async fn wait_snapshot(
    world: &GatewayWorld,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&Snapshot) -> bool,
) -> anyhow::Result<Snapshot> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let current = snapshot(world).await?;
        if done(&current) {
            return Ok(current);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{what} within {limit:?}; last snapshot: calls_in_progress {}, offered {}, \
             refused for load {}, refused not trunk {}",
            current.calls_in_progress,
            current.calls_offered,
            current.calls_refused_for_load,
            current.calls_refused_not_trunk
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Arguments for a SIPp caller running `scenario` from `ip`, its `<log>` lines going
/// to `log`.
fn sipp_caller(
    world: &GatewayWorld,
    scenario: &str,
    ip: &str,
    log: &Path,
    extra: &[&str],
) -> anyhow::Result<Vec<String>> {
    let mut args = vec![
        world.sip.to_string(),
        "-sf".into(),
        sipp_scenarios().join(scenario).display().to_string(),
        "-log_file".into(),
        log.display().to_string(),
    ];
    let (port, media_port) = (free_udp_port()?, free_udp_port()?);
    let common = format!(
        "-i {ip} -p {port} -mi {ip} -mp {media_port} -trace_logs \
         -timeout 40s -timeout_error -nostdin"
    );
    args.extend(common.split_whitespace().map(str::to_owned));
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    Ok(args)
}

/// The `<log>` lines SIPp wrote.
fn sipp_log(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A SIPp UAS playing an agent's desk phone on 127.0.0.1:`port`, for one call;
/// returns once SIPp listens.
async fn start_sipp_phone(
    dir: &Path,
    scenario: &[&str],
    port: u16,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<(std::process::ExitStatus, String)>>> {
    let mut args: Vec<String> = scenario.iter().map(|arg| (*arg).to_owned()).collect();
    let common = format!(
        "-i 127.0.0.1 -p {port} -mi 127.0.0.1 -mp {} -m 1 -timeout 40s -timeout_error -nostdin",
        free_udp_port()?
    );
    args.extend(common.split_whitespace().map(str::to_owned));
    let dir = dir.to_owned();
    let phone = tokio::spawn(async move { run_sipp(&dir, &args, Duration::from_secs(60)).await });
    wait_udp_bound(port).await?;
    Ok(phone)
}

fn static_agent(user: &str, port: u16) -> StaticAgent {
    StaticAgent {
        user: user.into(),
        contact: format!("sip:{user}@127.0.0.1:{port}"),
        queues: vec!["agents".into()],
    }
}

/// A worker calling through the trunk: presses `digit` 300 ms after the answer, hangs
/// up `talk_ms` later.
fn trunk_caller(world: &GatewayWorld, work: &Path, talk_ms: u32) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(work)?;
    write_ulaw_tone(&work.join("tone.ulaw"), 1000.0, 30.0)?;
    let log = work.join("caller.log");
    let talk = talk_ms.to_string();
    sipp_caller(
        world,
        "trunk_caller.xml",
        "127.0.0.1",
        &log,
        &[
            "-m",
            "1",
            "-key",
            "caller",
            "13800138000",
            "-key",
            "digit",
            "0",
            "-d",
            &talk,
        ],
    )
}

/// The uuid of the next call that rings `agent`.
async fn next_ringing(
    world: &GatewayWorld,
    agent: &str,
    started: impl std::future::Future<Output = ()>,
) -> anyhow::Result<String> {
    let mut api = world.agent_api("supervisor01").await?;
    let mut notices = api
        .watch_agent(AgentRequest {
            agent: agent.into(),
        })
        .await?
        .into_inner();
    started.await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let notice = tokio::time::timeout_at(deadline, notices.message())
            .await
            .map_err(|_| anyhow::anyhow!("{agent} was not rung within 20 s"))??
            .ok_or_else(|| anyhow::anyhow!("{agent}'s notification stream ended"))?;
        if let Some(agent_notification::Kind::Ringing(ringing)) = notice.kind {
            return Ok(ringing.call_uuid);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_from_outside_the_trunk_gets_403_and_another_number_404() -> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    let world = GatewayWorld::start(|_| {}).await?;
    let dir = world.dir.path();

    let log = dir.join("stranger.log");
    let args = sipp_caller(
        &world,
        "refused_caller.xml",
        "127.0.0.2",
        &log,
        &["-m", "1", "-key", "number", "12351"],
    )?;
    let (status, output) = run_sipp(dir, &args, Duration::from_secs(60)).await?;
    assert!(status.success(), "the stranger's INVITE: {output}");
    let lines = sipp_log(&log);
    assert_eq!(lines.len(), 1, "one refusal: {lines:?}");
    assert!(lines[0].contains("status=403"), "{lines:?}");
    assert!(
        lines[0].contains("trunk"),
        "the Warning says why: {lines:?}"
    );
    assert!(
        lines[0].contains(";tag="),
        "a final response has a To tag: {lines:?}"
    );
    let after_stranger = snapshot(&world).await?;
    assert_eq!(after_stranger.calls_refused_not_trunk, 1);
    assert_eq!(after_stranger.calls_offered, 0, "no call was offered");
    assert_eq!(after_stranger.calls_in_progress, 0);

    let log = dir.join("wrong_number.log");
    let args = sipp_caller(
        &world,
        "refused_caller.xml",
        "127.0.0.1",
        &log,
        &["-m", "1", "-key", "number", "12345"],
    )?;
    let (status, output) = run_sipp(dir, &args, Duration::from_secs(60)).await?;
    assert!(status.success(), "the INVITE to another number: {output}");
    let lines = sipp_log(&log);
    assert_eq!(lines.len(), 1, "one refusal: {lines:?}");
    assert!(lines[0].contains("status=404"), "{lines:?}");
    assert!(lines[0].contains("hotline number"), "{lines:?}");
    assert!(lines[0].contains(";tag="), "{lines:?}");
    let after_number = snapshot(&world).await?;
    assert_eq!(
        after_number.calls_refused_not_trunk, 1,
        "the trunk is trusted"
    );
    assert_eq!(after_number.calls_offered, 0);
    assert_eq!(after_number.calls_in_progress, 0);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_from_anyone_get_200_with_allow() -> anyhow::Result<()> {
    let world = GatewayWorld::start(|_| {}).await?;
    for ip in [[127, 0, 0, 1], [127, 0, 0, 2]] {
        let probe = UdpProbe::bind(ip, world.sip).await?;
        let options = probe.request("OPTIONS", &format!("sip:12351@{}", world.sip));
        let response = probe.ask(&options, ANSWER).await?;
        assert_eq!(response.status.as_u16(), 200, "from {ip:?}: {response:?}");
        let allow = header(&response, "Allow").unwrap_or_default();
        for method in ["INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"] {
            assert!(allow.contains(method), "Allow lists {method}: {allow:?}");
        }
        assert!(has_to_tag(&response), "a final response has a To tag");
        assert_eq!(
            response.headers.cseq()?.seq,
            1,
            "the answer is to our request"
        );
    }
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_flood_beyond_the_rate_gets_503_with_retry_after() -> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    const RATE: u32 = 20;
    const RETRY_AFTER: u32 = 7;
    const CALLS: usize = 400;
    let world = GatewayWorld::start(|config| {
        config.trunks[0].calls_per_second = RATE;
        config.total_calls_per_second = RATE;
        config.retry_after_seconds = RETRY_AFTER;
    })
    .await?;
    let dir = world.dir.path();
    let log = dir.join("flood.log");
    // 200 new calls a second for two seconds, ten times the configured rate; the
    // admitted ones hang up at once.
    let calls = CALLS.to_string();
    let args = sipp_caller(
        &world,
        "flood_caller.xml",
        "127.0.0.1",
        &log,
        &["-r", "200", "-m", &calls, "-l", &calls, "-d", "0"],
    )?;
    let started = Instant::now();
    let (status, output) = run_sipp(dir, &args, Duration::from_secs(60)).await?;
    let seconds = started.elapsed().as_secs_f64().ceil() as usize;
    assert!(
        status.success(),
        "every call got 200 or 503 with Retry-After: {output}"
    );

    let lines = sipp_log(&log);
    let admitted = lines.iter().filter(|l| l.starts_with("admitted")).count();
    let refused: Vec<&String> = lines.iter().filter(|l| l.starts_with("refused")).collect();
    assert_eq!(admitted + refused.len(), CALLS, "{lines:?}");
    eprintln!(
        "{admitted} admitted, {} refused in {seconds} s",
        refused.len()
    );
    let burst = RATE as usize;
    assert!(
        admitted <= burst * (seconds + 1) + burst,
        "{admitted} admitted in {seconds} s at {RATE}/s"
    );
    // The bucket refills: more than the first second's burst gets through.
    assert!(admitted >= 2 * burst, "only {admitted} admitted");
    for line in &refused {
        assert!(
            line.contains(&format!("retry_after={RETRY_AFTER} ")),
            "Retry-After is the configured {RETRY_AFTER} s: {line}"
        );
        assert!(line.contains("per second"), "{line}");
        assert!(line.contains(";tag="), "{line}");
    }

    // Refused INVITEs left no call behind: the counters match what SIPp saw, and
    // every admitted call is gone once its caller hung up.
    let after = wait_snapshot(&world, Duration::from_secs(15), "no call left", |s| {
        s.calls_in_progress == 0
    })
    .await?;
    assert_eq!(after.calls_offered, admitted as i64);
    assert_eq!(after.calls_refused_for_load, refused.len() as i64);
    assert_eq!(after.calls_refused_not_trunk, 0);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_at_its_call_limit_gets_503_until_a_call_ends() -> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    const MAX_CALLS: usize = 5;
    let world = GatewayWorld::start(|config| config.trunks[0].max_calls = MAX_CALLS).await?;
    let dir = world.dir.path().to_owned();
    let log = dir.join("held.log");
    // Ten calls within half a second, each held for four seconds once answered.
    let args = sipp_caller(
        &world,
        "flood_caller.xml",
        "127.0.0.1",
        &log,
        &["-r", "20", "-m", "10", "-l", "10", "-d", "4000"],
    )?;
    let sipp_dir = dir.clone();
    let callers =
        tokio::spawn(async move { run_sipp(&sipp_dir, &args, Duration::from_secs(60)).await });

    let mut most = 0;
    let full = wait_snapshot(
        &world,
        Duration::from_secs(10),
        "five calls up and five refused",
        |s| {
            most = most.max(s.calls_in_progress);
            s.calls_refused_for_load == 5
        },
    )
    .await?;
    assert_eq!(
        full.calls_in_progress, MAX_CALLS as i32,
        "five calls are up"
    );
    assert!(most <= MAX_CALLS as i32, "{most} calls in progress at once");

    let (status, output) = callers.await??;
    assert!(status.success(), "{output}");
    let lines = sipp_log(&log);
    let admitted = lines.iter().filter(|l| l.starts_with("admitted")).count();
    let refused: Vec<&String> = lines.iter().filter(|l| l.starts_with("refused")).collect();
    assert_eq!((admitted, refused.len()), (MAX_CALLS, 5), "{lines:?}");
    let retry_after = GatewayConfig::default().retry_after_seconds;
    for line in &refused {
        assert!(line.contains("call limit"), "{line}");
        assert!(
            line.contains(&format!("retry_after={retry_after} ")),
            "the default Retry-After: {line}"
        );
    }
    wait_snapshot(&world, Duration::from_secs(15), "no call left", |s| {
        s.calls_in_progress == 0
    })
    .await?;

    // The limit counts calls in progress, not calls ever made: the trunk takes calls
    // again.
    let log = dir.join("after.log");
    let args = sipp_caller(
        &world,
        "flood_caller.xml",
        "127.0.0.1",
        &log,
        &["-m", "1", "-d", "0"],
    )?;
    let (status, output) = run_sipp(&dir, &args, Duration::from_secs(60)).await?;
    assert!(status.success(), "{output}");
    assert_eq!(sipp_log(&log), vec!["admitted".to_owned()]);
    world.stop().await;
    Ok(())
}

/// Sends `bytes`, then an OPTIONS; returns what the gateway sent before the OPTIONS'
/// 200. The gateway handles one socket's datagrams in order, so an empty answer means
/// the first datagram was dropped without a word.
async fn answers_before_options(probe: &UdpProbe, bytes: &[u8]) -> anyhow::Result<Vec<Message>> {
    probe.send(bytes).await?;
    let marker = probe.request("OPTIONS", "sip:12351@127.0.0.1");
    probe.send(&marker.to_bytes()).await?;
    let mut before = Vec::new();
    loop {
        let message = probe.recv(ANSWER).await?;
        if let Message::Response(response) = &message
            && response.headers.call_id().ok() == Some(marker.call_id().as_str())
        {
            anyhow::ensure!(response.status.as_u16() == 200, "{response:?}");
            return Ok(before);
        }
        before.push(message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_datagrams_are_dropped_or_refused_and_the_gateway_keeps_answering()
-> anyhow::Result<()> {
    let world = GatewayWorld::start(|_| {}).await?;
    let probe = UdpProbe::bind([127, 0, 0, 1], world.sip).await?;
    let uri = "sip:12351@127.0.0.1";

    // Unparseable: nobody can be answered.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..700)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    let mut bad_utf8 = probe.request("OPTIONS", uri).to_bytes();
    let at = bad_utf8.len() - 2;
    bad_utf8.splice(at..at, b"Subject: \xff\xfe\xc3\x28\r\n".iter().copied());
    for (what, bytes) in [
        ("random bytes", random),
        ("invalid UTF-8 in a header", bad_utf8),
        (
            "a request line alone",
            b"OPTIONS sip:12351@127.0.0.1 SIP/2.0".to_vec(),
        ),
    ] {
        let answers = answers_before_options(&probe, &bytes).await?;
        assert!(answers.is_empty(), "{what} was answered: {answers:?}");
    }

    // Parseable but invalid: 400, with a Warning naming the fault.
    let invite = || {
        let mut invite = probe.request("INVITE", uri);
        invite.body = b"v=0\r\n".to_vec();
        invite.with("Content-Type", "application/sdp")
    };
    let cases = [
        (
            "no headers at all",
            b"OPTIONS sip:12351@127.0.0.1 SIP/2.0\r\n\r\n".to_vec(),
            "Via",
        ),
        (
            "no Call-ID",
            invite().without("Call-ID").to_bytes(),
            "Call-ID",
        ),
        ("no CSeq", invite().without("CSeq").to_bytes(), "CSeq"),
        ("no Via", invite().without("Via").to_bytes(), "Via"),
        (
            "a CSeq of another method",
            invite().without("CSeq").with("CSeq", "1 BYE").to_bytes(),
            "CSeq",
        ),
        (
            "a Content-Length larger than the datagram",
            invite().with("Content-Length", "99999999").to_bytes(),
            "Content-Length",
        ),
    ];
    for (what, bytes, named) in cases {
        let answers = answers_before_options(&probe, &bytes).await?;
        let [Message::Response(response)] = answers.as_slice() else {
            panic!("{what}: expected one 400, got {answers:?}");
        };
        assert_eq!(response.status.as_u16(), 400, "{what}: {response:?}");
        let warning = header(response, "Warning").unwrap_or_default();
        assert!(
            warning.contains(named),
            "{what}: the Warning names {named}: {warning:?}"
        );
    }
    let after = snapshot(&world).await?;
    assert_eq!(after.calls_offered, 0, "no INVITE above became a call");
    assert_eq!(after.calls_in_progress, 0);

    // Still alive, for anyone.
    let stranger = UdpProbe::bind([127, 0, 0, 2], world.sip).await?;
    let options = stranger.request("OPTIONS", uri);
    assert_eq!(stranger.ask(&options, ANSWER).await?.status.as_u16(), 200);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_framing_on_tcp_gets_400_and_a_closed_connection() -> anyhow::Result<()> {
    let world = GatewayWorld::start(|_| {}).await?;
    let uri = "sip:12351@127.0.0.1";
    let expect_response = |event: TcpEvent, what: &str| match event {
        TcpEvent::Message(message) => match *message {
            Message::Response(response) => response,
            other => panic!("{what}: a request instead of a response: {other:?}"),
        },
        TcpEvent::Closed => panic!("{what}: the connection closed without an answer"),
    };

    let mut tcp = TcpProbe::connect(world.sip).await?;
    for round in 0..2 {
        let options = tcp.request("OPTIONS", uri);
        tcp.send(&options.to_bytes()).await?;
        let response = expect_response(tcp.next_event(ANSWER).await?, "OPTIONS over TCP");
        assert_eq!(response.status.as_u16(), 200, "round {round}: {response:?}");
        assert_eq!(response.headers.call_id()?, options.call_id());
        assert!(header(&response, "Allow").is_some_and(|a| a.contains("INVITE")));
    }

    // No Content-Length: on a stream the end of the message cannot be found.
    let unframed = String::from_utf8(tcp.request("OPTIONS", uri).to_bytes())?
        .replace("Content-Length: 0\r\n", "");
    tcp.send(unframed.as_bytes()).await?;
    let response = expect_response(tcp.next_event(ANSWER).await?, "a message without length");
    assert_eq!(response.status.as_u16(), 400, "{response:?}");
    assert!(
        header(&response, "Warning").is_some_and(|w| w.contains("Content-Length")),
        "{response:?}"
    );
    assert!(
        matches!(tcp.next_event(ANSWER).await?, TcpEvent::Closed),
        "the gateway closes a stream it can no longer frame"
    );

    // A header section that never ends is cut off too.
    let mut endless = TcpProbe::connect(world.sip).await?;
    let mut head = format!("OPTIONS {uri} SIP/2.0\r\n").into_bytes();
    head.extend(std::iter::repeat_n(b"X-Filler: 0123456789abcdef\r\n", 3000).flatten());
    endless.send(&head).await?;
    let response = expect_response(endless.next_event(ANSWER).await?, "endless headers");
    assert_eq!(response.status.as_u16(), 400, "{response:?}");
    assert!(matches!(
        endless.next_event(ANSWER).await?,
        TcpEvent::Closed
    ));

    // The listener itself is fine.
    let mut fresh = TcpProbe::connect(world.sip).await?;
    let options = fresh.request("OPTIONS", uri);
    fresh.send(&options.to_bytes()).await?;
    let response = expect_response(fresh.next_event(ANSWER).await?, "a new connection");
    assert_eq!(response.status.as_u16(), 200);
    world.stop().await;
    Ok(())
}

/// Runs svcrack from `ip` against agent01 with `guesses`, one per line, in order;
/// returns everything it printed.
async fn run_svcrack(world: &GatewayWorld, ip: &str, guesses: &[String]) -> anyhow::Result<String> {
    let dir = world.dir.path();
    let dictionary = dir.join(format!("dictionary-{ip}.txt"));
    std::fs::write(&dictionary, guesses.join("\n") + "\n")?;
    let mut command = tokio::process::Command::new("svcrack");
    command
        // -vv: debug output, which names each guess as it is sent.
        .args(["-vv", "-u", "agent01", "-d"])
        .arg(&dictionary)
        .args(["-b", ip, "-P", &free_udp_port()?.to_string()])
        .args(["-p", &world.sip.port().to_string()])
        // Give up after 2 s without an answer, not the default 10.
        .args(["--maximumtime", "2", "127.0.0.1"])
        .current_dir(dir);
    let output = hotline_tests::tools::run_with_limit(command, Duration::from_secs(50)).await?;
    Ok(format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svcrack_does_not_find_a_password_and_its_address_is_shut_out() -> anyhow::Result<()> {
    if !peer_available("svcrack") {
        return Ok(());
    }
    let world = GatewayWorld::start(|_| {}).await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    let found = format!("The password for agent01 is {SIP_PASSWORD}");

    // svcrack works against this gateway: with the password among the first guesses,
    // before the throttle starts, it finds it. Without this the test below would pass
    // for a scanner that cannot talk to the gateway at all.
    let quick: Vec<String> = ["guess01", "guess02", SIP_PASSWORD]
        .map(str::to_owned)
        .to_vec();
    let text = run_svcrack(&world, "127.0.0.4", &quick).await?;
    assert!(text.contains(&found), "svcrack cannot crack here:\n{text}");

    // 40 wrong guesses, then the right password: the address is blocked after 20
    // failures, so the right guess is sent but never answered.
    let mut guesses: Vec<String> = (1..=40).map(|n| format!("guess{n:02}")).collect();
    guesses.push(SIP_PASSWORD.to_owned());
    let text = run_svcrack(&world, "127.0.0.1", &guesses).await?;
    assert!(
        text.contains(&format!("trying {SIP_PASSWORD}")),
        "svcrack got to the right password:\n{text}"
    );
    assert!(
        !text.contains("The password for"),
        "svcrack found it:\n{text}"
    );
    assert!(text.contains("found nothing"), "{text}");

    // The address is shut out even with the right password; another address is not.
    let blocked = UdpProbe::bind([127, 0, 0, 1], world.sip).await?;
    let answer = register(&blocked, "agent01", SIP_PASSWORD, Duration::from_secs(2)).await?;
    assert!(
        answer.is_none(),
        "a blocked address got an answer: {answer:?}"
    );
    let other = UdpProbe::bind([127, 0, 0, 3], world.sip).await?;
    let answer = register(&other, "agent01", SIP_PASSWORD, ANSWER)
        .await?
        .map(|response| response.status.as_u16());
    assert_eq!(answer, Some(200), "another address registers");
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_hangs_up_while_the_agent_rings_is_abandoned_and_the_ring_cancelled()
-> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    let phone_port = free_udp_port()?;
    let world = GatewayWorld::start(|config| {
        config.static_agents = vec![static_agent("agent01", phone_port)];
    })
    .await?;
    let dir = world.dir.path().to_owned();
    let scenario = sipp_scenarios().join("agent_never_answers.xml");
    let scenario = scenario.display().to_string();
    let phone = start_sipp_phone(&dir, &["-sf", &scenario], phone_port).await?;

    // The caller hangs up 1.5 s after choosing an agent, well inside the ring timeout.
    let work = dir.join("caller");
    let args = trunk_caller(&world, &work, 1500)?;
    let (start, go) = tokio::sync::oneshot::channel::<()>();
    let caller = tokio::spawn(async move {
        let _ = go.await;
        run_sipp(&work, &args, Duration::from_secs(60)).await
    });
    let call_uuid = next_ringing(&world, "agent01", async {
        let _ = start.send(());
    })
    .await?;

    let (status, output) = caller.await??;
    assert!(status.success(), "the caller: {output}");
    let (status, output) = phone.await??;
    assert!(
        status.success(),
        "the phone was sent CANCEL, answered 487 and got its ACK: {output}"
    );
    let call = world
        .wait_for_call(&call_uuid, Duration::from_secs(15), |call| {
            call.state == "abandoned"
        })
        .await?;
    assert_eq!(call.answered_by, "");
    assert_eq!(call.queue, "agents", "the worker was counted in the queue");
    use hotline_api::ticket::v1::CallEventKind as K;
    let kinds: Vec<i32> = call.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&(K::Queued as i32)), "{kinds:?}");
    assert!(!kinds.contains(&(K::Answered as i32)), "{kinds:?}");

    // The agent did nothing wrong: ready again, not paused.
    let mut api = world.agent_api("supervisor01").await?;
    let agent = api
        .get_agent(AgentRequest {
            agent: "agent01".into(),
        })
        .await?
        .into_inner();
    assert_eq!(agent.state(), AgentStateKind::Ready, "{agent:?}");
    wait_snapshot(&world, Duration::from_secs(15), "no call left", |s| {
        s.calls_in_progress == 0
    })
    .await?;
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_ring_times_out_pauses_the_agent_and_the_next_agent_answers()
-> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    let (silent_port, answering_port) = (free_udp_port()?, free_udp_port()?);
    let world = GatewayWorld::start(|config| {
        config.ring_timeout_seconds = 5;
        // Both idle since the start: ties go by name, so agent01 is rung first.
        config.static_agents = vec![
            static_agent("agent01", silent_port),
            static_agent("agent02", answering_port),
        ];
    })
    .await?;
    let dir = world.dir.path().to_owned();
    let scenario = sipp_scenarios().join("agent_never_answers.xml");
    let scenario = scenario.display().to_string();
    let silent = start_sipp_phone(&dir, &["-sf", &scenario], silent_port).await?;
    let answering = start_sipp_phone(&dir, &["-sn", "uas"], answering_port).await?;

    // The caller stays on well past the 5 s ring timeout.
    let work = dir.join("caller");
    let args = trunk_caller(&world, &work, 7500)?;
    let (start, go) = tokio::sync::oneshot::channel::<()>();
    let caller = tokio::spawn(async move {
        let _ = go.await;
        run_sipp(&work, &args, Duration::from_secs(60)).await
    });
    let call_uuid = next_ringing(&world, "agent01", async {
        let _ = start.send(());
    })
    .await?;
    let rung_at = Instant::now();

    let answered = world
        .wait_for_call(&call_uuid, Duration::from_secs(20), |call| {
            !call.answered_by.is_empty()
        })
        .await?;
    assert_eq!(answered.answered_by, "agent02");
    assert!(
        rung_at.elapsed() >= Duration::from_millis(4500),
        "agent02 answered only after agent01's ring timed out"
    );
    let mut api = world.agent_api("supervisor01").await?;
    let first = api
        .get_agent(AgentRequest {
            agent: "agent01".into(),
        })
        .await?
        .into_inner();
    assert_eq!(first.state(), AgentStateKind::Paused, "{first:?}");
    assert_eq!(first.pause_reason, "no answer");

    let (status, output) = silent.await??;
    assert!(status.success(), "agent01's phone got CANCEL: {output}");
    let (status, output) = caller.await??;
    assert!(status.success(), "the caller: {output}");
    let (status, output) = answering.await??;
    assert!(
        status.success(),
        "agent02's phone answered and got BYE: {output}"
    );
    let ended = world
        .wait_for_call(&call_uuid, Duration::from_secs(15), |call| {
            call.state == "ended"
        })
        .await?;
    assert_eq!(ended.answered_by, "agent02");
    world.stop().await;
    Ok(())
}
