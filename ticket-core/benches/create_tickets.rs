//! Durable ticket creation over gRPC, beside the SQLite ceiling measured in the same run.
//!
//! Target: at least 5,000 tickets/s from 32 concurrent clients with p99 under 20 ms,
//! each ticket acknowledged only after its commit.
//!
//! ```text
//! cargo bench -p ticket-core --bench create_tickets
//! ```
//!
//! Settings (environment):
//! - `BENCH_CLIENTS` (32): concurrent clients, each waiting for its answer before the next
//!   request (closed loop).
//! - `BENCH_WARMUP_SECS` (2), `BENCH_SECS` (10): warm-up, then the measured window;
//!   `BENCH_SECS=0` runs the SQLite references only (for profiling them).
//! - `BENCH_CHANNEL` (`per-client`): `per-client` gives each client its own connection,
//!   `shared` one connection for all, `both` runs the two one after the other.
//! - `BENCH_SERVER` (`app`): `app` measures `CoreApp` as shipped; `nodelay` the same
//!   handlers on connections with TCP_NODELAY set (see `common::ServerKind`); `both`.
//! - `BENCH_CEILING_SECS` (3), `BENCH_CEILING_BATCH` (32): the raw SQLite runs, and rows
//!   per transaction there (a closed loop of 32 clients never has more than 32 waiting).
//!
//! The server runs in this process on its own runtime with as many workers as cores; the
//! clients run on a second runtime, so CPU time can be told apart by thread name.
//! Everything shares the same cores, so the clients' cost is part of what is measured.

#[allow(dead_code)] // each program uses part of the shared module
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hotline_api::ticket::v1 as pb;
use hotline_workflow::employer::employer_key;
use pb::ticket_service_client::TicketServiceClient;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::{Connection, OpenFlags, params};
use ticket_core::app::DATABASE_FILE;
use ticket_core::domain::text;
use ticket_core::store::events::{self, NewEvent};
use ticket_core::store::{self, tickets};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel as GrpcChannel, Endpoint};

use common::{ServerKind, cpu_line, cpu_sample, env_or, env_secs, latency_line};

struct Config {
    clients: usize,
    warmup: Duration,
    measure: Duration,
    channels: Vec<ChannelMode>,
    servers: Vec<ServerKind>,
    ceiling: Duration,
    ceiling_batch: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum ChannelMode {
    PerClient,
    Shared,
}

impl ChannelMode {
    fn label(self) -> &'static str {
        match self {
            Self::PerClient => "one connection per client",
            Self::Shared => "one shared connection",
        }
    }
}

impl Config {
    fn from_env() -> Self {
        let channels = match env_or("BENCH_CHANNEL", "per-client".to_owned()).as_str() {
            "per-client" => vec![ChannelMode::PerClient],
            "shared" => vec![ChannelMode::Shared],
            "both" => vec![ChannelMode::PerClient, ChannelMode::Shared],
            other => panic!("BENCH_CHANNEL={other:?}: use per-client, shared or both"),
        };
        Self {
            clients: env_or("BENCH_CLIENTS", 32),
            warmup: env_secs("BENCH_WARMUP_SECS", 2.0),
            measure: env_secs("BENCH_SECS", 10.0),
            channels,
            servers: ServerKind::from_env("BENCH_SERVER"),
            ceiling: env_secs("BENCH_CEILING_SECS", 3.0),
            ceiling_batch: env_or("BENCH_CEILING_BATCH", 32),
        }
    }
}

fn main() {
    let config = Config::from_env();
    let machine = common::machine();
    println!("create_tickets: {machine}");

    let costs = per_ticket_costs();
    println!(
        "per-ticket CPU outside the database, one thread: jieba segmentation {:.0} µs, \
         event JSON {:.1} µs",
        costs.segment_us, costs.json_us
    );

    // The references are taken before and after the gRPC runs: on a shared machine the
    // load of other programs drifts, and the spread shows by how much.
    let references = |when: &str| {
        let (raw, writer, per_batch) = references(&config);
        println!(
            "SQLite ceiling {when}: raw inserts ({} per transaction) {raw:.0} tickets/s; the \
             writer's statements with words inside each job's savepoint {writer:.0} tickets/s \
             ({:.0} µs each); with the words once per batch, as the writer now does, \
             {per_batch:.0} tickets/s ({:.0} µs each)",
            config.ceiling_batch,
            1e6 / writer,
            1e6 / per_batch
        );
        (raw, writer, per_batch)
    };
    let before = references("before");

    let mut results = Vec::new();
    for &server in &config.servers {
        for &mode in &config.channels {
            if config.measure.is_zero() {
                continue;
            }
            let result = grpc_run(&config, server, mode);
            result.print();
            results.push(result);
        }
    }
    let after = references("after");
    let raw = (before.0 + after.0) / 2.0;

    println!();
    println!("---- result block (paste into BENCHMARKS.md) ----");
    println!("- date: {}", common::now_utc());
    println!("- machine: {machine}");
    println!(
        "- settings: {} clients, {:.0} s warm-up, {:.0} s measured",
        config.clients,
        config.warmup.as_secs_f64(),
        config.measure.as_secs_f64()
    );
    for r in &results {
        println!(
            "- gRPC CreateTicket ({}; {}): {:.0} tickets/s; latency {}",
            r.server.label(),
            r.mode.label(),
            r.rate,
            latency_line(&r.histogram)
        );
        println!(
            "  - ratio to the raw SQLite ceiling (mean of before and after): {:.2}; errors: {}; acknowledged {} of which \
             {} found committed afterwards",
            r.rate / raw,
            r.errors,
            r.acknowledged,
            r.found
        );
        println!("  - CPU by thread: {}", r.cpu);
        println!("  - CPU per ticket: {}", r.cpu_per_ticket);
    }
    println!(
        "- reference, same run: raw SQLite inserts (ticket row + FTS row + event row, {} per \
         transaction, WAL, synchronous=NORMAL): {:.0} tickets/s before the gRPC runs, {:.0} \
         after",
        config.ceiling_batch, before.0, after.0
    );
    println!(
        "- reference, same run: the writer's statements per ticket (savepoint, request id, \
         number, duplicate check, insert, event) without gRPC, words inside each job's \
         savepoint: {:.0} tickets/s before, {:.0} after",
        before.1, after.1
    );
    println!(
        "- reference, same run: the same with each batch's full-text words written after its \
         last savepoint, as the writer now does: {:.0} tickets/s before, {:.0} after",
        before.2, after.2
    );
    println!(
        "- reference, same run: jieba segmentation {:.0} µs per ticket on one core",
        costs.segment_us
    );
    println!("---- end of result block ----");
}

struct Costs {
    segment_us: f64,
    json_us: f64,
}

/// Per-ticket work done outside SQLite, timed on one thread.
fn per_ticket_costs() -> Costs {
    text::warm_up();
    let mut rng = StdRng::seed_from_u64(7);
    let requests: Vec<pb::CreateTicketRequest> = (0..2000)
        .map(|i| common::create_request(&mut rng, format!("cost-{i}")))
        .collect();
    let started = Instant::now();
    let mut total = 0;
    for r in &requests {
        total += words_of(r).len();
    }
    let segment_us = started.elapsed().as_secs_f64() * 1e6 / requests.len() as f64;
    let started = Instant::now();
    for (i, r) in requests.iter().enumerate() {
        total += event_json(r, i as i64, "GD20261122000001", 0).len();
    }
    let json_us = started.elapsed().as_secs_f64() * 1e6 / requests.len() as f64;
    assert!(total > 0);
    Costs {
        segment_us,
        json_us,
    }
}

/// The text the service segments for the full-text index.
fn words_of(r: &pb::CreateTicketRequest) -> String {
    let employer = r.employer.clone().unwrap_or_default();
    text::index_words(&format!(
        "{} {} {} {}",
        r.topic, r.description, employer.name, r.place_detail
    ))
}

/// A `ticket.created` event body of the size and shape the service writes: the new
/// ticket as JSON. Built here rather than from the domain's record type, so the
/// benchmark keeps compiling while that type grows fields.
fn event_json(r: &pb::CreateTicketRequest, id: i64, number: &str, now: i64) -> String {
    let caller = r.caller.clone().unwrap_or_default();
    let employer = r.employer.clone().unwrap_or_default();
    serde_json::json!({
        "id": id, "number": number, "channel": "phone", "kind": "complaint",
        "priority": "normal", "state": "registered", "topic": r.topic,
        "caller": {"phone": caller.phone, "name": caller.name,
                   "resident_id": caller.resident_id, "email": caller.email},
        "employer": {"name": employer.name, "uscc": employer.uscc,
                     "region_code": employer.region_code, "industry_code": employer.industry_code},
        "place_region_code": r.place_region_code, "place_detail": r.place_detail,
        "workers": r.workers, "description": r.description, "urgent": r.urgent,
        "disposition_reason": "", "duplicate_of": null, "forwarded_to": "",
        "created_at": now, "updated_at": now, "closed_at": null,
        "created_by": "agent01", "intake_org_code": "GD-12351", "version": 1,
    })
    .to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// The rows one creation leaves (ticket, FTS words, event), nothing else.
    Insert,
    /// The writer's whole statement sequence for one creation in its own savepoint, with
    /// the full-text words written inside that savepoint, as the writer did before it
    /// queued them. FTS5 flushes its pending terms to a new index segment at every
    /// savepoint, so each ticket becomes a segment of its own, later to be merged.
    Writer,
    /// As `Writer`, but the words are written after the batch's last savepoint, as the
    /// writer does now (`store::queue_words`).
    WriterWordsPerBatch,
}

/// The ticket row as `store::tickets::insert` writes it.
const INSERT_TICKET: &str = "INSERT INTO tickets (number, request_id, channel, kind, priority,
        state, topic, caller_phone, caller_name, caller_resident_id, caller_email,
        employer_name, employer_key, employer_uscc, employer_region, employer_industry,
        place_region, place_detail, workers, description, urgent,
        created_at, updated_at, created_by, intake_org_id, version)
     VALUES (?1, ?2, 'phone', 'complaint', 'normal', 'registered', ?3, ?4, ?5, ?6, '', ?7, ?8,
             ?9, ?10, ?11, '', ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18, 1)";

/// The content the references write, segmented beforehand: they measure SQLite alone.
type Prepared = Vec<(pb::CreateTicketRequest, String, String)>;

fn prepare() -> Prepared {
    let mut rng = StdRng::seed_from_u64(11);
    (0..4096)
        .map(|_| {
            let r = common::create_request(&mut rng, String::new());
            let employer = r.employer.clone().unwrap_or_default();
            let key = employer_key(&employer.uscc, &employer.name);
            let words = words_of(&r);
            (r, words, key)
        })
        .collect()
}

/// One reference database being filled straight through rusqlite, in ticket-core's
/// schema, on the connection settings the server uses, in transactions of
/// `ceiling_batch` tickets.
struct Ceiling<'a> {
    shape: Shape,
    _dir: tempfile::TempDir,
    conn: Connection,
    user_id: i64,
    org_id: i64,
    now: i64,
    since: i64,
    prepared: &'a Prepared,
    deferred: Vec<(i64, &'a String)>,
    written: usize,
    busy: Duration,
}

impl<'a> Ceiling<'a> {
    fn new(shape: Shape, prepared: &'a Prepared) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        let mut conn = store::open_connection(&path, true).expect("open");
        store::schema::migrate(&mut conn).expect("migrate");
        ticket_core::admin::seed_if_empty(&mut conn, 0).expect("seed");
        let (user_id, org_id): (i64, i64) = conn
            .query_row(
                "SELECT u.id, u.org_id FROM users u WHERE u.name = 'agent01'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .expect("agent01 exists");
        let now = chrono::Utc::now().timestamp_millis();
        Self {
            shape,
            _dir: dir,
            conn,
            user_id,
            org_id,
            now,
            since: now - 30 * 86_400_000,
            prepared,
            deferred: Vec::new(),
            written: 0,
            busy: Duration::ZERO,
        }
    }

    fn rate(&self) -> f64 {
        self.written as f64 / self.busy.as_secs_f64().max(1e-9)
    }

    /// Writes whole batches for about `slice`.
    fn run_for(&mut self, batch: usize, slice: Duration) {
        let started = Instant::now();
        while started.elapsed() < slice {
            self.batch(batch);
        }
        self.busy += started.elapsed();
    }

    fn batch(&mut self, batch: usize) {
        let prepared = self.prepared;
        self.conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        for _ in 0..batch {
            let (r, words, key) = &prepared[self.written % prepared.len()];
            let caller = r.caller.as_ref().expect("caller");
            let employer = r.employer.as_ref().expect("employer");
            let request_id = format!("ceiling-{}", self.written);
            let writer = self.shape != Shape::Insert;
            let (number, duplicates) = if writer {
                self.conn.execute_batch("SAVEPOINT job").expect("savepoint");
                assert!(
                    tickets::id_by_request(&self.conn, &request_id)
                        .expect("lookup")
                        .is_none()
                );
                let number = tickets::next_number(&self.conn, "GD", "20261122").expect("number");
                let duplicates = tickets::duplicate_candidates(
                    &self.conn,
                    &caller.phone,
                    key,
                    &r.topic,
                    self.since,
                )
                .expect("duplicates");
                (number, duplicates)
            } else {
                (format!("GD20261122{:07}", self.written), Vec::new())
            };
            self.conn
                .prepare_cached(INSERT_TICKET)
                .and_then(|mut insert| {
                    insert.execute(params![
                        number,
                        request_id,
                        r.topic,
                        caller.phone,
                        caller.name,
                        caller.resident_id,
                        employer.name,
                        key,
                        employer.uscc,
                        employer.region_code,
                        employer.industry_code,
                        r.place_detail,
                        r.workers,
                        r.description,
                        r.urgent,
                        self.now,
                        self.user_id,
                        self.org_id,
                    ])
                })
                .expect("insert");
            let id = self.conn.last_insert_rowid();
            if self.shape == Shape::WriterWordsPerBatch {
                self.deferred.push((id, words));
                tickets::link_duplicates(&self.conn, id, &duplicates).expect("link");
            } else if self.shape == Shape::Writer {
                // As `store::tickets::set_words` does, clearing any earlier words first.
                tickets::set_words(&self.conn, id, words).expect("words");
                tickets::link_duplicates(&self.conn, id, &duplicates).expect("link");
            } else {
                self.conn
                    .prepare_cached("INSERT INTO ticket_text(rowid, words) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute(params![id, words]))
                    .expect("words");
            }
            events::append(
                &self.conn,
                &NewEvent {
                    at: self.now,
                    actor: "agent01",
                    entity: "ticket",
                    entity_id: id,
                    action: "ticket.created",
                    reason: "",
                    before_json: String::new(),
                    after_json: event_json(r, id, &number, self.now),
                    ticket_id: id,
                },
            )
            .expect("event");
            if writer {
                self.conn.execute_batch("RELEASE job").expect("release");
            }
            self.written += 1;
        }
        for (id, words) in self.deferred.drain(..) {
            tickets::set_words(&self.conn, id, words).expect("words");
        }
        self.conn.execute_batch("COMMIT").expect("commit");
        if self.shape != Shape::Insert {
            events::last_seq(&self.conn).expect("last seq");
        }
    }
}

/// Tickets per second for the three reference shapes. They take turns in short slices,
/// so drift in the machine's load falls on all three alike.
fn references(config: &Config) -> (f64, f64, f64) {
    let prepared = prepare();
    let mut runs = [Shape::Insert, Shape::Writer, Shape::WriterWordsPerBatch]
        .map(|shape| Ceiling::new(shape, &prepared));
    const SLICES: u32 = 10;
    for _ in 0..SLICES {
        for run in &mut runs {
            run.run_for(config.ceiling_batch, config.ceiling / SLICES);
        }
    }
    (runs[0].rate(), runs[1].rate(), runs[2].rate())
}

struct RunResult {
    server: ServerKind,
    mode: ChannelMode,
    rate: f64,
    histogram: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
    acknowledged: usize,
    found: usize,
    rows: i64,
    cpu: String,
    cpu_per_ticket: String,
    window: Duration,
    db_bytes: u64,
}

impl RunResult {
    fn print(&self) {
        println!();
        println!(
            "gRPC CreateTicket, {}, {} ({:.1} s measured):",
            self.server.label(),
            self.mode.label(),
            self.window.as_secs_f64()
        );
        println!("  throughput: {:.0} tickets/s", self.rate);
        println!("  latency:    {}", latency_line(&self.histogram));
        println!(
            "  errors: {}{}",
            self.errors,
            self.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        println!(
            "  durability: {} acknowledged, {} of them found committed by a separate connection \
             while the server was still running; the table holds {} tickets",
            self.acknowledged, self.found, self.rows
        );
        println!(
            "  database after the run: {:.1} MB",
            self.db_bytes as f64 / 1e6
        );
        println!("  CPU by thread during the measured window: {}", self.cpu);
        println!("  CPU per ticket: {}", self.cpu_per_ticket);
    }
}

struct ClientOutcome {
    histogram: Histogram<u64>,
    measured: u64,
    last_done: Option<Instant>,
    errors: u64,
    first_error: Option<String>,
    acknowledged: Vec<(i64, String)>,
}

fn grpc_run(config: &Config, server_kind: ServerKind, mode: ChannelMode) -> RunResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let server_rt = common::runtime("core-rt");
    let client_rt = common::runtime("client-rt");
    let server = common::start_server(&server_rt, dir.path(), server_kind);
    let token = server
        .token_of("agent01")
        .expect("a fresh data dir issues agent01 a token");
    let addr = server.addr;

    let clients = config.clients;
    let warmup = config.warmup;
    let measure = config.measure;
    let (outcomes, (cpu, usage), window) = client_rt.block_on(async move {
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
        let mut channels = Vec::new();
        for i in 0..clients {
            if mode == ChannelMode::PerClient || i == 0 {
                channels.push(endpoint.connect().await.expect("connect"));
            } else {
                channels.push(channels[0].clone());
            }
        }
        let header: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
        let start = Instant::now();
        let measure_from = start + warmup;
        let end = measure_from + measure;
        let mut tasks = Vec::new();
        for (i, channel) in channels.into_iter().enumerate() {
            tasks.push(tokio::spawn(client(
                i,
                channel,
                header.clone(),
                measure_from,
                end,
            )));
        }
        tokio::time::sleep_until(measure_from.into()).await;
        let cpu_before = cpu_sample();
        tokio::time::sleep_until(end.into()).await;
        let cpu_after = cpu_sample();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("client task"));
        }
        let cpu = (
            cpu_line(&cpu_before, &cpu_after, measure),
            cpu_after.since(&cpu_before),
        );
        (outcomes, cpu, (measure_from, end))
    });

    let mut histogram = common::histogram();
    let mut measured = 0;
    let mut errors = 0;
    let mut first_error = None;
    let mut last_done = window.1;
    let mut acknowledged = Vec::new();
    for o in outcomes {
        histogram.add(&o.histogram).expect("same bounds");
        measured += o.measured;
        errors += o.errors;
        first_error = first_error.or(o.first_error);
        if let Some(done) = o.last_done {
            last_done = last_done.max(done);
        }
        acknowledged.extend(o.acknowledged);
    }
    let seconds = (last_done - window.0).as_secs_f64();

    let db_path = dir.path().join(DATABASE_FILE);
    let (found, rows) = verify(&db_path, &acknowledged);
    server.stop(&server_rt);
    let db_bytes = ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            std::fs::metadata(format!("{}{suffix}", db_path.display()))
                .ok()
                .map(|m| m.len())
        })
        .sum();
    RunResult {
        server: server_kind,
        mode,
        rate: measured as f64 / seconds,
        histogram,
        errors,
        first_error,
        acknowledged: acknowledged.len(),
        found,
        rows,
        cpu,
        cpu_per_ticket: usage
            .iter()
            .map(|(name, secs)| {
                // The CPU window is the nominal one; the tickets finished in it are the
                // rate times its length.
                let tickets = measured as f64 / seconds * measure.as_secs_f64();
                format!("{name} {:.0} µs", secs * 1e6 / tickets.max(1.0))
            })
            .collect::<Vec<_>>()
            .join(", "),
        window: last_done - window.0,
        db_bytes,
    }
}

/// One client: creates tickets back to back until `end`; latencies of requests sent
/// from `measure_from` on are recorded.
async fn client(
    index: usize,
    channel: GrpcChannel,
    header: MetadataValue<tonic::metadata::Ascii>,
    measure_from: Instant,
    end: Instant,
) -> ClientOutcome {
    let mut grpc = TicketServiceClient::new(channel);
    let mut rng = StdRng::seed_from_u64(1000 + index as u64);
    let mut out = ClientOutcome {
        histogram: common::histogram(),
        measured: 0,
        last_done: None,
        errors: 0,
        first_error: None,
        acknowledged: Vec::new(),
    };
    let mut sequence = 0u64;
    while Instant::now() < end {
        sequence += 1;
        // A request id, as a client that retries on a lost answer sends one.
        let body = common::create_request(&mut rng, format!("bench-{index}-{sequence}"));
        let mut request = tonic::Request::new(body);
        request
            .metadata_mut()
            .insert("authorization", header.clone());
        let sent = Instant::now();
        let answer = grpc.create_ticket(request).await;
        let done = Instant::now();
        match answer {
            Ok(ticket) => {
                let ticket = ticket.into_inner();
                out.acknowledged.push((ticket.id, ticket.number));
                if sent >= measure_from {
                    common::record(&mut out.histogram, done - sent);
                    out.measured += 1;
                    out.last_done = Some(done);
                }
            }
            Err(status) => {
                out.errors += 1;
                if out.first_error.is_none() {
                    out.first_error = Some(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }
    out
}

/// How many acknowledged tickets a separate connection finds with the number the client
/// was given, and how many rows the table holds. A new connection sees committed
/// transactions only, and in WAL mode a committed transaction is in the log file before
/// the commit returns, so whatever it finds survives the server being killed.
fn verify(path: &Path, acknowledged: &[(i64, String)]) -> (usize, i64) {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let mut stmt = conn
        .prepare("SELECT number FROM tickets WHERE id = ?1")
        .expect("prepare");
    let found = acknowledged
        .iter()
        .filter(|(id, number)| {
            stmt.query_row(params![id], |row| row.get::<_, String>(0))
                .is_ok_and(|stored| &stored == number)
        })
        .count();
    let rows = conn
        .query_row("SELECT COUNT(*) FROM tickets", [], |row| row.get(0))
        .expect("count");
    (found, rows)
}
