//! Plays N browser agents against a running gateway: each signs in, registers over SIP
//! over WebSocket with `+sip.ice`, goes Ready, and answers every call with WebRTC,
//! echoing the media back. Prints JSON lines (see `hotline_tests::webrtc_agents`).
//!
//!     HOTLINE_SIP_PASSWORD=… webrtc-agents --web 127.0.0.1:25080 --seats 800

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use hotline_tests::webrtc_agents::{Options, run};

#[derive(Parser)]
#[command(about = "Browser agents (WebRTC, echoing media) for the gateway's benchmarks")]
struct Args {
    /// The gateway's `ws_listen` address (page, API and SIP over WebSocket).
    #[arg(long)]
    web: SocketAddr,
    /// How many seats to play.
    #[arg(long, default_value_t = 1)]
    seats: u32,
    /// Seat names are the prefix and a four-digit number.
    #[arg(long, default_value = "webrtc")]
    prefix: String,
    /// The first seat's number.
    #[arg(long, default_value_t = 1)]
    first: u32,
    /// The seats' SIP password (also their sign-in password).
    #[arg(long, env = "HOTLINE_SIP_PASSWORD", hide_env_values = true)]
    password: String,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seats signing in at once while starting.
    #[arg(long, default_value_t = 16)]
    start_concurrency: usize,
    /// Seconds between `totals` lines.
    #[arg(long, default_value_t = 1.0)]
    report_every: f64,
    /// Print a `call` line for every call that ended (and keep going when a seat fails).
    #[arg(long)]
    per_call: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .thread_name("webrtc-agents")
        .enable_all()
        .build()?;
    runtime.block_on(run(Options {
        web: args.web,
        prefix: args.prefix,
        first: args.first,
        seats: args.seats,
        password: args.password,
        start_concurrency: args.start_concurrency,
        report_every: Duration::from_secs_f64(args.report_every.max(0.1)),
        per_call: args.per_call,
    }))
}
