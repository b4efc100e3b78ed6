//! `LookupCaller` over gRPC on a database of a million tickets, beside the same queries
//! run straight on SQLite in the same run.
//!
//! Target: p99 under 2 ms over gRPC with 1,000,000 tickets in the database.
//!
//! ```text
//! cargo bench -p ticket-core --bench caller_lookup
//! ```
//!
//! Settings (environment):
//! - `LOOKUP_TICKETS` (1000000): tickets to load; `LOOKUP_CALLERS` (30% of that): distinct
//!   callers they come from.
//! - `LOOKUP_CLIENTS` (8): concurrent gRPC clients, closed loop.
//! - `LOOKUP_WARMUP_SECS` (2), `LOOKUP_SECS` (10): warm-up and measured window over gRPC.
//! - `LOOKUP_RATE` (500): a second gRPC run paced at this many lookups/s in all, for
//!   latency at a steady load rather than at saturation; 0 skips it.
//! - `LOOKUP_REFERENCE_SECS` (5): each of the two references (plain SQLite on one
//!   connection, and the domain call in-process without gRPC).
//! - `LOOKUP_SERVER` (`app`): `app`, `nodelay` or `both`, as `BENCH_SERVER` in
//!   create_tickets (see `common::ServerKind`).
//! - `LOOKUP_DB_DIR` (unset): keep the database in this directory and reuse it when it
//!   already holds the same number of tickets; by default it lives in a temp dir and is
//!   deleted at the end.
//!
//! The data: tickets over two years taken in at the hotline centre, each from one of the
//! callers with a skew (a few callers ring often, most once or twice); nine in ten came
//! by phone and have their call, with its three call events, linked; dispatched and most
//! closed tickets have a work order at a district union. The full-text index is left
//! empty, as a lookup does not read it. Lookups ask for callers with the same skew, and
//! one in five is a number the hotline has never seen.

#[allow(dead_code)] // each program uses part of the shared module
mod common;
mod lookup_data;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hotline_api::ticket::v1 as pb;
use pb::ticket_service_client::TicketServiceClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use rusqlite::types::Value;
use ticket_core::app::DATABASE_FILE;
use ticket_core::domain::actor::actor_for_token;
use ticket_core::domain::records::CallRecord;
use ticket_core::domain::{Actor, TicketCore};
use ticket_core::store::{self, calls, tickets};
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;

use common::{ServerKind, cpu_line, cpu_sample, env_or, env_secs, latency_line};
use lookup_data::{caller_phone, prepare_database, skewed_caller};

const LIMIT: i64 = 20;

struct Config {
    tickets: usize,
    callers: usize,
    clients: usize,
    warmup: Duration,
    measure: Duration,
    reference: Duration,
    pace: f64,
    db_dir: Option<PathBuf>,
}

impl Config {
    fn from_env() -> Self {
        let tickets = env_or("LOOKUP_TICKETS", 1_000_000usize);
        Self {
            tickets,
            callers: env_or("LOOKUP_CALLERS", (tickets * 3 / 10).max(1)),
            clients: env_or("LOOKUP_CLIENTS", 8),
            warmup: env_secs("LOOKUP_WARMUP_SECS", 2.0),
            measure: env_secs("LOOKUP_SECS", 10.0),
            reference: env_secs("LOOKUP_REFERENCE_SECS", 5.0),
            pace: env_or("LOOKUP_RATE", 500.0),
            db_dir: std::env::var_os("LOOKUP_DB_DIR").map(PathBuf::from),
        }
    }
}

/// The number one lookup asks for: mostly a known caller, one in five a new one (the
/// 199 prefix is never loaded).
fn lookup_phone(rng: &mut StdRng, callers: usize) -> String {
    if rng.random_bool(0.2) {
        format!("199{:08}", rng.random_range(0..100_000_000u32))
    } else {
        caller_phone(skewed_caller(rng, callers))
    }
}

fn main() {
    let config = Config::from_env();
    let machine = common::machine();
    println!("caller_lookup: {machine}");

    let temp = tempfile::tempdir().expect("temp dir");
    let dir = config
        .db_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    let path = dir.join(DATABASE_FILE);
    let load = prepare_database(config.tickets, config.callers, &dir, &path);
    let token = common::issue_token(&path, "agent01");

    let server_rt = common::runtime("core-rt");
    let client_rt = common::runtime("client-rt");
    let actor = {
        let conn = store::open_connection(&path, false).expect("open");
        actor_for_token(&conn, &token)
            .expect("token query")
            .expect("agent01's token")
    };

    let [raw, per_row] = raw_reference(&config, &path, &actor);
    println!(
        "SQLite, same queries on one connection, one thread: {:.0} lookups/s; {}",
        raw.rate,
        latency_line(&raw.histogram)
    );
    println!(
        "SQLite, details with one statement per ticket and call: {:.0} lookups/s; {}",
        per_row.rate,
        latency_line(&per_row.histogram)
    );
    let mut domain = None;
    let mut runs = Vec::new();
    for kind in ServerKind::from_env("LOOKUP_SERVER") {
        let server = common::start_server(&server_rt, &dir, kind);
        if domain.is_none() {
            let measured = server_rt.block_on(domain_reference(
                &config,
                server.core.clone(),
                actor.clone(),
            ));
            println!(
                "domain call in-process (no gRPC), {} tasks: {:.0} lookups/s; {}",
                config.clients,
                measured.rate,
                latency_line(&measured.histogram)
            );
            domain = Some(measured);
        }
        let mut measured =
            vec![client_rt.block_on(grpc_lookups(&config, server.addr, &token, None))];
        if config.pace > 0.0 {
            measured.push(client_rt.block_on(grpc_lookups(
                &config,
                server.addr,
                &token,
                Some(config.pace),
            )));
        }
        let mismatches =
            client_rt.block_on(cross_check(&config, server.addr, &token, &path, &actor));
        server.stop(&server_rt);
        for grpc in measured {
            println!();
            println!(
                "gRPC LookupCaller, {}, {} clients, {}:",
                kind.label(),
                config.clients,
                load_label(grpc.pace)
            );
            println!("  throughput: {:.0} lookups/s", grpc.rate);
            println!("  latency:    {}", latency_line(&grpc.histogram));
            if grpc.pace.is_some() {
                println!("  from send:  {}", latency_line(&grpc.from_send));
            }
            println!(
                "  answers: {:.1} tickets and {:.1} calls per lookup on average; {:.1}% of \
                 lookups hit the limit of {LIMIT} tickets",
                grpc.tickets as f64 / grpc.count as f64,
                grpc.calls as f64 / grpc.count as f64,
                100.0 * grpc.capped as f64 / grpc.count as f64
            );
            println!("  errors: {}", grpc.errors);
            println!("  CPU by thread during the measured window: {}", grpc.cpu);
            runs.push((kind, grpc, mismatches));
        }
        println!("  cross-check: {mismatches} of 200 lookups differ from the plain SQLite answer");
    }
    let domain = domain.expect("at least one server kind");

    println!();
    println!("---- result block (paste into BENCHMARKS.md) ----");
    println!("- date: {}", common::now_utc());
    println!("- machine: {machine}");
    println!(
        "- database: {} tickets from {} callers, {} calls, {} work orders; {:.0} MB on disk; \
         loaded in {:.0} s{}",
        load.tickets,
        config.callers,
        load.calls,
        load.work_orders,
        load.bytes as f64 / 1e6,
        load.seconds,
        if load.reused { " (reused)" } else { "" }
    );
    for (kind, grpc, mismatches) in &runs {
        println!(
            "- gRPC LookupCaller ({}), {} clients, {}, {:.0} s measured: {:.0} lookups/s; \
             latency {}",
            kind.label(),
            config.clients,
            load_label(grpc.pace),
            config.measure.as_secs_f64(),
            grpc.rate,
            latency_line(&grpc.histogram)
        );
        if grpc.pace.is_some() {
            println!(
                "  - counted from when each request was sent (a late client still from when \
                 it was due), without the pacing timer's own delay: {}",
                latency_line(&grpc.from_send)
            );
        }
        println!(
            "  - {:.1} tickets and {:.1} calls per answer on average; errors: {}; answers \
             differing from plain SQLite: {mismatches} of 200",
            grpc.tickets as f64 / grpc.count as f64,
            grpc.calls as f64 / grpc.count as f64,
            grpc.errors
        );
        println!("  - CPU by thread: {}", grpc.cpu);
    }
    println!(
        "- reference, same run: the same queries on one SQLite connection, one thread: {:.0} \
         lookups/s; latency {}",
        raw.rate,
        latency_line(&raw.histogram)
    );
    println!(
        "- reference, same run, taking turns with the one above: the details with one \
         statement per ticket and per call (as before they were fetched per kind): {:.0} \
         lookups/s; latency {}",
        per_row.rate,
        latency_line(&per_row.histogram)
    );
    println!(
        "- reference, same run: the domain call in-process without gRPC, {} tasks: {:.0} \
         lookups/s; latency {}",
        config.clients,
        domain.rate,
        latency_line(&domain.histogram)
    );
    println!("---- end of result block ----");
}

fn load_label(pace: Option<f64>) -> String {
    match pace {
        Some(rate) => format!("paced at {rate:.0} lookups/s"),
        None => "back to back (capacity)".to_owned(),
    }
}

struct Measured {
    histogram: Histogram<u64>,
    rate: f64,
}

/// A lookup's answer as plain SQLite gives it: each ticket's id and details, then the
/// calls with theirs.
type PlainAnswer = (Vec<(i64, tickets::Details)>, Vec<CallRecord>);

/// The statements `TicketCore::lookup_caller` runs for an agent at the centre, on one
/// connection, with no runtime, pool or protocol around them: the ticket query with its
/// visibility condition, the tickets' links, notes, duplicates and work orders, then the
/// calls and their events and tickets. `per_row`: the details with one statement per
/// ticket and per call, as the service fetched them before it fetched each kind for all
/// the tickets (or calls) at once.
fn lookup_plain(conn: &Connection, actor: &Actor, phone: &str, per_row: bool) -> PlainAnswer {
    let scope = format!("{}%", actor.org_path);
    let sql = format!(
        "{} WHERE t.caller_phone = ? AND (EXISTS (SELECT 1 FROM organisations io WHERE io.id = t.intake_org_id AND io.path LIKE ?)
          OR EXISTS (SELECT 1 FROM work_orders w JOIN organisations wo ON wo.id = w.org_id
                     WHERE w.ticket_id = t.id AND wo.path LIKE ?)) ORDER BY t.id DESC LIMIT ?",
        tickets::TICKET_SELECT
    );
    let params = vec![
        Value::from(phone.to_owned()),
        Value::from(scope.clone()),
        Value::from(scope),
        Value::from(LIMIT),
    ];
    let ids: Vec<i64> = tickets::query(conn, &sql, params)
        .expect("ticket query")
        .iter()
        .map(|record| record.id)
        .collect();
    let calls = calls::by_caller(conn, phone, LIMIT).expect("calls");
    if !per_row {
        let mut details = tickets::details(conn, &ids).expect("details");
        let tickets = ids
            .iter()
            .map(|id| (*id, details.remove(id).unwrap_or_default()))
            .collect();
        return (
            tickets,
            calls::with_details_all(conn, calls).expect("call details"),
        );
    }
    let tickets = ids
        .iter()
        .map(|id| {
            let details = tickets::Details {
                call_ids: tickets::call_ids(conn, *id).expect("call ids"),
                notes: tickets::notes(conn, *id).expect("notes"),
                duplicate_ids: tickets::duplicate_ids(conn, *id).expect("duplicates"),
                work_orders: tickets::work_order_summaries(conn, *id).expect("work orders"),
            };
            (*id, details)
        })
        .collect();
    let calls = calls
        .into_iter()
        .map(|call| calls::with_details(conn, call).expect("call details"))
        .collect();
    (tickets, calls)
}

/// The plain-SQLite reference, both ways (the service's statements, and one statement per
/// ticket and call for the details), taking turns lookup by lookup so that drift in the
/// machine's load falls on both alike.
fn raw_reference(config: &Config, path: &Path, actor: &Actor) -> [Measured; 2] {
    let conn = store::open_connection(path, false).expect("open");
    let mut rngs = [StdRng::seed_from_u64(5), StdRng::seed_from_u64(6)];
    let mut histograms = [common::histogram(), common::histogram()];
    let mut done = 0u64;
    let started = Instant::now();
    // The first 400 lookups warm up (statement preparation is not counted).
    while done < 400 || started.elapsed() < config.reference {
        for (way, per_row) in [false, true].into_iter().enumerate() {
            let phone = lookup_phone(&mut rngs[way], config.callers);
            let sent = Instant::now();
            lookup_plain(&conn, actor, &phone, per_row);
            if done >= 400 {
                common::record(&mut histograms[way], sent.elapsed());
            }
        }
        done += 1;
    }
    // One thread, one lookup after the other: the rate of each way is one over its mean.
    histograms.map(|histogram| Measured {
        rate: 1e6 / histogram.mean().max(1.0),
        histogram,
    })
}

async fn domain_reference(config: &Config, core: TicketCore, actor: Actor) -> Measured {
    let end = Instant::now() + config.reference;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..config.clients {
        let core = core.clone();
        let actor = actor.clone();
        let callers = config.callers;
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(300 + i as u64);
            let mut histogram = common::histogram();
            let mut done = 0u64;
            while Instant::now() < end {
                let phone = lookup_phone(&mut rng, callers);
                let sent = Instant::now();
                core.lookup_caller(&actor, &phone, LIMIT)
                    .await
                    .expect("lookup");
                common::record(&mut histogram, sent.elapsed());
                done += 1;
            }
            (histogram, done)
        }));
    }
    let mut histogram = common::histogram();
    let mut done = 0;
    for task in tasks {
        let (h, n) = task.await.expect("task");
        histogram.add(&h).expect("same bounds");
        done += n;
    }
    Measured {
        histogram,
        rate: done as f64 / started.elapsed().as_secs_f64(),
    }
}

struct GrpcMeasured {
    pace: Option<f64>,
    histogram: Histogram<u64>,
    /// Paced: from when each request was sent, except that a client already late counts
    /// from when its request was due. The timer that paces a client wakes it up to a
    /// millisecond or two after the due time (tokio's timers and epoll count whole
    /// milliseconds), which `histogram` charges to the server.
    from_send: Histogram<u64>,
    rate: f64,
    count: u64,
    tickets: u64,
    calls: u64,
    capped: u64,
    errors: u64,
    cpu: String,
}

impl GrpcMeasured {
    fn empty(cpu: String) -> Self {
        Self {
            pace: None,
            histogram: common::histogram(),
            from_send: common::histogram(),
            rate: 0.0,
            count: 0,
            tickets: 0,
            calls: 0,
            capped: 0,
            errors: 0,
            cpu,
        }
    }
}

fn bearer(token: &str) -> MetadataValue<tonic::metadata::Ascii> {
    format!("Bearer {token}").parse().expect("header")
}

/// Lookups from `config.clients` clients: back to back when `pace` is `None` (capacity),
/// else at `pace` lookups/s in all on a fixed schedule, each latency counted from the
/// moment its request was due, so a stall also counts against the requests it delayed.
async fn grpc_lookups(
    config: &Config,
    addr: std::net::SocketAddr,
    token: &str,
    pace: Option<f64>,
) -> GrpcMeasured {
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let end = measure_from + config.measure;
    let clients = config.clients;
    let interval = pace.map(|rate| Duration::from_secs_f64(clients as f64 / rate));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let channel = endpoint.connect().await.expect("connect");
        let header = bearer(token);
        let callers = config.callers;
        tasks.push(tokio::spawn(async move {
            let mut grpc = TicketServiceClient::new(channel);
            let mut rng = StdRng::seed_from_u64(500 + i as u64);
            let mut out = GrpcMeasured::empty(String::new());
            // Paced clients start spread over one interval, not all at once.
            let mut due =
                start + interval.map_or(Duration::ZERO, |iv| iv * i as u32 / clients as u32);
            while Instant::now() < end && due < end {
                let mut request = tonic::Request::new(pb::LookupCallerRequest {
                    phone: lookup_phone(&mut rng, callers),
                    limit: LIMIT as i32,
                });
                request
                    .metadata_mut()
                    .insert("authorization", header.clone());
                let (sent, started) = match interval {
                    Some(interval) => {
                        let late = Instant::now() >= due;
                        tokio::time::sleep_until(due.into()).await;
                        let sent = due;
                        due += interval;
                        (sent, if late { sent } else { Instant::now() })
                    }
                    None => (Instant::now(), Instant::now()),
                };
                let answer = grpc.lookup_caller(request).await;
                let elapsed = sent.elapsed();
                let from_send = started.elapsed();
                if sent < measure_from {
                    continue;
                }
                match answer {
                    Ok(answer) => {
                        let answer = answer.into_inner();
                        common::record(&mut out.histogram, elapsed);
                        common::record(&mut out.from_send, from_send);
                        out.count += 1;
                        out.tickets += answer.tickets.len() as u64;
                        out.calls += answer.calls.len() as u64;
                        out.capped += u64::from(answer.tickets.len() as i64 == LIMIT);
                    }
                    Err(_) => out.errors += 1,
                }
            }
            out
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = cpu_sample();
    tokio::time::sleep_until(end.into()).await;
    let cpu_after = cpu_sample();
    let mut total = GrpcMeasured::empty(cpu_line(&cpu_before, &cpu_after, config.measure));
    for task in tasks {
        let out = task.await.expect("client task");
        total.histogram.add(&out.histogram).expect("same bounds");
        total.from_send.add(&out.from_send).expect("same bounds");
        total.count += out.count;
        total.tickets += out.tickets;
        total.calls += out.calls;
        total.capped += out.capped;
        total.errors += out.errors;
    }
    total.rate = total.count as f64 / (Instant::now() - measure_from).as_secs_f64();
    total.pace = pace;
    total
}

/// Asks 200 numbers both ways and counts the answers that differ in their tickets and
/// calls or in any of their details (ids, in order), so the plain-SQLite reference is
/// known to do the same work as the service.
async fn cross_check(
    config: &Config,
    addr: std::net::SocketAddr,
    token: &str,
    path: &Path,
    actor: &Actor,
) -> usize {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut grpc = TicketServiceClient::new(channel);
    let conn = store::open_connection(path, false).expect("open");
    let mut rng = StdRng::seed_from_u64(9);
    let mut mismatches = 0;
    for _ in 0..200 {
        let phone = caller_phone(skewed_caller(&mut rng, config.callers));
        let mut request = tonic::Request::new(pb::LookupCallerRequest {
            phone: phone.clone(),
            limit: LIMIT as i32,
        });
        request
            .metadata_mut()
            .insert("authorization", bearer(token));
        let answer = grpc
            .lookup_caller(request)
            .await
            .expect("lookup")
            .into_inner();
        let served: Vec<String> = (answer.tickets.iter())
            .map(|t| {
                let orders: Vec<i64> = t.work_orders.iter().map(|w| w.id).collect();
                let notes: Vec<i64> = t.notes.iter().map(|n| n.at_ms).collect();
                format!(
                    "{} {:?} {:?} {orders:?} {notes:?}",
                    t.id, t.call_ids, t.possible_duplicates
                )
            })
            .chain(answer.calls.iter().map(|c| {
                let events: Vec<i64> = c.events.iter().map(|e| e.at_ms).collect();
                format!("call {} {events:?} {:?}", c.id, c.ticket_ids)
            }))
            .collect();
        // Against the statements the service ran before, one per ticket and call.
        let (tickets, calls) = lookup_plain(&conn, actor, &phone, true);
        let plain: Vec<String> = (tickets.iter())
            .map(|(id, d)| {
                let orders: Vec<i64> = d.work_orders.iter().map(|w| w.id).collect();
                let notes: Vec<i64> = d.notes.iter().map(|n| n.at).collect();
                format!(
                    "{id} {:?} {:?} {orders:?} {notes:?}",
                    d.call_ids, d.duplicate_ids
                )
            })
            .chain(calls.iter().map(|c| {
                let events: Vec<i64> = c.events.iter().map(|e| e.at).collect();
                format!("call {} {events:?} {:?}", c.id, c.ticket_ids)
            }))
            .collect();
        mismatches += usize::from(served != plain);
    }
    mismatches
}
