//! The dispatcher's own durable state, in its own SQLite file beside ticket-core's: the
//! cursor into ticket-core's event log, what routing needs to remember (which unions
//! returned a ticket), and the recent tickets per employer for early warnings.
//!
//! The cursor is saved after each event is handled. A crash between the two replays
//! that event, so every action the dispatcher takes on an event must be idempotent
//! (ticket-core refuses a second dispatch; alerts and emails carry dedup keys).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("dispatcher state: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("dispatcher state task failed: {0}")]
    Task(String),
}

pub struct State {
    conn: Connection,
}

impl State {
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS cursor (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS returns (
                 ticket_id INTEGER NOT NULL,
                 work_order_id INTEGER NOT NULL PRIMARY KEY,
                 org_code TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS employer_tickets (
                 employer_key TEXT NOT NULL,
                 ticket_id INTEGER NOT NULL PRIMARY KEY,
                 created_at INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS employer_tickets_key ON employer_tickets(employer_key, created_at);
             CREATE TABLE IF NOT EXISTS watched (
                 work_order_id INTEGER PRIMARY KEY,
                 ticket_id INTEGER NOT NULL,
                 org_code TEXT NOT NULL,
                 snapshot TEXT NOT NULL,
                 sent TEXT NOT NULL DEFAULT '[]',
                 next_wake_ms INTEGER
             );
             CREATE INDEX IF NOT EXISTS watched_wake ON watched(next_wake_ms);",
        )?;
        Ok(Self { conn })
    }

    pub fn cursor(&self) -> Result<i64, StateError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM cursor WHERE name = 'ticket-core'",
                [],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    pub fn save_cursor(&self, seq: i64) -> Result<(), StateError> {
        self.conn.execute(
            "INSERT INTO cursor(name, seq) VALUES ('ticket-core', ?1)
             ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
            [seq],
        )?;
        Ok(())
    }

    /// Remembers a return; a replayed event changes nothing.
    pub fn record_return(
        &self,
        ticket_id: i64,
        work_order_id: i64,
        org_code: &str,
    ) -> Result<(), StateError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO returns(ticket_id, work_order_id, org_code) VALUES (?1, ?2, ?3)",
            params![ticket_id, work_order_id, org_code],
        )?;
        Ok(())
    }

    /// The unions that returned this ticket, oldest first.
    pub fn returned_by(&self, ticket_id: i64) -> Result<Vec<String>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT org_code FROM returns WHERE ticket_id = ?1 ORDER BY work_order_id",
        )?;
        let codes = stmt
            .query_map([ticket_id], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(codes)
    }

    /// Records a ticket about `employer_key` and returns the tickets about it since `since`
    /// (including this one), oldest first.
    pub fn employer_tickets(
        &self,
        employer_key: &str,
        ticket_id: i64,
        created_at: i64,
        since: i64,
    ) -> Result<Vec<i64>, StateError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO employer_tickets(employer_key, ticket_id, created_at) VALUES (?1, ?2, ?3)",
            params![employer_key, ticket_id, created_at],
        )?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT ticket_id FROM employer_tickets WHERE employer_key = ?1 AND created_at >= ?2 AND created_at <= ?3
             ORDER BY created_at, ticket_id",
        )?;
        let ids = stmt
            .query_map(params![employer_key, since, created_at], |row| row.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }
}

/// An open work order the deadline clock watches: its snapshot and the notifications
/// already sent, both as JSON, and when to look at it next.
#[derive(Clone, Debug)]
pub struct Watched {
    pub work_order_id: i64,
    pub ticket_id: i64,
    pub org_code: String,
    pub snapshot: String,
    pub sent: String,
    pub next_wake_ms: Option<i64>,
}

impl State {
    pub fn watched(&self, work_order_id: i64) -> Result<Option<Watched>, StateError> {
        Ok(self
            .conn
            .query_row(
                "SELECT work_order_id, ticket_id, org_code, snapshot, sent, next_wake_ms FROM watched
                  WHERE work_order_id = ?1",
                [work_order_id],
                watched_from_row,
            )
            .optional()?)
    }

    /// Stores a work order's snapshot; keeps the notifications sent unless `reset_sent`.
    /// It is looked at again at once.
    pub fn watch(&self, row: &Watched, now: i64) -> Result<(), StateError> {
        self.conn.execute(
            "INSERT INTO watched(work_order_id, ticket_id, org_code, snapshot, sent, next_wake_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(work_order_id) DO UPDATE SET org_code = excluded.org_code,
                 snapshot = excluded.snapshot, sent = excluded.sent, next_wake_ms = excluded.next_wake_ms",
            params![row.work_order_id, row.ticket_id, row.org_code, row.snapshot, row.sent, now],
        )?;
        Ok(())
    }

    pub fn unwatch(&self, work_order_id: i64) -> Result<(), StateError> {
        self.conn.execute(
            "DELETE FROM watched WHERE work_order_id = ?1",
            [work_order_id],
        )?;
        Ok(())
    }

    /// Work orders whose next look is due at `now`, soonest first.
    pub fn due_watched(&self, now: i64, limit: i64) -> Result<Vec<Watched>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT work_order_id, ticket_id, org_code, snapshot, sent, next_wake_ms FROM watched
              WHERE next_wake_ms <= ?1 ORDER BY next_wake_ms LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![now, limit], watched_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn set_progress(
        &self,
        work_order_id: i64,
        sent: &str,
        next_wake_ms: Option<i64>,
    ) -> Result<(), StateError> {
        self.conn.execute(
            "UPDATE watched SET sent = ?2, next_wake_ms = ?3 WHERE work_order_id = ?1",
            params![work_order_id, sent, next_wake_ms],
        )?;
        Ok(())
    }

    /// The soonest moment any watched work order needs a look.
    pub fn next_wake(&self) -> Result<Option<i64>, StateError> {
        Ok(self
            .conn
            .query_row("SELECT MIN(next_wake_ms) FROM watched", [], |row| {
                row.get(0)
            })?)
    }
}

fn watched_from_row(row: &rusqlite::Row) -> rusqlite::Result<Watched> {
    Ok(Watched {
        work_order_id: row.get(0)?,
        ticket_id: row.get(1)?,
        org_code: row.get(2)?,
        snapshot: row.get(3)?,
        sent: row.get(4)?,
        next_wake_ms: row.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_and_returns_survive_reopening_and_replays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dispatcher.sqlite3");
        {
            let state = State::open(&path).unwrap();
            assert_eq!(state.cursor().unwrap(), 0);
            state.save_cursor(41).unwrap();
            state.record_return(7, 100, "440106").unwrap();
            state.record_return(7, 100, "440106").unwrap();
            state.record_return(7, 101, "440100").unwrap();
        }
        let state = State::open(&path).unwrap();
        assert_eq!(state.cursor().unwrap(), 41);
        assert_eq!(state.returned_by(7).unwrap(), ["440106", "440100"]);
    }

    #[test]
    fn employer_window_counts_recent_tickets_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(&dir.path().join("d.sqlite3")).unwrap();
        let day = 86_400_000;
        for (ticket, at) in [(1, 0), (2, day), (3, 8 * day)] {
            state
                .employer_tickets("e", ticket, at, at - 7 * day)
                .unwrap();
        }
        assert_eq!(
            state.employer_tickets("e", 3, 8 * day, day).unwrap(),
            [2, 3]
        );
        assert_eq!(
            state.employer_tickets("e", 3, 8 * day, 0).unwrap(),
            [1, 2, 3]
        );
    }
}
