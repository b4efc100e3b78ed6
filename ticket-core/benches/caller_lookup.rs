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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hotline_api::ticket::v1 as pb;
use hotline_workflow::employer::employer_key;
use hotline_workflow::work_order::{WorkOrder, WorkOrderState};
use pb::ticket_service_client::TicketServiceClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::types::Value;
use rusqlite::{Connection, params};
use ticket_core::app::DATABASE_FILE;
use ticket_core::domain::actor::actor_for_token;
use ticket_core::domain::{Actor, TicketCore};
use ticket_core::store::{self, calls, tickets, work_orders};
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;

use common::{ServerKind, cpu_line, cpu_sample, env_or, env_secs, latency_line};

const LIMIT: i64 = 20;
const DAY_MS: i64 = 86_400_000;

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

/// Caller `k`'s number: distinct for every k below 10^8, all starting 138.
fn caller_phone(k: usize) -> String {
    format!("138{:08}", (k as u64 * 48_271 + 12_345) % 100_000_000)
}

/// A caller index with the skew of real traffic: density falls as k^(-1/3), so the most
/// frequent caller has a few hundred tickets in a million and the least a couple.
fn skewed_caller(rng: &mut StdRng, callers: usize) -> usize {
    let u: f64 = rng.random();
    ((callers as f64 * u.powf(1.5)) as usize).min(callers - 1)
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
    let load = prepare_database(&config, &dir, &path);
    let token = common::issue_token(&path, "agent01");

    let server_rt = common::runtime("core-rt");
    let client_rt = common::runtime("client-rt");
    let actor = {
        let conn = store::open_connection(&path, false).expect("open");
        actor_for_token(&conn, &token)
            .expect("token query")
            .expect("agent01's token")
    };

    let raw = raw_reference(&config, &path, &actor);
    println!(
        "SQLite, same queries on one connection, one thread: {:.0} lookups/s; {}",
        raw.rate,
        latency_line(&raw.histogram)
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

struct Load {
    tickets: i64,
    calls: i64,
    work_orders: i64,
    bytes: u64,
    seconds: f64,
    reused: bool,
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("count")
}

/// Loads the tickets unless `path` already holds as many (a kept `LOOKUP_DB_DIR`).
fn prepare_database(config: &Config, dir: &Path, path: &Path) -> Load {
    std::fs::create_dir_all(dir).expect("data dir");
    let started = Instant::now();
    let mut conn = store::open_connection(path, true).expect("open");
    store::schema::migrate(&mut conn).expect("migrate");
    let now = chrono::Utc::now().timestamp_millis();
    ticket_core::admin::seed_if_empty(&mut conn, now).expect("seed");
    let existing = count(&conn, "tickets");
    let reused = existing == config.tickets as i64;
    if !reused {
        assert_eq!(
            existing,
            0,
            "{} holds another data set; remove it or pick another LOOKUP_DB_DIR",
            path.display()
        );
        bulk_load(config, &mut conn, now);
    }
    common::warm_page_cache(path);
    let load = Load {
        tickets: count(&conn, "tickets"),
        calls: count(&conn, "calls"),
        work_orders: count(&conn, "work_orders"),
        bytes: common::database_bytes(path),
        seconds: started.elapsed().as_secs_f64(),
        reused,
    };
    println!(
        "database: {} tickets, {} calls, {} work orders, {:.0} MB, {} in {:.0} s",
        load.tickets,
        load.calls,
        load.work_orders,
        load.bytes as f64 / 1e6,
        if reused { "reused" } else { "loaded" },
        load.seconds
    );
    load
}

fn id_of(conn: &Connection, sql: &str, key: &str) -> i64 {
    conn.query_row(sql, [key], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{sql} with {key}: {e}"))
}

/// Writes the tickets, calls and work orders with plain SQL in large transactions; the
/// rows are those the service writes, minus the full-text words and the event log.
fn bulk_load(config: &Config, conn: &mut Connection, now: i64) {
    // Nothing here needs to survive a crash: a failed load is simply run again.
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;")
        .expect("load pragmas");
    let user = |name: &str| id_of(conn, "SELECT id FROM users WHERE name = ?1", name);
    let takers = [user("agent01"), user("lawyer01")];
    let centre = id_of(
        conn,
        "SELECT id FROM organisations WHERE code = ?1",
        "GD-12351",
    );
    let districts: Vec<i64> = conn
        .prepare("SELECT id FROM organisations WHERE kind = 'county' ORDER BY id")
        .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
        .expect("district unions");
    let mut rng = StdRng::seed_from_u64(42);
    let mut per_day: HashMap<String, i64> = HashMap::new();
    let span = 730 * DAY_MS;
    let first = now - span - DAY_MS;
    let report_every = (config.tickets / 10).max(1);
    let mut tx = conn.transaction().expect("begin");
    for i in 0..config.tickets {
        let created_at = first + (span as f64 * i as f64 / config.tickets as f64) as i64;
        let day = chrono::DateTime::from_timestamp_millis(created_at + 8 * 3_600_000)
            .expect("valid time")
            .format("%Y%m%d")
            .to_string();
        let sequence = per_day.entry(day.clone()).or_default();
        *sequence += 1;
        let number = format!("GD{day}{sequence:06}");
        let phone = caller_phone(skewed_caller(&mut rng, config.callers));
        let by_phone = rng.random_bool(0.9);
        let recent = now - created_at < 60 * DAY_MS;
        let roll: f64 = rng.random();
        let state = match (recent, roll) {
            (true, r) if r < 0.10 => "registered",
            (true, r) if r < 0.35 => "dispatched",
            (_, r) if r < 0.40 => "resolved_on_call",
            (_, r) if r < 0.44 => "not_accepted",
            (_, r) if r < 0.46 => "duplicate",
            (_, r) if r < 0.48 => "forwarded",
            _ => "closed",
        };
        let open = matches!(state, "registered" | "dispatched");
        let updated_at = if open {
            created_at
        } else {
            created_at + rng.random_range(60_000..20 * DAY_MS)
        };
        let employer = common::employer(rng.random_range(0..common::EMPLOYERS));
        let key = employer_key(&employer.uscc, &employer.name);
        let workers: i32 = if rng.random_bool(0.1) {
            rng.random_range(5..=40)
        } else {
            rng.random_range(1..=3)
        };
        let kind = [
            "consultation",
            "complaint",
            "complaint",
            "request",
            "legal_aid",
        ][rng.random_range(0..5)];
        let resident_id = if rng.random_bool(0.5) {
            common::resident_id(&mut rng)
        } else {
            String::new()
        };
        tx.prepare_cached(
            "INSERT INTO tickets (number, channel, kind, priority, state, topic,
                caller_phone, caller_name, caller_resident_id, employer_name, employer_key,
                employer_uscc, employer_region, employer_industry, place_detail, workers,
                description, disposition_reason, created_at, updated_at, closed_at,
                created_by, intake_org_id, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        )
        .and_then(|mut s| {
            s.execute(params![
                number,
                if by_phone { "phone" } else { "wechat" },
                kind,
                if workers >= 5 { "collective" } else { "normal" },
                state,
                common::TOPICS[rng.random_range(0..common::TOPICS.len())],
                phone,
                common::person_name(&mut rng),
                resident_id,
                employer.name,
                key,
                employer.uscc,
                employer.region_code,
                employer.industry_code,
                "",
                workers,
                common::description(&mut rng),
                if open {
                    ""
                } else {
                    "已电话回访，职工表示满意。"
                },
                created_at,
                updated_at,
                (!open).then_some(updated_at),
                takers[rng.random_range(0..takers.len())],
                centre,
                if open { 1 } else { 3 },
            ])
        })
        .expect("ticket row");
        let ticket_id = tx.last_insert_rowid();
        if by_phone {
            insert_call(&tx, &mut rng, ticket_id, &phone, created_at);
        }
        let dispatched = state == "dispatched" || (state == "closed" && rng.random_bool(0.7));
        if dispatched {
            let org = districts[rng.random_range(0..districts.len())];
            let mut lifecycle = WorkOrder::dispatched(
                created_at,
                Some(created_at + DAY_MS),
                Some(created_at + 15 * DAY_MS),
            )
            .expect("deadlines after dispatch");
            if state == "closed" {
                lifecycle.state = WorkOrderState::Closed;
                lifecycle.signed_at = Some(created_at + 3_600_000);
                lifecycle.replied_at = Some(created_at + 5 * DAY_MS);
                lifecycle.closed_at = Some(updated_at);
            }
            work_orders::insert(
                &tx,
                ticket_id,
                org,
                "region",
                "按用人单位所在地派单",
                &lifecycle,
            )
            .expect("work order");
        }
        if (i + 1) % 20_000 == 0 {
            tx.commit().expect("commit");
            tx = conn.transaction().expect("begin");
        }
        if (i + 1) % report_every == 0 {
            eprintln!("  loaded {} tickets", i + 1);
        }
    }
    common::finish_bulk_load(tx, &per_day);
    common::checkpoint_and_analyze(conn);
}

/// The call the ticket was taken on: queued, answered, ended, with a recording.
fn insert_call(conn: &Connection, rng: &mut StdRng, ticket_id: i64, phone: &str, created_at: i64) {
    let uuid = format!("{:032x}", rng.random::<u128>());
    let offered = created_at - rng.random_range(120_000..900_000);
    let answered = offered + rng.random_range(5_000..120_000);
    let ended = created_at + rng.random_range(10_000..300_000);
    conn.prepare_cached(
        "INSERT INTO calls(call_uuid, caller_phone, state, offered_at, answered_at, ended_at,
             answered_by, queue, recording_path, recording_sha256)
         VALUES (?1, ?2, 'ended', ?3, ?4, ?5, 'agent01', 'general', ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            uuid,
            phone,
            offered,
            answered,
            ended,
            format!("/var/lib/hotline/recordings/{uuid}.wav"),
            format!("{:064x}", rng.random::<u128>()),
        ])
    })
    .expect("call row");
    let call_id = conn.last_insert_rowid();
    for (kind, at, agent) in [
        ("queued", offered, ""),
        ("answered", answered, "agent01"),
        ("ended", ended, "agent01"),
    ] {
        conn.execute(
            "INSERT INTO call_events(event_id, call_id, kind, at, queue, agent) VALUES (?1, ?2, ?3, ?4, 'general', ?5)",
            rusqlite::params![format!("{uuid}:{kind}"), call_id, kind, at, agent],
        )
        .expect("call event");
    }
    tickets::link_call(conn, ticket_id, call_id).expect("ticket-call link");
}

struct Measured {
    histogram: Histogram<u64>,
    rate: f64,
}

/// The statements `TicketCore::lookup_caller` runs for an agent at the centre, on one
/// connection, with no runtime, pool or protocol around them: the ticket query with its
/// visibility condition, each ticket's links, notes and work orders, then the calls and
/// their events. Returns the ticket ids and the number of calls.
fn lookup_plain(conn: &Connection, actor: &Actor, phone: &str) -> (Vec<i64>, usize) {
    let scope = format!("{}%", actor.org_path);
    let sql = format!(
        "{} WHERE t.caller_phone = ? AND (EXISTS (SELECT 1 FROM organisations io WHERE io.id = t.intake_org_id AND io.path LIKE ?)
          OR EXISTS (SELECT 1 FROM work_orders w JOIN organisations wo ON wo.id = w.org_id
                     WHERE w.ticket_id = t.id AND wo.path LIKE ?)) ORDER BY t.id DESC LIMIT ?",
        tickets::TICKET_SELECT
    );
    let records = tickets::query(
        conn,
        &sql,
        vec![
            Value::from(phone.to_owned()),
            Value::from(scope.clone()),
            Value::from(scope),
            Value::from(LIMIT),
        ],
    )
    .expect("ticket query");
    let mut ids = Vec::with_capacity(records.len());
    for record in records {
        tickets::call_ids(conn, record.id).expect("call ids");
        tickets::notes(conn, record.id).expect("notes");
        tickets::duplicate_ids(conn, record.id).expect("duplicates");
        tickets::work_order_summaries(conn, record.id).expect("work orders");
        ids.push(record.id);
    }
    let calls: Vec<_> = calls::by_caller(conn, phone, LIMIT)
        .expect("calls")
        .into_iter()
        .map(|call| calls::with_details(conn, call).expect("call details"))
        .collect();
    (ids, calls.len())
}

fn raw_reference(config: &Config, path: &Path, actor: &Actor) -> Measured {
    let conn = store::open_connection(path, false).expect("open");
    let mut rng = StdRng::seed_from_u64(5);
    let mut histogram = common::histogram();
    // A short warm-up, so statement preparation is not counted.
    for _ in 0..200 {
        lookup_plain(&conn, actor, &lookup_phone(&mut rng, config.callers));
    }
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < config.reference {
        let phone = lookup_phone(&mut rng, config.callers);
        let sent = Instant::now();
        lookup_plain(&conn, actor, &phone);
        common::record(&mut histogram, sent.elapsed());
        done += 1;
    }
    Measured {
        histogram,
        rate: done as f64 / started.elapsed().as_secs_f64(),
    }
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
    rate: f64,
    count: u64,
    tickets: u64,
    calls: u64,
    capped: u64,
    errors: u64,
    cpu: String,
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
            let mut out = GrpcMeasured {
                pace: None,
                histogram: common::histogram(),
                rate: 0.0,
                count: 0,
                tickets: 0,
                calls: 0,
                capped: 0,
                errors: 0,
                cpu: String::new(),
            };
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
                let sent = match interval {
                    Some(interval) => {
                        tokio::time::sleep_until(due.into()).await;
                        let sent = due;
                        due += interval;
                        sent
                    }
                    None => Instant::now(),
                };
                let answer = grpc.lookup_caller(request).await;
                let elapsed = sent.elapsed();
                if sent < measure_from {
                    continue;
                }
                match answer {
                    Ok(answer) => {
                        let answer = answer.into_inner();
                        common::record(&mut out.histogram, elapsed);
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
    let mut total = GrpcMeasured {
        pace: None,
        histogram: common::histogram(),
        rate: 0.0,
        count: 0,
        tickets: 0,
        calls: 0,
        capped: 0,
        errors: 0,
        cpu: cpu_line(&cpu_before, &cpu_after, config.measure),
    };
    for task in tasks {
        let out = task.await.expect("client task");
        total.histogram.add(&out.histogram).expect("same bounds");
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

/// Asks 200 numbers both ways and counts the answers that differ in tickets or calls,
/// so the plain-SQLite reference is known to do the same work as the service.
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
        let ids: Vec<i64> = answer.tickets.iter().map(|t| t.id).collect();
        let (plain_ids, plain_calls) = lookup_plain(&conn, actor, &phone);
        if ids != plain_ids || answer.calls.len() != plain_calls {
            mismatches += 1;
        }
    }
    mismatches
}
