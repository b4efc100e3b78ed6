//! The monthly report supervisors run: `MetricsService.GetSummary` for one month, by union,
//! over gRPC, on a database of five million tickets; and, in the same run, each statement
//! `GetSummary` runs, timed alone on one SQLite connection with its query plan, so a slow
//! report shows which statement to look at.
//!
//! Target: a monthly on-time-closure report by union over 5,000,000 tickets under 2 s.
//!
//! ```text
//! cargo bench -p ticket-core --bench monthly_report
//! REPORT_TICKETS=200000 cargo bench -p ticket-core --bench monthly_report   # a quick run
//! ```
//!
//! Settings (environment):
//! - `REPORT_TICKETS` (5000000): tickets to load, spread evenly over the last 12 months.
//! - `REPORT_RUNS` (5): timed `GetSummary` calls (after one untimed warm-up call).
//! - `REPORT_DB_DIR` (unset): keep the database in this directory and reuse it when it
//!   already holds the same number of tickets; by default it lives in a temp dir and is
//!   deleted at the end.
//!
//! The data, written with plain SQL in large transactions as `caller_lookup` does: tickets
//! taken at the hotline centre, nine in ten by phone with their call linked (call events
//! are left out: no figure reads them); each ticket has its `ticket.created` event, and
//! those answered on the call a `ticket.resolved_on_call` one, since the first-contact
//! figure looks for it. About 40 % of the tickets have a work order, at one of the sample
//! province's unions (counties, cities, industry unions), dispatched within hours, with
//! a mix of outcomes: most signed and replied on time, some late, a few returned, the
//! recent ones still open and some of them overdue; callbacks mostly satisfied; each
//! work order has its dispatch event. The full-text index is left empty: no figure reads it.

#[allow(dead_code)] // each program uses part of the shared module
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone};
use hotline_api::ticket::v1 as pb;
use hotline_workflow::employer::employer_key;
use hotline_workflow::work_order::{
    CallbackResult, ReplyOutcome, ReplyRecord, WorkOrder, WorkOrderState,
};
use pb::metrics_service_client::MetricsServiceClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};
use ticket_core::app::DATABASE_FILE;
use ticket_core::domain::SystemClock;
use ticket_core::store::{self, work_orders};
use tonic::transport::Endpoint;

use common::{ServerKind, env_or};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const TARGET: Duration = Duration::from_secs(2);

struct Config {
    tickets: usize,
    runs: usize,
    db_dir: Option<PathBuf>,
}

fn main() {
    let config = Config {
        tickets: env_or("REPORT_TICKETS", 5_000_000usize),
        runs: env_or("REPORT_RUNS", 5usize).max(1),
        db_dir: std::env::var_os("REPORT_DB_DIR").map(PathBuf::from),
    };
    let machine = common::machine();
    println!("monthly_report: {machine}");
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = config
        .db_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    let path = dir.join(DATABASE_FILE);
    let load = prepare_database(&config, &dir, &path);
    let (from, to, month) = last_complete_month();
    let token = common::issue_token(&path, "supervisor01");

    let server_rt = common::runtime("core-rt");
    let client_rt = common::runtime("client-rt");
    let server = common::start_server(&server_rt, &dir, ServerKind::App);
    let request = pb::MetricsRequest {
        from_ms: from,
        to_ms: to,
        org_code: String::new(),
        top: 10,
    };
    let (times, summary, overdue_time) =
        client_rt.block_on(time_summaries(server.addr, &token, request, config.runs));
    server.stop(&server_rt);

    let breakdown = statement_breakdown(&path, from, to);
    let mut sorted = times.clone();
    sorted.sort();
    let (min, median, max) = (
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
    );
    let secs = |d: Duration| format!("{:.3} s", d.as_secs_f64());

    println!();
    println!("---- result block (paste into BENCHMARKS.md) ----");
    println!("- date: {}", common::now_utc());
    println!("- machine: {machine}");
    println!(
        "- database: {} tickets over 12 months, {} work orders, {} calls, {} events; {:.0} MB on \
         disk; {} in {:.0} s",
        load.tickets,
        load.work_orders,
        load.calls,
        load.events,
        load.bytes as f64 / 1e6,
        if load.reused { "reused" } else { "loaded" },
        load.seconds
    );
    println!(
        "- GetSummary over gRPC for {month} (supervisor01, whole province, {} tickets and {} \
         work orders dispatched in the month, {} unions): {} runs, min {}, median {}, max {} \
         (target {}: {})",
        summary.tickets,
        summary.work_orders_dispatched,
        summary.by_union.len(),
        times.len(),
        secs(min),
        secs(median),
        secs(max),
        secs(TARGET),
        if median <= TARGET { "met" } else { "missed" }
    );
    println!(
        "  - runs: {}",
        times
            .iter()
            .map(|t| secs(*t))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  - on-time closure {}/{}, timely sign-for {}/{}, overdue {}",
        summary.on_time_closure.as_ref().map_or(0, |r| r.numerator),
        summary
            .on_time_closure
            .as_ref()
            .map_or(0, |r| r.denominator),
        summary.timely_sign_for.as_ref().map_or(0, |r| r.numerator),
        summary
            .timely_sign_for
            .as_ref()
            .map_or(0, |r| r.denominator),
        summary.overdue
    );
    println!("- ListOverdue over gRPC: {}", secs(overdue_time));
    println!("- GetSummary's statements alone on one SQLite connection (second run of each):");
    for (name, elapsed, plan) in &breakdown {
        println!("  - {name}: {}; plan: {plan}", secs(*elapsed));
    }
    println!("---- end of result block ----");
}

/// [from, to) of the last complete calendar month in China time, and its name.
fn last_complete_month() -> (i64, i64, String) {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let today = chrono::Utc::now().with_timezone(&china).date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).expect("first");
    let previous = (this_month - chrono::Duration::days(1))
        .with_day(1)
        .expect("first");
    let millis = |d: NaiveDate| {
        china
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("one midnight")
            .timestamp_millis()
    };
    (
        millis(previous),
        millis(this_month),
        previous.format("%Y-%m").to_string(),
    )
}

async fn time_summaries(
    addr: std::net::SocketAddr,
    token: &str,
    request: pb::MetricsRequest,
    runs: usize,
) -> (Vec<Duration>, pb::MetricsSummary, Duration) {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let header: tonic::metadata::MetadataValue<_> =
        format!("Bearer {token}").parse().expect("header");
    let mut client =
        MetricsServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", header.clone());
            Ok(r)
        });
    let warm_up = Instant::now();
    let mut summary = client
        .get_summary(request.clone())
        .await
        .expect("GetSummary")
        .into_inner();
    println!(
        "GetSummary warm-up call: {:.3} s",
        warm_up.elapsed().as_secs_f64()
    );
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let started = Instant::now();
        summary = client
            .get_summary(request.clone())
            .await
            .expect("GetSummary")
            .into_inner();
        let elapsed = started.elapsed();
        println!("GetSummary run {}: {:.3} s", run + 1, elapsed.as_secs_f64());
        times.push(elapsed);
    }
    let started = Instant::now();
    let overdue = client
        .list_overdue(request)
        .await
        .expect("ListOverdue")
        .into_inner();
    let overdue_time = started.elapsed();
    println!(
        "ListOverdue: {} work orders in {:.3} s",
        overdue.work_orders.len(),
        overdue_time.as_secs_f64()
    );
    (times, summary, overdue_time)
}

struct Load {
    tickets: i64,
    work_orders: i64,
    calls: i64,
    events: i64,
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

fn prepare_database(config: &Config, dir: &Path, path: &Path) -> Load {
    let started = Instant::now();
    // The same start-up as the server's: schema, migrations and the sample province.
    ticket_core::app::open_database(dir, &SystemClock).expect("database opens");
    // On a kept database this includes any migration added since it was loaded.
    println!(
        "database opened and migrated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut conn = store::open_connection(path, true).expect("open");
    let existing = count(&conn, "tickets");
    let reused = existing == config.tickets as i64;
    if !reused {
        assert_eq!(
            existing,
            0,
            "{} holds another data set; remove it or pick another REPORT_DB_DIR",
            path.display()
        );
        bulk_load(config, &mut conn);
    }
    common::warm_page_cache(path);
    let load = Load {
        tickets: count(&conn, "tickets"),
        work_orders: count(&conn, "work_orders"),
        calls: count(&conn, "calls"),
        events: count(&conn, "events"),
        bytes: common::database_bytes(path),
        seconds: started.elapsed().as_secs_f64(),
        reused,
    };
    println!(
        "database: {} tickets, {} work orders, {:.0} MB, {} in {:.0} s",
        load.tickets,
        load.work_orders,
        load.bytes as f64 / 1e6,
        if reused { "reused" } else { "loaded" },
        load.seconds
    );
    load
}

fn ids(conn: &Connection, sql: &str) -> Vec<i64> {
    conn.prepare(sql)
        .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A work order's life as of `now`, dispatched `at`: old ones are mostly finished, recent
/// ones still open, and some of those past their deadlines.
fn lifecycle(rng: &mut StdRng, at: i64, now: i64) -> WorkOrder {
    let sign_due = at + DAY_MS;
    let reply_due = at + 15 * DAY_MS;
    let mut w = WorkOrder::dispatched(at, Some(sign_due), Some(reply_due)).expect("deadlines");
    w.urge_count = if rng.random_bool(0.1) {
        rng.random_range(1..=3)
    } else {
        0
    };
    if rng.random_bool(0.03) {
        w.state = WorkOrderState::Returned;
        w.return_reason = Some("不属于本辖区".into());
        w.closed_at = Some(at + rng.random_range(HOUR_MS..2 * DAY_MS));
        return w;
    }
    let signed = at
        + if rng.random_bool(0.95) {
            rng.random_range(10 * 60_000..20 * HOUR_MS)
        } else {
            rng.random_range(DAY_MS..3 * DAY_MS)
        };
    if signed > now || rng.random_bool(0.002) {
        return w; // still waiting to be signed for
    }
    w.state = WorkOrderState::Signed;
    w.signed_at = Some(signed);
    let replied = signed
        + if rng.random_bool(0.96) {
            rng.random_range(DAY_MS..13 * DAY_MS)
        } else {
            rng.random_range(15 * DAY_MS..25 * DAY_MS)
        };
    if replied > now || rng.random_bool(0.004) {
        return w;
    }
    w.state = WorkOrderState::Replied;
    w.replied_at = Some(replied);
    w.reply = Some(ReplyRecord {
        outcome: ReplyOutcome::Resolved,
        text: "已协调用人单位支付拖欠工资".into(),
        amount_recovered_fen: if rng.random_bool(0.5) {
            rng.random_range(100_000..5_000_000)
        } else {
            0
        },
        workers_helped: rng.random_range(1..=5),
    });
    let approved = replied + rng.random_range(HOUR_MS..2 * DAY_MS);
    if approved > now {
        return w;
    }
    w.state = WorkOrderState::Approved;
    w.approved_at = Some(approved);
    let called = approved + rng.random_range(HOUR_MS..3 * DAY_MS);
    if called > now {
        return w;
    }
    let roll: f64 = rng.random();
    w.callback_result = Some(match roll {
        r if r < 0.85 => CallbackResult::Satisfied,
        r if r < 0.93 => CallbackResult::BasicallySatisfied,
        r if r < 0.97 => CallbackResult::Unsatisfied,
        _ => CallbackResult::Unreachable,
    });
    w.state = WorkOrderState::Closed;
    w.closed_at = Some(called);
    w
}

fn insert_event(
    conn: &Connection,
    at: i64,
    entity: &str,
    entity_id: i64,
    action: &str,
    ticket_id: i64,
) {
    conn.prepare_cached(
        "INSERT INTO events(at, actor, entity, entity_id, action, reason, after_json, ticket_id)
         VALUES (?1, 'agent01', ?2, ?3, ?4, '', ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            at,
            entity,
            entity_id,
            action,
            format!(r#"{{"id":{entity_id},"ticket_id":{ticket_id},"at":{at}}}"#),
            ticket_id
        ])
    })
    .expect("event row");
}

/// Writes tickets, calls, work orders and events with plain SQL in large transactions.
fn bulk_load(config: &Config, conn: &mut Connection) {
    // Nothing here needs to survive a crash: a failed load is simply run again.
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;")
        .expect("load pragmas");
    let agent: i64 = conn
        .query_row("SELECT id FROM users WHERE name = 'agent01'", [], |r| {
            r.get(0)
        })
        .expect("agent01");
    let centre: i64 = conn
        .query_row(
            "SELECT id FROM organisations WHERE code = 'GD-12351'",
            [],
            |r| r.get(0),
        )
        .expect("the centre");
    let unions = ids(
        conn,
        "SELECT id FROM organisations WHERE kind IN ('county', 'city', 'industry') ORDER BY id",
    );
    assert!(!unions.is_empty(), "the sample province has unions");
    let now = chrono::Utc::now().timestamp_millis();
    let span = 365 * DAY_MS;
    let first = now - span;
    let mut rng = StdRng::seed_from_u64(7);
    let mut per_day: std::collections::HashMap<String, i64> = Default::default();
    let report_every = (config.tickets / 10).max(1);
    let mut tx = conn.transaction().expect("begin");
    for i in 0..config.tickets {
        let created_at = first + (span as f64 * i as f64 / config.tickets as f64) as i64;
        let day = chrono::DateTime::from_timestamp_millis(created_at + 8 * HOUR_MS)
            .expect("valid time")
            .format("%Y%m%d")
            .to_string();
        let sequence = per_day.entry(day.clone()).or_default();
        *sequence += 1;
        let number = format!("GD{day}{sequence:06}");
        let employer = common::employer(rng.random_range(0..common::EMPLOYERS));
        let key = employer_key(&employer.uscc, &employer.name);
        let by_phone = rng.random_bool(0.9);
        let dispatched = rng.random_bool(0.4);
        let resolved_on_call = !dispatched && rng.random_bool(0.6);
        let kind = if dispatched {
            ["request", "complaint", "legal_aid"][rng.random_range(0..3)]
        } else {
            ["consultation", "consultation", "suggestion", "hardship"][rng.random_range(0..4)]
        };
        let state = match (dispatched, resolved_on_call) {
            (true, _) => "dispatched",
            (false, true) => "resolved_on_call",
            _ => ["closed", "forwarded", "not_accepted", "duplicate"][rng.random_range(0..4)],
        };
        let workers: i32 = if rng.random_bool(0.1) {
            rng.random_range(5..=40)
        } else {
            rng.random_range(1..=3)
        };
        let phone = common::mobile(&mut rng);
        tx.prepare_cached(
            "INSERT INTO tickets (number, channel, kind, priority, state, topic, caller_phone,
                caller_name, employer_name, employer_key, employer_uscc, employer_region,
                employer_industry, workers, description, created_at, updated_at, created_by,
                intake_org_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16,
                     ?17, ?18)",
        )
        .and_then(|mut s| {
            s.execute(params![
                number,
                if by_phone {
                    "phone"
                } else {
                    ["wechat", "web", "letter", "visit"][rng.random_range(0..4)]
                },
                kind,
                if workers >= 5 { "collective" } else { "normal" },
                state,
                common::TOPICS[rng.random_range(0..common::TOPICS.len())],
                phone,
                common::person_name(&mut rng),
                employer.name,
                key,
                employer.uscc,
                employer.region_code,
                employer.industry_code,
                workers,
                common::description(&mut rng),
                created_at,
                agent,
                centre,
            ])
        })
        .expect("ticket row");
        let ticket_id = tx.last_insert_rowid();
        insert_event(
            &tx,
            created_at,
            "ticket",
            ticket_id,
            "ticket.created",
            ticket_id,
        );
        if by_phone {
            let offered = created_at - rng.random_range(120_000..900_000);
            let answered = offered + rng.random_range(5_000..120_000);
            tx.prepare_cached(
                "INSERT INTO calls(call_uuid, caller_phone, state, offered_at, answered_at, ended_at,
                     answered_by, queue)
                 VALUES (?1, ?2, 'ended', ?3, ?4, ?5, 'agent01', 'general')",
            )
            .and_then(|mut s| {
                s.execute(params![
                    format!("{:032x}", rng.random::<u128>()),
                    phone,
                    offered,
                    answered,
                    created_at + rng.random_range(10_000..300_000)
                ])
            })
            .expect("call row");
            let call_id = tx.last_insert_rowid();
            store::tickets::link_call(&tx, ticket_id, call_id).expect("ticket-call link");
        }
        if resolved_on_call {
            insert_event(
                &tx,
                created_at + 60_000,
                "ticket",
                ticket_id,
                "ticket.resolved_on_call",
                ticket_id,
            );
        }
        if dispatched {
            let at = created_at + rng.random_range(10 * 60_000..4 * HOUR_MS);
            let org = unions[rng.random_range(0..unions.len())];
            let w = lifecycle(&mut rng, at, now);
            let id = work_orders::insert(&tx, ticket_id, org, "region", "按用人单位所在地派单", &w)
                .expect("work order");
            insert_event(
                &tx,
                at,
                "work_order",
                id,
                "work_order.dispatched",
                ticket_id,
            );
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

/// The statements of `TicketCore::metrics_summary` for the whole province, as written in
/// ticket-core/src/domain/metrics.rs (keep in step), each with its parameters.
fn summary_statements(
    like: &str,
    from: i64,
    to: i64,
    now: i64,
) -> Vec<(&'static str, String, Vec<Value>)> {
    let scoped = || {
        vec![
            Value::from(like.to_owned()),
            from.into(),
            to.into(),
            now.into(),
        ]
    };
    let period = || vec![Value::from(from), to.into()];
    let dispatch = "SELECT o.code, o.name, COUNT(*),
        SUM(w.state = 'returned'),
        SUM(w.signed_at IS NOT NULL AND w.signed_at <= w.sign_due_at),
        SUM(w.signed_at IS NOT NULL OR (w.state <> 'returned' AND w.sign_due_at < ?4)),
        SUM(w.urge_count),
        SUM(w.callback_result IN ('satisfied', 'basically_satisfied')),
        SUM(w.callback_result IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
        SUM(CASE WHEN w.replied_at IS NOT NULL THEN w.amount_recovered_fen ELSE 0 END),
        SUM(CASE WHEN w.replied_at IS NOT NULL THEN w.workers_helped ELSE 0 END)
   FROM work_orders w JOIN organisations o ON o.id = w.org_id
  WHERE o.path LIKE ?1 AND w.dispatched_at >= ?2 AND w.dispatched_at < ?3
  GROUP BY o.id ORDER BY o.path";
    let due = "SELECT o.code, SUM(w.replied_at IS NOT NULL AND w.replied_at <= w.reply_due_at),
        SUM(w.replied_at IS NOT NULL OR w.reply_due_at < ?4)
   FROM work_orders w JOIN organisations o ON o.id = w.org_id
  WHERE o.path LIKE ?1 AND w.state <> 'returned' AND w.reply_due_at >= ?2 AND w.reply_due_at < ?3
  GROUP BY o.id";
    let overdue = "SELECT o.code, COUNT(*) FROM work_orders w JOIN organisations o ON o.id = w.org_id WHERE o.path LIKE ?1 AND ((w.state = 'dispatched' AND w.sign_due_at < ?2)
        OR (w.state IN ('dispatched', 'signed') AND w.reply_due_at < ?2)) GROUP BY o.id";
    let base = "FROM tickets t WHERE t.created_at >= ?1 AND t.created_at < ?2 AND 1";
    let mut statements = vec![
        (
            "work orders dispatched, by union",
            dispatch.to_owned(),
            scoped(),
        ),
        (
            "reply deadlines in the month, by union",
            due.to_owned(),
            scoped(),
        ),
        (
            "overdue now, by union",
            overdue.to_owned(),
            vec![Value::from(like.to_owned()), now.into()],
        ),
        (
            "tickets and first-contact resolution",
            format!(
                "SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM events e
                 WHERE e.ticket_id = t.id AND e.action = 'ticket.resolved_on_call')), 0) {base}"
            ),
            period(),
        ),
    ];
    for (name, expr, label) in [
        ("tickets by channel", "t.channel", "t.channel"),
        ("tickets by kind", "t.kind", "t.kind"),
        ("tickets by topic", "t.topic", "t.topic"),
        (
            "tickets by region",
            "COALESCE(NULLIF(t.employer_region, ''), t.place_region)",
            "''",
        ),
        ("tickets by industry", "t.employer_industry", "''"),
        ("tickets by employer", "t.employer_key", "t.employer_name"),
    ] {
        let mut params = period();
        params.push(Value::from(10i64));
        statements.push((
            name,
            format!(
                "SELECT {expr} AS k, MAX({label}), COUNT(*) {base} AND {expr} <> '' GROUP BY k ORDER BY COUNT(*) DESC, k LIMIT ?3"
            ),
            params,
        ));
    }
    statements.push((
        "calls",
        "SELECT COUNT(*), COALESCE(SUM(answered_at IS NOT NULL), 0), COALESCE(SUM(state = 'abandoned'), 0),
                AVG(CASE WHEN answered_at IS NOT NULL THEN answered_at - offered_at END)
           FROM calls WHERE offered_at >= ?1 AND offered_at < ?2"
            .to_owned(),
        period(),
    ));
    statements
}

/// Each statement's time (second run, so the page cache is warm) and query plan.
fn statement_breakdown(path: &Path, from: i64, to: i64) -> Vec<(&'static str, Duration, String)> {
    let conn = store::open_connection(path, false).expect("open");
    let root: String = conn
        .query_row(
            "SELECT path FROM organisations WHERE parent_id IS NULL ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("root");
    let now = chrono::Utc::now().timestamp_millis();
    let mut out = Vec::new();
    for (name, sql, values) in summary_statements(&format!("{root}%"), from, to, now) {
        let mut stmt = conn.prepare(&sql).unwrap_or_else(|e| panic!("{name}: {e}"));
        let columns = stmt.column_count();
        let mut run = || {
            let started = Instant::now();
            let mut rows = stmt.query(params_from_iter(values.iter())).expect("query");
            while let Some(row) = rows.next().expect("row") {
                for i in 0..columns {
                    let _: Value = row.get(i).expect("column");
                }
            }
            started.elapsed()
        };
        run();
        let elapsed = run();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .and_then(|mut s| {
                s.query_map(params_from_iter(values.iter()), |r| r.get::<_, String>(3))?
                    .collect()
            })
            .expect("plan");
        out.push((name, elapsed, plan.join(" | ")));
    }
    let single_pass = || one_pass_ticket_counts(&conn, from, to);
    single_pass();
    out.push((
        "proposal: the six ticket breakdowns in one pass, counted in Rust",
        single_pass(),
        "SEARCH tickets USING COVERING INDEX tickets_created_figures (one range scan)".to_owned(),
    ));
    out
}

/// What the six "tickets by …" statements find, from one range scan instead of six, each
/// with its own sort: the change measured here for `metrics::ticket_figures` (the names
/// of the ten employers shown would then be read by key).
fn one_pass_ticket_counts(conn: &Connection, from: i64, to: i64) -> Duration {
    let started = Instant::now();
    let mut counts: [std::collections::HashMap<String, i64>; 6] = Default::default();
    let mut stmt = conn
        .prepare(
            "SELECT channel, kind, topic, COALESCE(NULLIF(employer_region, ''), place_region),
                    employer_industry, employer_key
               FROM tickets WHERE created_at >= ?1 AND created_at < ?2",
        )
        .expect("one-pass statement");
    let mut rows = stmt.query(params![from, to]).expect("query");
    while let Some(row) = rows.next().expect("row") {
        for (i, map) in counts.iter_mut().enumerate() {
            let key: String = row.get(i).expect("column");
            if !key.is_empty() {
                *map.entry(key).or_default() += 1;
            }
        }
    }
    for map in counts {
        let mut top: Vec<(String, i64)> = map.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(10);
    }
    started.elapsed()
}
