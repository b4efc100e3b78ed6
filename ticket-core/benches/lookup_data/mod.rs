//! The caller-lookup benchmark's data set: a million tickets (by default) with their
//! calls and work orders, bulk-loaded with SQL, and the callers they come from.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use hotline_workflow::employer::employer_key;
use hotline_workflow::work_order::{WorkOrder, WorkOrderState};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};
use ticket_core::store::{self, tickets, work_orders};

use crate::common;

const DAY_MS: i64 = 86_400_000;

/// Caller `k`'s number: distinct for every k below 10^8, all starting 138.
pub fn caller_phone(k: usize) -> String {
    format!("138{:08}", (k as u64 * 48_271 + 12_345) % 100_000_000)
}

/// A caller index with the skew of real traffic: density falls as k^(-1/3), so the most
/// frequent caller has a few hundred tickets in a million and the least a couple.
pub fn skewed_caller(rng: &mut StdRng, callers: usize) -> usize {
    let u: f64 = rng.random();
    ((callers as f64 * u.powf(1.5)) as usize).min(callers - 1)
}

pub struct Load {
    pub tickets: i64,
    pub calls: i64,
    pub work_orders: i64,
    pub bytes: u64,
    pub seconds: f64,
    pub reused: bool,
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("count")
}

/// Loads the tickets unless `path` already holds as many (a kept `LOOKUP_DB_DIR`).
pub fn prepare_database(tickets: usize, callers: usize, dir: &Path, path: &Path) -> Load {
    std::fs::create_dir_all(dir).expect("data dir");
    let started = Instant::now();
    let mut conn = store::open_connection(path, true).expect("open");
    store::schema::migrate(&mut conn).expect("migrate");
    let now = chrono::Utc::now().timestamp_millis();
    ticket_core::admin::seed_if_empty(&mut conn, now).expect("seed");
    let existing = count(&conn, "tickets");
    let reused = existing == tickets as i64;
    if !reused {
        assert_eq!(
            existing,
            0,
            "{} holds another data set; remove it or pick another LOOKUP_DB_DIR",
            path.display()
        );
        bulk_load(tickets, callers, &mut conn, now);
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
fn bulk_load(tickets: usize, callers: usize, conn: &mut Connection, now: i64) {
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
    let report_every = (tickets / 10).max(1);
    let mut tx = conn.transaction().expect("begin");
    for i in 0..tickets {
        let created_at = first + (span as f64 * i as f64 / tickets as f64) as i64;
        let day = chrono::DateTime::from_timestamp_millis(created_at + 8 * 3_600_000)
            .expect("valid time")
            .format("%Y%m%d")
            .to_string();
        let sequence = per_day.entry(day.clone()).or_default();
        *sequence += 1;
        let number = format!("GD{day}{sequence:06}");
        let phone = caller_phone(skewed_caller(&mut rng, callers));
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
