//! The call-event outbox against a real ticket-core (in-process, over gRPC, on SQLite
//! files in a temporary directory), including a ticket-core restart and a killed
//! gateway process.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hotline_api::BearerToken;
use hotline_api::ticket::v1 as pb;
use sip_gateway::call_events::{
    Backoff, CALL_EVENTS_FILE, CallEvent, CallEventKind, CallEventOutbox, CallEventSender,
    DeliveryState, OutboxProgress, to_request,
};
use ticket_core::app::{CoreApp, Settings};
use ticket_core::domain::SystemClock;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const WAIT: Duration = Duration::from_secs(30);
/// 2026-11-23 09:00 China time.
const T0: i64 = 1_795_395_600_000;

/// A running ticket-core and the means to stop it.
struct Core {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Core {
    /// Builds ticket-core on `data_dir`, listening on `listen` (port 0 the first time,
    /// the same address after a restart). Returns the gateway's token on first start.
    async fn start(data_dir: &Path, listen: SocketAddr) -> (Core, SocketAddr, Option<String>) {
        let app = CoreApp::build(
            Settings {
                data_dir: data_dir.to_owned(),
                listen,
                core: Default::default(),
            },
            Arc::new(SystemClock),
        )
        .await
        .expect("ticket-core starts");
        let address = app.local_addr();
        let token = app.first_start_tokens.as_ref().map(|tokens| {
            tokens
                .iter()
                .find(|issued| issued.user == "gateway")
                .expect("the sample province has a gateway user")
                .token
                .clone()
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run(async {
                let _ = stopped.await;
            })
            .await
            .expect("ticket-core serves");
        });
        (Core { stop, task }, address, token)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("ticket-core stops in time")
            .expect("ticket-core task");
    }
}

type Calls = pb::call_service_client::CallServiceClient<InterceptedService<Channel, BearerToken>>;

fn calls_client(address: SocketAddr, token: &str) -> Calls {
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("url")
        .connect_lazy();
    pb::call_service_client::CallServiceClient::with_interceptor(
        channel,
        BearerToken::new(token).expect("token"),
    )
}

async fn get_call(client: &mut Calls, call_uuid: &str) -> pb::Call {
    client
        .get_call(pb::GetCallRequest {
            call_id: 0,
            call_uuid: call_uuid.to_owned(),
        })
        .await
        .expect("GetCall")
        .into_inner()
}

/// The events ticket-core holds for a call, as (kind, at_ms).
fn kinds_and_times(call: &pb::Call) -> Vec<(pb::CallEventKind, i64)> {
    call.events
        .iter()
        .map(|event| (event.kind(), event.at_ms))
        .collect()
}

async fn wait_for(
    progress: &mut watch::Receiver<OutboxProgress>,
    what: &str,
    done: impl FnMut(&OutboxProgress) -> bool,
) {
    let waited = tokio::time::timeout(WAIT, progress.wait_for(done))
        .await
        .map(|result| result.is_ok());
    match waited {
        Ok(open) => assert!(open, "the outbox closed while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}: {:?}", *progress.borrow()),
    }
}

/// A whole answered call: offered, queued, answered, (transferred,) ended, recording.
fn answered_call(call: &str, start: i64, transferred: bool) -> Vec<CallEvent> {
    let mut seq = 0;
    let mut next = |kind, offset: i64| {
        seq += 1;
        CallEvent::new(call, seq, kind, start + offset)
    };
    let mut events = Vec::new();
    let mut offered = next(CallEventKind::Offered, 0);
    offered.caller_phone = "13800138000".into();
    events.push(offered);
    let mut queued = next(CallEventKind::Queued, 1_000);
    queued.queue = "agents".into();
    events.push(queued);
    let mut answered = next(CallEventKind::Answered, 9_000);
    answered.agent = "agent01".into();
    events.push(answered);
    if transferred {
        let mut transfer = next(CallEventKind::Transferred, 60_000);
        transfer.queue = "lawyers".into();
        transfer.agent = "lawyer01".into();
        events.push(transfer);
    }
    let mut ended = next(CallEventKind::Ended, 180_000);
    ended.end_reason = "caller hung up".into();
    events.push(ended);
    let mut recording = next(CallEventKind::RecordingReady, 181_000);
    recording.recording_path = format!("recordings/{call}.wav");
    recording.recording_sha256 = "ab".repeat(32);
    events.push(recording);
    events
}

fn abandoned_call(call: &str, start: i64) -> Vec<CallEvent> {
    let mut offered = CallEvent::new(call, 1, CallEventKind::Offered, start);
    offered.caller_phone = "020-12351000".into();
    let mut queued = CallEvent::new(call, 2, CallEventKind::Queued, start + 1_000);
    queued.queue = "agents".into();
    let abandoned = CallEvent::new(call, 3, CallEventKind::Abandoned, start + 40_000);
    vec![offered, queued, abandoned]
}

fn expected(events: &[CallEvent]) -> Vec<(pb::CallEventKind, i64)> {
    events
        .iter()
        .map(|event| {
            let kind = pb::CallEventKind::try_from(to_request(event).kind).expect("known kind");
            (kind, event.at_ms)
        })
        .collect()
}

async fn record_all(outbox: &Arc<CallEventOutbox>, events: &[CallEvent]) {
    for event in events {
        outbox.record_async(event.clone()).await.expect("recorded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_ticket_core_once_each_across_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let core_dir = dir.path().join("core");
    let (core, address, token) = Core::start(&core_dir, "127.0.0.1:0".parse().expect("addr")).await;
    let token = token.expect("first start issues tokens");

    let outbox =
        Arc::new(CallEventOutbox::open(dir.path().join(CALL_EVENTS_FILE)).expect("outbox"));
    let mut progress = outbox.watch_progress();
    let sender = CallEventSender::new(outbox.clone(), &format!("http://{address}"), &token)
        .expect("sender")
        .with_backoff(Backoff {
            initial: Duration::from_millis(50),
            cap: Duration::from_millis(500),
        });
    let (stop_sender, sender_stopped) = oneshot::channel::<()>();
    let sender = tokio::spawn(sender.run(async {
        let _ = sender_stopped.await;
    }));

    // While ticket-core is up.
    let call_a = answered_call("call-a", T0, false);
    let call_b = answered_call("call-b", T0 + 5_000, false);
    let call_c = abandoned_call("call-c", T0 + 7_000);
    record_all(&outbox, &call_a).await;
    record_all(&outbox, &call_b).await;
    record_all(&outbox, &call_c).await;
    let first = (call_a.len() + call_b.len() + call_c.len()) as u64;
    wait_for(&mut progress, "the first calls", |p| p.delivered == first).await;

    let mut calls = calls_client(address, &token);
    let a = get_call(&mut calls, "call-a").await;
    assert_eq!(kinds_and_times(&a), expected(&call_a));
    assert_eq!(a.state, "ended");
    assert_eq!(a.caller_phone, "13800138000");
    assert_eq!(a.answered_by, "agent01");
    assert_eq!(a.recording_sha256, "ab".repeat(32));
    let c = get_call(&mut calls, "call-c").await;
    assert_eq!(kinds_and_times(&c), expected(&call_c));
    assert_eq!(c.state, "abandoned");

    // ticket-core goes away; calls go on.
    core.stop().await;
    let call_d = answered_call("call-d", T0 + 60_000, true);
    let call_e = abandoned_call("call-e", T0 + 70_000);
    record_all(&outbox, &call_d).await;
    record_all(&outbox, &call_e).await;
    wait_for(&mut progress, "failed attempts while down", |p| {
        p.failed_attempts >= 3
    })
    .await;
    let stats = outbox.stats().expect("stats");
    assert_eq!(stats.pending, (call_d.len() + call_e.len()) as u64);
    assert!(stats.oldest_pending_age.is_some());
    let waiting = outbox.find("call-d:1").expect("find").expect("stored");
    assert!(waiting.attempts >= 1);
    assert!(
        waiting
            .last_error
            .expect("an error")
            .starts_with("Unavailable")
    );

    // Back on the same data and the same address.
    let (core, again, token_again) = Core::start(&core_dir, address).await;
    assert_eq!(again, address);
    assert!(token_again.is_none(), "the restart reuses the database");
    let total = first + (call_d.len() + call_e.len()) as u64;
    wait_for(&mut progress, "everything", |p| p.delivered == total).await;
    assert_eq!(outbox.stats().expect("stats").pending, 0);

    let mut calls = calls_client(address, &token);
    for (uuid, events) in [
        ("call-a", &call_a),
        ("call-b", &call_b),
        ("call-c", &call_c),
        ("call-d", &call_d),
        ("call-e", &call_e),
    ] {
        let call = get_call(&mut calls, uuid).await;
        assert_eq!(kinds_and_times(&call), expected(events), "{uuid}");
    }
    let d = get_call(&mut calls, "call-d").await;
    assert_eq!(d.answered_by, "lawyer01");
    assert_eq!(d.queue, "lawyers");

    // Delivering an event again is acknowledged as a duplicate and not counted.
    let repeat = calls
        .record_call_event(to_request(&call_a[2]))
        .await
        .expect("RecordCallEvent")
        .into_inner();
    assert!(repeat.duplicate);
    assert_eq!(repeat.call_id, a.id);
    // As after a gateway killed between ticket-core's answer and marking the event
    // delivered: the row is pending again, and goes out again.
    let reopened = rusqlite::Connection::open(dir.path().join(CALL_EVENTS_FILE)).expect("open");
    let reset = reopened
        .execute(
            "UPDATE call_events SET state = 'pending', finished_at_ms = NULL
             WHERE event_id IN ('call-b:1', 'call-b:3')",
            [],
        )
        .expect("reset");
    assert_eq!(reset, 2);
    outbox.wake_sender();
    wait_for(&mut progress, "the redelivery", |p| {
        p.delivered == total + 2
    })
    .await;
    let b = get_call(&mut calls, "call-b").await;
    assert_eq!(kinds_and_times(&b), expected(&call_b));

    // An event ticket-core refuses is set aside; the call's later events still go.
    let mut bad_recording = CallEvent::new("call-f", 2, CallEventKind::RecordingReady, T0 + 90_000);
    bad_recording.recording_path = "recordings/call-f.wav".into();
    bad_recording.recording_sha256 = "not a digest".into();
    let call_f = vec![
        CallEvent::new("call-f", 1, CallEventKind::Offered, T0 + 80_000),
        bad_recording,
        CallEvent::new("call-f", 3, CallEventKind::Ended, T0 + 95_000),
    ];
    record_all(&outbox, &call_f).await;
    wait_for(&mut progress, "call-f", |p| {
        p.delivered == total + 4 && p.rejected == 1
    })
    .await;
    let rejected = outbox.find("call-f:2").expect("find").expect("stored");
    assert_eq!(rejected.state, DeliveryState::Rejected);
    let error = rejected.last_error.expect("the reason");
    assert!(error.contains("recording_sha256"), "{error}");
    let f = get_call(&mut calls, "call-f").await;
    assert_eq!(
        kinds_and_times(&f),
        expected(&[call_f[0].clone(), call_f[2].clone()])
    );
    let stats = outbox.stats().expect("stats");
    assert_eq!((stats.pending, stats.rejected), (0, 1));

    let _ = stop_sender.send(());
    tokio::time::timeout(WAIT, sender)
        .await
        .expect("the sender stops in time")
        .expect("sender task")
        .expect("the sender ends cleanly");
    core.stop().await;
}

#[tokio::test]
async fn the_sender_waits_for_a_ticket_core_that_starts_later() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Learn a token and a free address from a first start, then stop.
    let core_dir = dir.path().join("core");
    let (core, address, token) = Core::start(&core_dir, "127.0.0.1:0".parse().expect("addr")).await;
    let token = token.expect("first start issues tokens");
    core.stop().await;

    let outbox =
        Arc::new(CallEventOutbox::open(dir.path().join(CALL_EVENTS_FILE)).expect("outbox"));
    let mut progress = outbox.watch_progress();
    let sender = CallEventSender::new(outbox.clone(), &format!("http://{address}"), &token)
        .expect("sender")
        .with_backoff(Backoff {
            initial: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        });
    let (stop_sender, sender_stopped) = oneshot::channel::<()>();
    let sender = tokio::spawn(sender.run(async {
        let _ = sender_stopped.await;
    }));
    let call = abandoned_call("call-late", T0);
    record_all(&outbox, &call).await;
    wait_for(&mut progress, "attempts before ticket-core is up", |p| {
        p.failed_attempts >= 1
    })
    .await;

    let (core, _, _) = Core::start(&core_dir, address).await;
    wait_for(&mut progress, "delivery", |p| p.delivered == 3).await;
    let mut calls = calls_client(address, &token);
    let stored = get_call(&mut calls, "call-late").await;
    assert_eq!(kinds_and_times(&stored), expected(&call));

    let _ = stop_sender.send(());
    tokio::time::timeout(WAIT, sender)
        .await
        .expect("the sender stops in time")
        .expect("sender task")
        .expect("the sender ends cleanly");
    core.stop().await;
}

const CHILD_OUTBOX: &str = "CALL_EVENTS_TEST_CHILD_OUTBOX";
const RECORDED: &str = "call events recorded";

/// The gateway is killed (SIGKILL) right after `record` returned: the events are in
/// the file when it is opened again.
#[test]
fn recorded_events_survive_a_killed_process() {
    if let Ok(path) = std::env::var(CHILD_OUTBOX) {
        // The child: record, say so, then wait to be killed.
        let outbox = CallEventOutbox::open(&path).expect("outbox");
        for event in answered_call("call-killed", T0, false) {
            outbox.record(event).expect("recorded");
        }
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{RECORDED}").expect("stdout");
        stdout.flush().expect("flush");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        return;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(CALL_EVENTS_FILE);
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "recorded_events_survive_a_killed_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_OUTBOX, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("child stdout");
    let recorded = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains(RECORDED));
    assert!(recorded, "the child did not record");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert!(!status.success());

    let outbox = CallEventOutbox::open(&path).expect("reopen");
    let pending: Vec<CallEvent> = outbox
        .pending(100)
        .expect("pending")
        .into_iter()
        .map(|pending| pending.event)
        .collect();
    let expected = answered_call("call-killed", T0, false);
    assert_eq!(
        outbox.stats().expect("stats").pending,
        expected.len() as u64
    );
    assert_eq!(pending, expected);
}

#[test]
fn a_settled_batch_counts_each_event_once_and_keeps_the_refusal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = CallEventOutbox::open(dir.path().join(CALL_EVENTS_FILE)).expect("outbox");
    for event in answered_call("call-batch", T0, false) {
        outbox.record(event).expect("recorded");
    }
    let pending = outbox.pending(100).expect("pending");
    assert!(pending.len() >= 3, "{pending:?}");
    let mut outcomes: Vec<(i64, Option<String>)> =
        pending.iter().map(|pending| (pending.id, None)).collect();
    outcomes[1].1 = Some("at_ms: is required".to_owned());
    outbox.settle(&outcomes).expect("settled");
    let stats = outbox.stats().expect("stats");
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.delivered, pending.len() as u64 - 1);
    assert_eq!(stats.rejected, 1);
    // Settling the same batch again (a delivery that raced a restart) changes nothing.
    outbox.settle(&outcomes).expect("settled again");
    let again = outbox.stats().expect("stats");
    assert_eq!(
        (again.delivered, again.rejected),
        (stats.delivered, stats.rejected)
    );
}
