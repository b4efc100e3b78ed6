//! WAL checkpoints, moved out of the writer's way.
//!
//! A checkpoint copies the pages committed to the write-ahead log back into the database
//! file, with an `fsync` of the log before and of the database after (a few milliseconds
//! each on these disks, more with much to flush). Left to SQLite's default, the writer
//! runs one inside `COMMIT` whenever the log has reached 1,000 pages: under load several
//! times a second, each time with the whole batch waiting for it.
//!
//! Here a thread of its own checkpoints in `PASSIVE` mode on its own connection a short
//! while after commits: it never blocks the writer or the readers. While commits keep
//! coming that checkpoint cannot end the log (SQLite starts the log over only once every
//! frame in it has been copied and the database synced, which needs a moment without
//! commits), so when the log has grown to `RESTART_AT` pages the checkpointer asks the
//! writer to finish the job: right after it has answered a batch, the writer copies the
//! pages committed since and syncs (which also flushes what the checkpointer copied, so
//! it takes some 20 ms), and its next transaction starts the log over.
//! The writer's own automatic checkpoint stays, at a distant `WRITER_AUTOCHECKPOINT`,
//! should this thread ever fall behind.
//!
//! Durability does not depend on checkpoints: a commit is in the log before `COMMIT`
//! returns, and SQLite replays the log when the database is next opened.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use rusqlite::Connection;

use super::open_connection;
use crate::domain::CoreError;

/// How long the checkpointer lets commits gather after the first one it hears of: a page
/// changed by many commits in that time is copied once. (100 ms and 250 ms measured alike
/// under load, 250 ms with fewer, longer handovers to the writer.)
const GATHER: Duration = Duration::from_millis(250);

/// Log pages (4 KiB each, 160 MB) at which the writer is asked to end the log. Each time
/// costs the writer a stall of some 20 ms (two `fsync`s with much to flush), about every
/// half second under a sustained 7,000 tickets/s (some ten pages a ticket); at half this
/// size the stalls came twice as often and p99 rose by 1–3 ms. Never needed when commits
/// leave the checkpointer a quiet moment to end the log itself.
const RESTART_AT: i64 = 40_000;

/// Log pages at which the writer checkpoints inside `COMMIT`, as SQLite does by default
/// at 1,000: only if the checkpointer has stopped doing its part.
pub(super) const WRITER_AUTOCHECKPOINT: i64 = 2 * RESTART_AT;

/// The writer's side of the checkpointer.
pub(super) struct Checkpointer {
    commits: Sender<()>,
    restart: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Tells the checkpointer that something was committed; never blocks.
    pub(super) fn committed(&self) {
        match self.commits.try_send(()) {
            // Full: it has been told already and has not run yet.
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }

    /// Run by the writer after answering a batch: ends the log if the checkpointer asked.
    pub(super) fn after_batch(&self, conn: &Connection) {
        if self.restart.swap(false, Ordering::Relaxed)
            && let Err(e) = checkpoint(conn)
        {
            tracing::warn!("WAL checkpoint on the writer failed: {e}");
        }
    }
}

/// Starts the checkpointer on its own connection to `path`. It stops once the
/// `Checkpointer` is dropped.
pub(super) fn start(path: &Path) -> Result<Checkpointer, CoreError> {
    let conn = open_connection(path, true)?;
    let (commits, heard) = crossbeam_channel::bounded(1);
    let restart = Arc::new(AtomicBool::new(false));
    let ask = restart.clone();
    thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(&conn, &heard, &ask))
        .map_err(|e| CoreError::Storage(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(Checkpointer { commits, restart })
}

fn run(conn: &Connection, commits: &Receiver<()>, restart: &AtomicBool) {
    while commits.recv().is_ok() {
        thread::sleep(GATHER);
        // Whatever was committed while sleeping is covered by this checkpoint.
        while commits.try_recv().is_ok() {}
        match checkpoint(conn) {
            Ok(log) if log >= RESTART_AT => restart.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!("WAL checkpoint failed (retried after the next commit): {e}"),
        }
    }
}

/// Copies what the log holds into the database as far as no reader still needs the older
/// pages, without waiting for anyone; returns the pages the log held.
fn checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}
