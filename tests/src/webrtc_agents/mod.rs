//! A load generator playing N browser agents against the gateway (the
//! `webrtc-agents` binary; `sip-gateway/benches/webrtc.sh` drives it): each seat
//! signs in on the page's API, registers over SIP over WebSocket as a browser does,
//! goes Ready and answers every call with WebRTC (ICE, DTLS-SRTP), echoing the
//! caller's media back like SIPp's `-rtp_echo`.
//!
//! Everything it counts goes to stdout as JSON lines: a `totals` line every
//! `report_every` (cumulative counters, calls up, its own CPU seconds), and a `call`
//! line for each call that ended.

mod media;
mod seat;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hotline_webrtc::DtlsIdentity;
use serde_json::json;

pub use media::CallCounters;
use seat::SeatContext;

/// Counters over all seats and calls (cumulative unless said otherwise).
#[derive(Default)]
pub struct Totals {
    /// Seats registered and Ready now.
    pub registered: AtomicU64,
    /// Calls answered.
    pub answered: AtomicU64,
    /// Calls answered and not yet ended (now).
    pub active: AtomicU64,
    /// Calls with SRTP keyed and not yet ended (now).
    pub connected: AtomicU64,
    /// Calls ended by the peer's BYE (or because the seat stopped).
    pub ended: AtomicU64,
    /// Calls whose transport failed (ICE, DTLS, consent).
    pub failed: AtomicU64,
    /// RTP packets decrypted.
    pub received: AtomicU64,
    /// Datagrams dropped by the transports (failed authentication and the like).
    pub dropped: AtomicU64,
    /// RTP packets echoed back.
    pub sent: AtomicU64,
    /// Echoes that could not be encrypted or sent.
    pub send_failed: AtomicU64,
    /// Packets the ended calls should have received at 50 per second while connected.
    pub expected: AtomicU64,
}

impl Totals {
    fn snapshot(&self) -> serde_json::Value {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        json!({
            "registered": get(&self.registered),
            "answered": get(&self.answered),
            "active": get(&self.active),
            "connected": get(&self.connected),
            "ended": get(&self.ended),
            "failed": get(&self.failed),
            "received": get(&self.received),
            "dropped": get(&self.dropped),
            "sent": get(&self.sent),
            "send_failed": get(&self.send_failed),
            "expected_ended": get(&self.expected),
        })
    }
}

/// Where the JSON lines go: stdout, one line at a time.
#[derive(Clone)]
pub struct Output {
    per_call: bool,
}

impl Output {
    fn line(&self, value: &serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }

    fn call(&self, user: &str, call_id: &str, counters: &CallCounters, end: &str) {
        if !self.per_call {
            return;
        }
        self.line(&json!({
            "event": "call",
            "t": unix_seconds(),
            "seat": user,
            "call_id": call_id,
            "end": end,
            "received": counters.received,
            "expected": counters.expected(),
            "rtcp_received": counters.rtcp_received,
            "dropped": counters.dropped,
            "sent": counters.sent,
            "send_failed": counters.send_failed,
            "connect_ms": counters.connect_ms,
            "media_ms": counters.media_ms,
            "failure": counters.failure,
        }));
    }
}

/// What to play.
pub struct Options {
    /// The gateway's `ws_listen`.
    pub web: SocketAddr,
    /// Seat names: `{prefix}{number:04}` for numbers `first..first + seats`.
    pub prefix: String,
    pub first: u32,
    pub seats: u32,
    pub password: String,
    /// Seats signing in at the same time while starting.
    pub start_concurrency: usize,
    pub report_every: Duration,
    /// Print a line for every call that ended.
    pub per_call: bool,
}

/// Runs every seat until one fails or the process is stopped.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let totals = Arc::new(Totals::default());
    let output = Output {
        per_call: options.per_call,
    };
    let context = Arc::new(SeatContext {
        web: options.web,
        password: options.password.clone(),
        identity: DtlsIdentity::generate()?,
        totals: totals.clone(),
        output: output.clone(),
    });
    let reporter = tokio::spawn(report(totals.clone(), output.clone(), options.report_every));
    let starting = Arc::new(tokio::sync::Semaphore::new(
        options.start_concurrency.max(1),
    ));
    let mut seats = tokio::task::JoinSet::new();
    for number in options.first..options.first + options.seats {
        let user = format!("{}{number:04}", options.prefix);
        let context = context.clone();
        let starting = starting.clone();
        let totals = totals.clone();
        seats.spawn(async move {
            // Hold a start slot until this seat is registered, so sign-ins and
            // registrations do not all land on the gateway at once.
            let permit = starting.acquire_owned().await;
            let registered_before = totals.registered.load(Ordering::Relaxed);
            let seat = tokio::spawn(seat::run(context, user.clone()));
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while totals.registered.load(Ordering::Relaxed) <= registered_before
                && tokio::time::Instant::now() < deadline
                && !seat.is_finished()
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            drop(permit);
            let result = seat.await;
            (user, result)
        });
    }
    let mut failure = None;
    while let Some(joined) = seats.join_next().await {
        let (user, result) = joined?;
        let error = match result {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error,
            Err(panic) => anyhow::anyhow!("{user}: {panic}"),
        };
        eprintln!("seat {user} stopped: {error:#}");
        failure.get_or_insert(error);
        if !options.per_call {
            break;
        }
    }
    reporter.abort();
    output.line(&totals_line(&totals));
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

async fn report(totals: Arc<Totals>, output: Output, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        output.line(&totals_line(&totals));
    }
}

fn totals_line(totals: &Totals) -> serde_json::Value {
    let mut line = totals.snapshot();
    line["event"] = json!("totals");
    line["t"] = json!(unix_seconds());
    line["cpu_seconds"] = json!(own_cpu_seconds());
    line
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// utime + stime of this process from /proc/self/stat, in seconds (USER_HZ = 100).
fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
