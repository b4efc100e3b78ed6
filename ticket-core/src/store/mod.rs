//! The SQLite store: one writer thread that commits in groups, and a pool of readers.
//!
//! SQLite allows one writer at a time. Rather than have many tasks fight over the
//! write lock, every change is a job sent to a single writer thread, which takes all
//! jobs waiting, runs each inside its own savepoint of one transaction, commits once,
//! and only then answers each job. A failed job rolls back its own savepoint and
//! nothing else. One commit (one WAL append) then covers many requests, which is what
//! makes durable creation fast; an answer is never sent before its commit, so nothing
//! acknowledged is lost on a crash.
//!
//! Readers use their own connections (WAL lets them read while the writer writes),
//! always from blocking threads, never on the async runtime. Copying the log back into
//! the database (checkpoints) is left to a thread of its own (`checkpoint`).

#[cfg(test)]
mod batch_tests;
pub mod calls;
mod checkpoint;
pub mod events;
pub mod orgs;
pub mod schema;
pub mod tickets;
pub mod work_orders;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender};
pub use rusqlite::Connection;
use rusqlite::OpenFlags;
use rusqlite::config::DbConfig;
use tokio::sync::{oneshot, watch};

use crate::domain::CoreError;

/// Jobs a batch may hold before it is committed, so one slow batch cannot grow without bound.
const MAX_BATCH: usize = 512;
const READERS: usize = 4;
/// Prepared statements each connection keeps. rusqlite's default of 16 is fewer than a
/// ticket creation alone uses on the writer, and a statement pushed out of the cache is
/// parsed and planned again on its next use.
const STATEMENT_CACHE: usize = 128;
/// The most of the database file each connection maps into memory (see `open_connection`):
/// SQLite's compile-time maximum.
const MMAP_BYTES: i64 = 0x7fff_0000;
/// The writer's page cache, in KiB (see `Db::open`).
const WRITER_CACHE_KIB: i64 = 8 * 1024;

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    path: PathBuf,
    jobs: Sender<Job>,
    readers_in: Sender<Connection>,
    readers_out: Receiver<Connection>,
    last_seq: watch::Receiver<i64>,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, applies migrations, and
    /// starts the writer thread.
    pub fn open(path: &Path) -> Result<Self, CoreError> {
        let mut conn = open_connection(path, true)?;
        schema::migrate(&mut conn)?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_AUTOCHECKPOINT,
        )
        .map_err(storage)?;
        // A smaller page cache than the readers'. Rebalancing a B-tree renumbers pages
        // through a page number far past the end of the file, and at the end of such a
        // transaction SQLite then walks every page in the connection's cache to drop those
        // past the end: with 64 MB cached about 150 µs per commit, 6% of the writer's
        // time, and more as the cache fills on a larger database.
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
            .map_err(storage)?;
        let checkpointer = checkpoint::start(path)?;
        let last_seq = events::last_seq(&conn)?;
        let (seq_tx, seq_rx) = watch::channel(last_seq);
        let (jobs_tx, jobs_rx) = crossbeam_channel::unbounded::<Job>();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, jobs_rx, seq_tx, checkpointer))
            .map_err(|e| CoreError::Storage(format!("cannot start the writer thread: {e}")))?;
        let (readers_in, readers_out) = crossbeam_channel::bounded(READERS);
        for _ in 0..READERS {
            readers_in
                .send(open_connection(path, false)?)
                .expect("pool has room for every reader");
        }
        Ok(Self {
            inner: Arc::new(DbInner {
                path: path.to_owned(),
                jobs: jobs_tx,
                readers_in,
                readers_out,
                last_seq: seq_rx,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `change` in the writer's transaction; resolves after it is committed.
    /// An error from `change` rolls back only what `change` did.
    pub async fn write<R, F>(&self, change: F) -> Result<R, CoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, CoreError> + Send + 'static,
    {
        let (answer_tx, answer_rx) = oneshot::channel::<Result<R, CoreError>>();
        let job: Job = Box::new(move |conn| {
            let result = change(conn);
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let answer = match committed {
                    Ok(()) => result,
                    Err(e) => Err(CoreError::Storage(format!("commit failed: {e}"))),
                };
                let _ = answer_tx.send(answer);
            });
            (ok, completion)
        });
        self.inner
            .jobs
            .send(job)
            .map_err(|_| CoreError::Storage("the writer thread has stopped".into()))?;
        answer_rx
            .await
            .map_err(|_| CoreError::Storage("the writer thread dropped the request".into()))?
    }

    /// Runs `query` on a reader connection, on a blocking thread.
    pub async fn read<R, F>(&self, query: F) -> Result<R, CoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, CoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .readers_out
                .recv()
                .map_err(|_| CoreError::Storage("reader pool closed".into()))?;
            let result = query(&conn);
            let _ = inner.readers_in.send(conn);
            result
        })
        .await
        .map_err(|e| CoreError::Storage(format!("reader task failed: {e}")))?
    }

    /// The highest event sequence number committed by this process; changes wake followers.
    pub fn committed_seq(&self) -> watch::Receiver<i64> {
        self.inner.last_seq.clone()
    }
}

pub fn open_connection(path: &Path, writer: bool) -> Result<Connection, CoreError> {
    let flags = if writer {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| CoreError::Storage(format!("cannot open {}: {e}", path.display())))?;
    // WAL: readers never block the writer. synchronous=NORMAL in WAL mode loses nothing
    // on a process crash (SIGKILL), only possibly the last commits on power loss;
    // FULL is a configuration away for sites that want that too.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
    .map_err(storage)?;
    // Plans are made once, when a statement is prepared, whatever its parameters. By
    // default SQLite plans again at the next step after new values are bound to a
    // parameter that the plan looked at: the pattern of a `LIKE` (every visibility
    // condition has one) and, once `ANALYZE` has gathered samples, any parameter
    // compared with an indexed column. That made nearly every cached statement be parsed
    // and planned again at each use: 44% of the CPU of a caller lookup.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(storage)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Pages of the database file are read through a memory map rather than copied in by a
    // read() each: a caller lookup on a 2 GB database reads dozens of pages scattered over
    // it, and those system calls were a sixth of its CPU time. SQLite maps at most 2 GB
    // (its compile-time limit) and reads beyond that as before; writes never go through
    // the map. What it gives up: a disk read error becomes a crash (SIGBUS) instead of an
    // error returned; nothing committed is lost by that.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)
        .map_err(storage)?;
    Ok(conn)
}

thread_local! {
    /// Full-text words that the jobs of the batch being run on this thread have set, in
    /// order; `Some` only on the writer thread. FTS5 writes its pending terms out as a
    /// new index segment at every savepoint, and each job runs in a savepoint of its
    /// own, so words written inside jobs cost a one-ticket segment each, to be merged
    /// later: most of the writer's time per created ticket. Queued here, they are
    /// written after the batch's last job, in the same transaction, in one segment.
    static QUEUED_WORDS: RefCell<Option<Vec<(i64, String)>>> = const { RefCell::new(None) };
}

/// Queues the full-text `words` of ticket `id` when called from a job on the writer
/// thread and returns true; returns false elsewhere, where the caller writes them itself.
pub(crate) fn queue_words(id: i64, words: &str) -> bool {
    QUEUED_WORDS.with(|queue| match queue.borrow_mut().as_mut() {
        Some(queue) => {
            queue.push((id, words.to_owned()));
            true
        }
        None => false,
    })
}

fn queued_words_len() -> usize {
    QUEUED_WORDS.with(|queue| queue.borrow().as_ref().map_or(0, Vec::len))
}

/// Drops what the last jobs queued, from position `len` on: a failed job's words go
/// with the rest of its savepoint.
fn truncate_queued_words(len: usize) {
    QUEUED_WORDS.with(|queue| {
        if let Some(queue) = queue.borrow_mut().as_mut() {
            queue.truncate(len);
        }
    });
}

/// Writes the batch's queued words, in the order the jobs set them (a later change to
/// the same ticket wins). Runs inside the batch's transaction, before its commit.
fn write_queued_words(conn: &Connection) -> Result<(), String> {
    let queued = QUEUED_WORDS.with(|queue| {
        queue
            .borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    });
    for (id, words) in &queued {
        tickets::write_words(conn, *id, words).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs one transaction-control statement from the statement cache: these run for every
/// job, and parsing them each time was a few percent of the writer's time.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn writer_loop(
    conn: Connection,
    jobs: Receiver<Job>,
    last_seq: watch::Sender<i64>,
    checkpointer: checkpoint::Checkpointer,
) {
    QUEUED_WORDS.with(|queue| *queue.borrow_mut() = Some(Vec::new()));
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut completions = Vec::with_capacity(batch.len());
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            tracing::error!("cannot begin a transaction: {e}");
            // Dropping the jobs unrun answers each caller with a storage error.
            drop(batch);
            continue;
        }
        truncate_queued_words(0);
        for job in batch {
            let queued = queued_words_len();
            let savepoint = control(&conn, "SAVEPOINT job");
            let (ok, completion) = job(&conn);
            if !ok {
                truncate_queued_words(queued);
            }
            if savepoint.is_ok() {
                let end = if ok {
                    control(&conn, "RELEASE job")
                } else {
                    control(&conn, "ROLLBACK TO job").and_then(|()| control(&conn, "RELEASE job"))
                };
                if let Err(e) = end {
                    tracing::error!("savepoint end failed: {e}");
                }
            }
            completions.push(completion);
        }
        // A failure writing the words fails the whole batch like a failed commit: the
        // tickets are never stored without their words, and nothing is acknowledged.
        let committed = write_queued_words(&conn)
            .and_then(|()| control(&conn, "COMMIT").map_err(|e| e.to_string()));
        if committed.is_err() {
            let _ = control(&conn, "ROLLBACK");
        } else {
            checkpointer.committed();
            if let Ok(seq) = events::last_seq(&conn) {
                last_seq.send_replace(seq);
            }
        }
        for completion in completions {
            completion(committed.clone());
        }
        checkpointer.after_batch(&conn);
    }
}

pub(crate) fn storage(e: rusqlite::Error) -> CoreError {
    CoreError::Storage(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rusqlite::OptionalExtension;

    use super::*;

    fn stored_words(path: &Path, id: i64) -> Option<String> {
        open_connection(path, false)
            .unwrap()
            .query_row(
                "SELECT words FROM ticket_text WHERE rowid = ?1",
                [id],
                |row| row.get(0),
            )
            .optional()
            .unwrap()
    }

    #[tokio::test]
    async fn queued_words_follow_their_jobs_savepoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.sqlite3");
        let db = Db::open(&path).unwrap();
        // Holds the writer, so the three jobs after it are taken as one batch.
        let hold = db.write(|_| {
            thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        let kept = db.write(|c| tickets::set_words(c, 1, "欠薪 工地"));
        let failed = db.write(|c| {
            tickets::set_words(c, 2, "工伤")?;
            Err::<(), _>(CoreError::invalid("field", "fails after setting words"))
        });
        let changed_twice = db.write(|c| {
            tickets::set_words(c, 3, "first")?;
            tickets::set_words(c, 3, "second")
        });
        let (hold, kept, failed, changed_twice) = tokio::join!(hold, kept, failed, changed_twice);
        hold.unwrap();
        kept.unwrap();
        assert!(failed.is_err());
        changed_twice.unwrap();
        assert_eq!(stored_words(&path, 1).as_deref(), Some("欠薪 工地"));
        assert_eq!(stored_words(&path, 2), None);
        assert_eq!(stored_words(&path, 3).as_deref(), Some("second"));

        // A later batch replaces a ticket's words rather than adding to them.
        db.write(|c| tickets::set_words(c, 1, "工资"))
            .await
            .unwrap();
        assert_eq!(stored_words(&path, 1).as_deref(), Some("工资"));
        let matches: i64 = open_connection(&path, false)
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM ticket_text WHERE ticket_text MATCH '欠薪'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(matches, 0);
    }
}
