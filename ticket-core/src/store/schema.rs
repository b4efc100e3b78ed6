//! Schema migrations, applied in order at start-up and by `hotline admin migrate`.
//! `PRAGMA user_version` records how far a database has come; a migration is never
//! edited once released, only followed by a new one.

use rusqlite::{Connection, TransactionBehavior};

use super::storage;
use crate::domain::CoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE organisations (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        parent_id INTEGER REFERENCES organisations(id),
        region_code TEXT,
        industry_scope TEXT NOT NULL DEFAULT '[]',
        contact_emails TEXT NOT NULL DEFAULT '[]',
        -- '/1/4/17/': ancestors' ids, for subtree checks with a prefix match
        path TEXT NOT NULL
    );
    CREATE INDEX organisations_path ON organisations(path);

    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        org_id INTEGER NOT NULL REFERENCES organisations(id),
        email TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
    );

    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,          -- SHA-256 of the token; the token itself is never stored
        user_id INTEGER NOT NULL REFERENCES users(id),
        label TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );

    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL UNIQUE,
        request_id TEXT UNIQUE,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        priority TEXT NOT NULL,
        state TEXT NOT NULL,
        topic TEXT NOT NULL,
        caller_phone TEXT NOT NULL,
        caller_name TEXT NOT NULL DEFAULT '',
        caller_resident_id TEXT NOT NULL DEFAULT '',
        caller_email TEXT NOT NULL DEFAULT '',
        employer_name TEXT NOT NULL DEFAULT '',
        employer_key TEXT NOT NULL DEFAULT '',  -- USCC, else the normalised name
        employer_uscc TEXT NOT NULL DEFAULT '',
        employer_region TEXT NOT NULL DEFAULT '',
        employer_industry TEXT NOT NULL DEFAULT '',
        place_region TEXT NOT NULL DEFAULT '',
        place_detail TEXT NOT NULL DEFAULT '',
        workers INTEGER NOT NULL,
        description TEXT NOT NULL,
        urgent INTEGER NOT NULL DEFAULT 0,
        disposition_reason TEXT NOT NULL DEFAULT '',
        duplicate_of INTEGER,
        forwarded_to TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        closed_at INTEGER,
        created_by INTEGER NOT NULL REFERENCES users(id),
        intake_org_id INTEGER NOT NULL REFERENCES organisations(id),
        version INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX tickets_caller ON tickets(caller_phone, id);
    CREATE INDEX tickets_employer ON tickets(employer_key, created_at);
    CREATE INDEX tickets_created ON tickets(created_at);
    CREATE INDEX tickets_state ON tickets(state, id);

    CREATE TABLE ticket_notes (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        at INTEGER NOT NULL,
        author_id INTEGER NOT NULL REFERENCES users(id),
        text TEXT NOT NULL
    );
    CREATE INDEX ticket_notes_ticket ON ticket_notes(ticket_id);

    CREATE TABLE ticket_duplicates (
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        candidate_id INTEGER NOT NULL REFERENCES tickets(id),
        PRIMARY KEY (ticket_id, candidate_id)
    );

    -- Words of the ticket, segmented (jieba) and joined by spaces, so FTS5's
    -- unicode61 tokenizer indexes Chinese words such as 欠薪.
    CREATE VIRTUAL TABLE ticket_text USING fts5(words, tokenize = 'unicode61');

    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        call_uuid TEXT NOT NULL UNIQUE,
        caller_phone TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        offered_at INTEGER,
        answered_at INTEGER,
        ended_at INTEGER,
        answered_by TEXT NOT NULL DEFAULT '',
        queue TEXT NOT NULL DEFAULT '',
        recording_path TEXT NOT NULL DEFAULT '',
        recording_sha256 TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX calls_caller ON calls(caller_phone, id);

    CREATE TABLE call_events (
        event_id TEXT PRIMARY KEY,      -- the sender's idempotency key
        call_id INTEGER NOT NULL REFERENCES calls(id),
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        queue TEXT NOT NULL DEFAULT '',
        agent TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX call_events_call ON call_events(call_id, at);

    CREATE TABLE ticket_calls (
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        call_id INTEGER NOT NULL REFERENCES calls(id),
        PRIMARY KEY (ticket_id, call_id)
    );
    CREATE INDEX ticket_calls_call ON ticket_calls(call_id);

    CREATE TABLE work_orders (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        org_id INTEGER NOT NULL REFERENCES organisations(id),
        state TEXT NOT NULL,
        rule TEXT NOT NULL,
        dispatch_reason TEXT NOT NULL,
        dispatched_at INTEGER NOT NULL,
        sign_due_at INTEGER,
        reply_due_at INTEGER,
        closed_at INTEGER,
        body TEXT NOT NULL,             -- the whole current state as JSON
        version INTEGER NOT NULL DEFAULT 1,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX work_orders_ticket ON work_orders(ticket_id);
    CREATE INDEX work_orders_org ON work_orders(org_id, state);
    CREATE INDEX work_orders_due ON work_orders(state, reply_due_at);

    -- The append-only log: every change, with who, when, why, before and after.
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_id INTEGER NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        before_json TEXT NOT NULL DEFAULT '',
        after_json TEXT NOT NULL DEFAULT '',
        ticket_id INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX events_ticket ON events(ticket_id, seq);
    CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

    CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    "#,
    // 2: what the dispatcher needs: submission for routing, the manual queue,
    // worker notices, alerts.
    r#"
    ALTER TABLE tickets ADD COLUMN submitted_at INTEGER;
    ALTER TABLE tickets ADD COLUMN manual_dispatch_reason TEXT NOT NULL DEFAULT '';

    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        emailed_to TEXT NOT NULL DEFAULT '',
        dedup_key TEXT UNIQUE,
        created_at INTEGER NOT NULL,
        created_by INTEGER NOT NULL REFERENCES users(id)
    );
    CREATE INDEX notices_ticket ON notices(ticket_id);

    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        ticket_ids TEXT NOT NULL DEFAULT '[]',
        region_code TEXT NOT NULL DEFAULT '',
        raised_at INTEGER NOT NULL,
        raised_by TEXT NOT NULL,
        acknowledged_at INTEGER,
        acknowledged_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX alerts_raised ON alerts(raised_at);
    "#,
    // 3: the figures supervisors watch, as columns, so reports over millions of work
    // orders need no JSON parsing.
    r#"
    ALTER TABLE work_orders ADD COLUMN signed_at INTEGER;
    ALTER TABLE work_orders ADD COLUMN replied_at INTEGER;
    ALTER TABLE work_orders ADD COLUMN callback_result TEXT NOT NULL DEFAULT '';
    ALTER TABLE work_orders ADD COLUMN amount_recovered_fen INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE work_orders ADD COLUMN workers_helped INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE work_orders ADD COLUMN urge_count INTEGER NOT NULL DEFAULT 0;
    UPDATE work_orders SET
        signed_at = json_extract(body, '$.signed_at'),
        replied_at = json_extract(body, '$.replied_at'),
        callback_result = COALESCE(json_extract(body, '$.callback_result'), ''),
        amount_recovered_fen = COALESCE(json_extract(body, '$.reply.amount_recovered_fen'), 0),
        workers_helped = COALESCE(json_extract(body, '$.reply.workers_helped'), 0),
        urge_count = COALESCE(json_extract(body, '$.urge_count'), 0);
    CREATE INDEX work_orders_dispatched ON work_orders(dispatched_at);
    CREATE INDEX calls_offered ON calls(offered_at);
    "#,
    // 4: a monthly report over millions of tickets reads indexes only: each union's work
    // orders dispatched, or due, in the period, with every column their figures need
    // (otherwise each union's whole history is read row by row), and the tickets of the
    // period with the columns they are counted by.
    r#"
    CREATE INDEX work_orders_org_dispatched ON work_orders(org_id, dispatched_at, state,
        signed_at, sign_due_at, urge_count, callback_result, replied_at, amount_recovered_fen,
        workers_helped);
    CREATE INDEX work_orders_org_reply_due ON work_orders(org_id, reply_due_at, state,
        replied_at, sign_due_at);
    CREATE INDEX tickets_created_figures ON tickets(created_at, channel, kind, topic,
        employer_region, place_region, employer_industry, employer_key, employer_name);
    "#,
    // 5: tickets_created_figures (4) leads with created_at, so the narrower index is only
    // a cost on every ticket written.
    r#"
    DROP INDEX tickets_created;
    "#,
    // 6: every creation looks for open tickets about the same employer and topic; with
    // the topic and state in the index it reads only those entries, instead of fetching
    // every row the employer had in the window to test them. tickets_employer served
    // only that search.
    r#"
    CREATE INDEX tickets_employer_topic ON tickets(employer_key, topic, created_at, state);
    DROP INDEX tickets_employer;
    "#,
];

/// The schema version this build expects.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies every migration the database lacks, each in its own transaction.
/// Returns the versions applied.
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>, CoreError> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(storage)?;
    if current > LATEST {
        return Err(CoreError::Storage(format!(
            "the database is at schema version {current}, newer than this program's {LATEST}: \
             run a newer hotline"
        )));
    }
    let mut applied = Vec::new();
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(storage)?;
        tx.execute_batch(sql).map_err(storage)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(storage)?;
        tx.commit().map_err(storage)?;
        applied.push(version);
    }
    Ok(applied)
}
