//! Ticket rows, their notes, links and search index.

use std::collections::HashMap;

use hotline_workflow::ticket::TicketState;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::storage;
use crate::domain::CoreError;
use crate::domain::records::{
    Caller, Channel, Employer, Note, Priority, TicketKind, TicketRecord, WorkOrderSummary,
};

/// Columns of `TICKET_FROM`, in the order `ticket_from_row` reads them.
pub const TICKET_SELECT: &str = "SELECT t.id, t.number, t.channel, t.kind, t.priority, t.state, t.topic,
        t.caller_phone, t.caller_name, t.caller_resident_id, t.caller_email,
        t.employer_name, t.employer_uscc, t.employer_region, t.employer_industry,
        t.place_region, t.place_detail, t.workers, t.description, t.urgent,
        t.disposition_reason, t.duplicate_of, t.forwarded_to,
        t.created_at, t.updated_at, t.closed_at, u.name, o.code, t.version,
        t.submitted_at, t.manual_dispatch_reason
   FROM tickets t JOIN users u ON u.id = t.created_by JOIN organisations o ON o.id = t.intake_org_id";

fn text_enum<T>(row: &Row, index: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown value {text}").into(),
        )
    })
}

pub fn ticket_from_row(row: &Row) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        id: row.get(0)?,
        number: row.get(1)?,
        channel: text_enum(row, 2, Channel::parse)?,
        kind: text_enum(row, 3, TicketKind::parse)?,
        priority: text_enum(row, 4, Priority::parse)?,
        state: text_enum(row, 5, TicketState::parse)?,
        topic: row.get(6)?,
        caller: Caller {
            phone: row.get(7)?,
            name: row.get(8)?,
            resident_id: row.get(9)?,
            email: row.get(10)?,
        },
        employer: Employer {
            name: row.get(11)?,
            uscc: row.get(12)?,
            region_code: row.get(13)?,
            industry_code: row.get(14)?,
        },
        place_region_code: row.get(15)?,
        place_detail: row.get(16)?,
        workers: row.get(17)?,
        description: row.get(18)?,
        urgent: row.get(19)?,
        disposition_reason: row.get(20)?,
        duplicate_of: row.get(21)?,
        forwarded_to: row.get(22)?,
        created_at: row.get(23)?,
        updated_at: row.get(24)?,
        closed_at: row.get(25)?,
        created_by: row.get(26)?,
        intake_org_code: row.get(27)?,
        version: row.get(28)?,
        submitted_at: row.get(29)?,
        manual_dispatch_reason: row.get(30)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<TicketRecord>, CoreError> {
    conn.prepare_cached(&format!("{TICKET_SELECT} WHERE t.id = ?1"))
        .map_err(storage)?
        .query_row([id], ticket_from_row)
        .optional()
        .map_err(storage)
}

pub fn id_by_number(conn: &Connection, number: &str) -> Result<Option<i64>, CoreError> {
    conn.prepare_cached("SELECT id FROM tickets WHERE number = ?1")
        .map_err(storage)?
        .query_row([number], |row| row.get(0))
        .optional()
        .map_err(storage)
}

pub fn id_by_request(conn: &Connection, request_id: &str) -> Result<Option<i64>, CoreError> {
    conn.prepare_cached("SELECT id FROM tickets WHERE request_id = ?1")
        .map_err(storage)?
        .query_row([request_id], |row| row.get(0))
        .optional()
        .map_err(storage)
}

/// The next number of the day: prefix, date (China time), and a 6-digit daily sequence,
/// so numbers sort by time and read well on the phone: "GD20261122000123".
pub fn next_number(conn: &Connection, prefix: &str, day: &str) -> Result<String, CoreError> {
    let counter = format!("ticket:{day}");
    // An UPDATE, then a SELECT or the day's first INSERT, rather than one upsert with
    // RETURNING: SQLite collects RETURNING rows in a temporary table, built and dropped
    // at every creation on the writer thread.
    let changed = conn
        .prepare_cached("UPDATE counters SET value = value + 1 WHERE name = ?1")
        .map_err(storage)?
        .execute([&counter])
        .map_err(storage)?;
    let value: i64 = if changed == 0 {
        conn.prepare_cached("INSERT INTO counters(name, value) VALUES (?1, 1)")
            .map_err(storage)?
            .execute([&counter])
            .map_err(storage)?;
        1
    } else {
        conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")
            .map_err(storage)?
            .query_row([&counter], |row| row.get(0))
            .map_err(storage)?
    };
    Ok(format!("{prefix}{day}{value:06}"))
}

pub struct InsertTicket<'a> {
    pub record: &'a TicketRecord,
    pub employer_key: &'a str,
    pub request_id: Option<&'a str>,
    pub created_by: i64,
    pub intake_org_id: i64,
    pub words: &'a str,
}

pub fn insert(conn: &Connection, t: &InsertTicket) -> Result<i64, CoreError> {
    let r = t.record;
    conn.prepare_cached(
        "INSERT INTO tickets (number, request_id, channel, kind, priority, state, topic,
            caller_phone, caller_name, caller_resident_id, caller_email,
            employer_name, employer_key, employer_uscc, employer_region, employer_industry,
            place_region, place_detail, workers, description, urgent,
            created_at, updated_at, created_by, intake_org_id, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?22, ?23, ?24, 1)",
    )
    .map_err(storage)?
    .execute(params![
        r.number,
        t.request_id,
        r.channel.as_str(),
        r.kind.as_str(),
        r.priority.as_str(),
        r.state.as_str(),
        r.topic,
        r.caller.phone,
        r.caller.name,
        r.caller.resident_id,
        r.caller.email,
        r.employer.name,
        t.employer_key,
        r.employer.uscc,
        r.employer.region_code,
        r.employer.industry_code,
        r.place_region_code,
        r.place_detail,
        r.workers,
        r.description,
        r.urgent,
        r.created_at,
        t.created_by,
        t.intake_org_id,
    ])
    .map_err(storage)?;
    let id = conn.last_insert_rowid();
    set_words(conn, id, t.words)?;
    Ok(id)
}

/// Sets the ticket's full-text words. In a job on the writer thread they are queued and
/// written just before the batch commits (see `store::queue_words`); elsewhere at once.
pub fn set_words(conn: &Connection, id: i64, words: &str) -> Result<(), CoreError> {
    if super::queue_words(id, words) {
        return Ok(());
    }
    write_words(conn, id, words)
}

pub(crate) fn write_words(conn: &Connection, id: i64, words: &str) -> Result<(), CoreError> {
    conn.prepare_cached("DELETE FROM ticket_text WHERE rowid = ?1")
        .map_err(storage)?
        .execute([id])
        .map_err(storage)?;
    conn.prepare_cached("INSERT INTO ticket_text(rowid, words) VALUES (?1, ?2)")
        .map_err(storage)?
        .execute(params![id, words])
        .map_err(storage)?;
    Ok(())
}

/// Writes every mutable column of `r` (its version already bumped by the caller).
pub fn update(conn: &Connection, r: &TicketRecord) -> Result<(), CoreError> {
    let employer_key = hotline_workflow::employer::employer_key(&r.employer.uscc, &r.employer.name);
    conn.prepare_cached(
        "UPDATE tickets SET kind = ?2, priority = ?3, state = ?4, topic = ?5,
            caller_phone = ?6, caller_name = ?7, caller_resident_id = ?8, caller_email = ?9,
            employer_name = ?10, employer_key = ?11, employer_uscc = ?12, employer_region = ?13,
            employer_industry = ?14, place_region = ?15, place_detail = ?16, workers = ?17,
            description = ?18, urgent = ?19, disposition_reason = ?20, duplicate_of = ?21,
            forwarded_to = ?22, updated_at = ?23, closed_at = ?24, version = ?25,
            submitted_at = ?26, manual_dispatch_reason = ?27
         WHERE id = ?1",
    )
    .map_err(storage)?
    .execute(params![
        r.id,
        r.kind.as_str(),
        r.priority.as_str(),
        r.state.as_str(),
        r.topic,
        r.caller.phone,
        r.caller.name,
        r.caller.resident_id,
        r.caller.email,
        r.employer.name,
        employer_key,
        r.employer.uscc,
        r.employer.region_code,
        r.employer.industry_code,
        r.place_region_code,
        r.place_detail,
        r.workers,
        r.description,
        r.urgent,
        r.disposition_reason,
        r.duplicate_of,
        r.forwarded_to,
        r.updated_at,
        r.closed_at,
        r.version,
        r.submitted_at,
        r.manual_dispatch_reason,
    ])
    .map_err(storage)?;
    Ok(())
}

/// Most candidates a new ticket is linked to.
const MAX_CANDIDATES: usize = 20;

/// Open tickets created since `since` from the same caller, or about the same employer
/// and topic: the candidates a new ticket may duplicate, newest first, at most 20.
pub fn duplicate_candidates(
    conn: &Connection,
    caller_phone: &str,
    employer_key: &str,
    topic: &str,
    since: i64,
) -> Result<Vec<i64>, CoreError> {
    // Two plain statements merged here rather than one UNION: the UNION's removal of
    // duplicates built a temporary table at every creation, on the writer thread. The
    // newest 20 of the union are the newest 20 of the caller's newest 20 and the rest.
    let mut ids = collect_ids(
        conn,
        "SELECT id FROM tickets WHERE caller_phone = ?1 AND created_at >= ?2
             AND state IN ('registered', 'dispatched')
          ORDER BY id DESC LIMIT 20",
        params![caller_phone, since],
    )?;
    if !employer_key.is_empty() {
        ids.extend(collect_ids(
            conn,
            "SELECT id FROM tickets WHERE employer_key = ?1 AND topic = ?2 AND created_at >= ?3
                 AND state IN ('registered', 'dispatched')",
            params![employer_key, topic, since],
        )?);
    }
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.dedup();
    ids.truncate(MAX_CANDIDATES);
    Ok(ids)
}

fn collect_ids(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<i64>, CoreError> {
    conn.prepare_cached(sql)
        .map_err(storage)?
        .query_map(params, |row| row.get(0))
        .map_err(storage)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(storage)
}

pub fn link_duplicates(conn: &Connection, id: i64, candidates: &[i64]) -> Result<(), CoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO ticket_duplicates(ticket_id, candidate_id) VALUES (?1, ?2)",
        )
        .map_err(storage)?;
    for candidate in candidates {
        stmt.execute(params![id, candidate]).map_err(storage)?;
    }
    Ok(())
}

pub fn link_call(conn: &Connection, ticket_id: i64, call_id: i64) -> Result<bool, CoreError> {
    let changed = conn
        .prepare_cached("INSERT OR IGNORE INTO ticket_calls(ticket_id, call_id) VALUES (?1, ?2)")
        .map_err(storage)?
        .execute(params![ticket_id, call_id])
        .map_err(storage)?;
    Ok(changed > 0)
}

pub fn add_note(
    conn: &Connection,
    ticket_id: i64,
    at: i64,
    author_id: i64,
    text: &str,
) -> Result<(), CoreError> {
    conn.prepare_cached(
        "INSERT INTO ticket_notes(ticket_id, at, author_id, text) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(storage)?
    .execute(params![ticket_id, at, author_id, text])
    .map_err(storage)?;
    Ok(())
}

fn ids(conn: &Connection, sql: &str, id: i64) -> Result<Vec<i64>, CoreError> {
    collect_ids(conn, sql, [id])
}

pub fn call_ids(conn: &Connection, ticket_id: i64) -> Result<Vec<i64>, CoreError> {
    ids(
        conn,
        "SELECT call_id FROM ticket_calls WHERE ticket_id = ?1 ORDER BY call_id",
        ticket_id,
    )
}

pub fn duplicate_ids(conn: &Connection, ticket_id: i64) -> Result<Vec<i64>, CoreError> {
    ids(
        conn,
        "SELECT candidate_id FROM ticket_duplicates WHERE ticket_id = ?1 ORDER BY candidate_id",
        ticket_id,
    )
}

pub fn notes(conn: &Connection, ticket_id: i64) -> Result<Vec<Note>, CoreError> {
    conn.prepare_cached(
        "SELECT n.at, u.name, n.text FROM ticket_notes n JOIN users u ON u.id = n.author_id
          WHERE n.ticket_id = ?1 ORDER BY n.id",
    )
    .map_err(storage)?
    .query_map([ticket_id], |row| {
        Ok(Note {
            at: row.get(0)?,
            author: row.get(1)?,
            text: row.get(2)?,
        })
    })
    .map_err(storage)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(storage)
}

pub fn work_order_summaries(
    conn: &Connection,
    ticket_id: i64,
) -> Result<Vec<WorkOrderSummary>, CoreError> {
    conn.prepare_cached(
        "SELECT w.id, o.code, o.name, w.state FROM work_orders w JOIN organisations o ON o.id = w.org_id
          WHERE w.ticket_id = ?1 ORDER BY w.id",
    )
    .map_err(storage)?
    .query_map([ticket_id], |row| {
        Ok(WorkOrderSummary {
            id: row.get(0)?,
            org_code: row.get(1)?,
            org_name: row.get(2)?,
            state: row.get(3)?,
        })
    })
    .map_err(storage)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(storage)
}

/// Runs a ticket query built elsewhere (search, caller lookup) and returns the records.
pub fn query(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<TicketRecord>, CoreError> {
    conn.prepare_cached(sql)
        .map_err(storage)?
        .query_map(params_from_iter(params), ticket_from_row)
        .map_err(storage)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)
}

/// A list of ids as a JSON array, for `json_each(?)`: the rows of many tickets (or calls)
/// in one statement instead of one statement each.
pub(crate) fn id_array(ids: &[i64]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let listed: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", listed.join(","))
}

/// Rows of `sql` (taking the JSON id array as ?1) as (owner id, order key, value), in the
/// order of owner and key: the order the one-owner statements give their rows in.
pub(crate) fn rows_by_owner<T>(
    conn: &Connection,
    sql: &str,
    ids: &str,
    row: impl FnMut(&Row) -> rusqlite::Result<(i64, (i64, i64), T)>,
) -> Result<Vec<(i64, T)>, CoreError> {
    let mut rows = conn
        .prepare_cached(sql)
        .map_err(storage)?
        .query_map([ids], row)
        .map_err(storage)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)?;
    rows.sort_unstable_by_key(|(owner, key, _)| (*owner, *key));
    Ok(rows
        .into_iter()
        .map(|(owner, _, value)| (owner, value))
        .collect())
}

/// What the agent's screen shows around one ticket.
#[derive(Default)]
pub struct Details {
    pub call_ids: Vec<i64>,
    pub notes: Vec<Note>,
    pub duplicate_ids: Vec<i64>,
    pub work_orders: Vec<WorkOrderSummary>,
}

/// The details of every ticket of `ids`, four statements in all, each list in the order
/// `call_ids`, `notes`, `duplicate_ids` and `work_order_summaries` give it.
pub fn details(conn: &Connection, ids: &[i64]) -> Result<HashMap<i64, Details>, CoreError> {
    let mut out: HashMap<i64, Details> = ids.iter().map(|id| (*id, Details::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let ids = id_array(ids);
    // json_each first (CROSS JOIN keeps it outside): one index search per ticket, and no
    // temporary table for an IN list.
    for (id, call_id) in rows_by_owner(
        conn,
        "SELECT tc.ticket_id, tc.call_id FROM json_each(?1) j
           CROSS JOIN ticket_calls tc ON tc.ticket_id = j.value",
        &ids,
        |row| Ok((row.get(0)?, (row.get(1)?, 0), row.get(1)?)),
    )? {
        out.entry(id).or_default().call_ids.push(call_id);
    }
    for (id, note) in rows_by_owner(
        conn,
        "SELECT n.ticket_id, n.id, n.at, u.name, n.text FROM json_each(?1) j
           CROSS JOIN ticket_notes n ON n.ticket_id = j.value
           JOIN users u ON u.id = n.author_id",
        &ids,
        |row| {
            let note = Note {
                at: row.get(2)?,
                author: row.get(3)?,
                text: row.get(4)?,
            };
            Ok((row.get(0)?, (row.get(1)?, 0), note))
        },
    )? {
        out.entry(id).or_default().notes.push(note);
    }
    for (id, candidate) in rows_by_owner(
        conn,
        "SELECT d.ticket_id, d.candidate_id FROM json_each(?1) j
           CROSS JOIN ticket_duplicates d ON d.ticket_id = j.value",
        &ids,
        |row| Ok((row.get(0)?, (row.get(1)?, 0), row.get(1)?)),
    )? {
        out.entry(id).or_default().duplicate_ids.push(candidate);
    }
    for (id, summary) in rows_by_owner(
        conn,
        "SELECT w.ticket_id, w.id, o.code, o.name, w.state FROM json_each(?1) j
           CROSS JOIN work_orders w ON w.ticket_id = j.value
           JOIN organisations o ON o.id = w.org_id",
        &ids,
        |row| {
            let summary = WorkOrderSummary {
                id: row.get(1)?,
                org_code: row.get(2)?,
                org_name: row.get(3)?,
                state: row.get(4)?,
            };
            Ok((row.get(0)?, (row.get(1)?, 0), summary))
        },
    )? {
        out.entry(id).or_default().work_orders.push(summary);
    }
    Ok(out)
}
