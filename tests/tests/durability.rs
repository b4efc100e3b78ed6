//! Acknowledged writes survive a crash.
//!
//! Sixteen clients create tickets as fast as the server accepts them; once a few hundred
//! are acknowledged the server is killed with SIGKILL while requests are still in
//! flight, then restarted on the same data directory. Every ticket the server said it
//! created must still be there, its idempotency key must still lead to it, the SQLite
//! file must pass `PRAGMA integrity_check`, and the event log must hold exactly one
//! `ticket.created` event per ticket — no lost, half-written or doubled creations.
//!
//! The requests the kill left unanswered are then retried, as a client would: each must
//! succeed, whether or not the first attempt was committed, and leave exactly one ticket.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures::StreamExt;
use hotline_api::ticket::v1::GetTicketRequest;
use hotline_api::ticket::v1::ticket_service_client::TicketServiceClient;
use hotline_tests::sample::{mobile_number, unpaid_wages_ticket};
use hotline_tests::{AuthedChannel, HotlineServer};
use tokio::sync::watch;

/// Concurrent clients, each on its own HTTP/2 connection.
const CLIENTS: u32 = 16;
/// Acknowledged creations to wait for before pulling the plug.
const ACKS_BEFORE_KILL: usize = 400;
/// Bounds each client's loop; the kill comes long before.
const MAX_CREATES_PER_CLIENT: u32 = 100_000;
/// How long the clients may take to reach `ACKS_BEFORE_KILL`.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the clients may take to notice the server is gone.
const WIND_DOWN_TIMEOUT: Duration = Duration::from_secs(60);
/// At most this many problems are printed when the test fails.
const SHOWN_PROBLEMS: usize = 20;

#[derive(Clone, Debug)]
struct Acknowledged {
    request_id: String,
    phone: String,
    ticket_id: i64,
    number: String,
}

/// What the clients share while they run.
struct Load {
    acknowledged: Mutex<Vec<Acknowledged>>,
    attempts: AtomicUsize,
    in_flight: AtomicUsize,
    killed: AtomicBool,
    errors_before_kill: Mutex<Vec<String>>,
    /// (request id, phone) of each request that got no answer because of the kill.
    unanswered: Mutex<Vec<(String, String)>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_tickets_survive_sigkill() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut first = HotlineServer::start(data.path()).await?;
    let token = first.token("agent01")?;

    let (ack_count, mut ack_watch) = watch::channel(0usize);
    let load = Arc::new(Load {
        acknowledged: Mutex::new(Vec::new()),
        attempts: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        killed: AtomicBool::new(false),
        errors_before_kill: Mutex::new(Vec::new()),
        unanswered: Mutex::new(Vec::new()),
    });
    let mut clients = Vec::new();
    for client_no in 0..CLIENTS {
        let client = first.ticket_client(&token).await?;
        clients.push(tokio::spawn(create_until_failure(
            client_no,
            client,
            load.clone(),
            ack_count.clone(),
        )));
    }
    drop(ack_count);
    // The clients hold the only senders: if they all stop early, this wait ends. The
    // borrow `wait_for` returns is dropped at once, or it would block every sender.
    let reached = tokio::time::timeout(
        LOAD_TIMEOUT,
        ack_watch.wait_for(|acks| *acks >= ACKS_BEFORE_KILL),
    )
    .await
    .map(|waited| waited.map(drop));
    let in_flight_at_kill = load.in_flight.load(Ordering::SeqCst);
    load.killed.store(true, Ordering::SeqCst);
    let status = first.kill().await?;
    let errors = load.errors_before_kill.lock().expect("lock").clone();
    ensure!(
        errors.is_empty(),
        "creates failed before the kill (the server then ended with {status}):\n{}\n\
         server log:\n{}",
        errors.join("\n"),
        first.stderr_tail()
    );
    match reached {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => bail!("every client stopped before {ACKS_BEFORE_KILL} acknowledgements"),
        Err(_) => bail!("fewer than {ACKS_BEFORE_KILL} acknowledgements within {LOAD_TIMEOUT:?}"),
    }
    ensure!(
        status.signal() == Some(9),
        "the server should have died of SIGKILL, but exited with {status}"
    );
    for client in clients {
        tokio::time::timeout(WIND_DOWN_TIMEOUT, client)
            .await
            .context("a client kept running after the server died")??;
    }
    let acknowledged = load.acknowledged.lock().expect("lock").clone();
    let attempts = load.attempts.load(Ordering::SeqCst);
    eprintln!(
        "{} creates acknowledged, {attempts} attempted, {in_flight_at_kill} in flight at the kill",
        acknowledged.len()
    );

    let mut second = HotlineServer::start(data.path()).await?;
    let client = second.ticket_client(&token).await?;
    let problems: Vec<String> = futures::stream::iter(acknowledged.iter().cloned())
        .map(|ack| {
            let mut client = client.clone();
            async move {
                check_after_restart(&mut client, &ack)
                    .await
                    .err()
                    .map(|e| format!("{}: {e:#}", ack.request_id))
            }
        })
        .buffer_unordered(CLIENTS as usize)
        .filter_map(std::future::ready)
        .collect()
        .await;
    ensure!(
        problems.is_empty(),
        "{} of {} acknowledged tickets are wrong after the restart, for example:\n{}",
        problems.len(),
        acknowledged.len(),
        problems[..problems.len().min(SHOWN_PROBLEMS)].join("\n")
    );

    // A client that got no answer retries with the same request id.
    let unanswered = load.unanswered.lock().expect("lock").clone();
    ensure!(
        acknowledged.len() + unanswered.len() == attempts,
        "{attempts} attempts, but {} acknowledged and {} unanswered",
        acknowledged.len(),
        unanswered.len()
    );
    for (request_id, phone) in &unanswered {
        client
            .clone()
            .create_ticket(unpaid_wages_ticket(request_id, phone))
            .await
            .with_context(|| format!("retrying {request_id}, unanswered at the kill"))?;
    }

    let status = second.terminate().await?;
    ensure!(
        status.success(),
        "the restarted server exited with {status}"
    );

    let database = second.database_path();
    tokio::task::spawn_blocking(move || check_database(&database, &acknowledged, attempts))
        .await??;
    Ok(())
}

/// Creates tickets one after another until the server stops answering.
async fn create_until_failure(
    client_no: u32,
    mut client: TicketServiceClient<AuthedChannel>,
    load: Arc<Load>,
    ack_count: watch::Sender<usize>,
) {
    for seq in 0..MAX_CREATES_PER_CLIENT {
        let request_id = format!("durability-{client_no:02}-{seq:06}");
        let phone = mobile_number(client_no * 1_000_000 + seq);
        load.attempts.fetch_add(1, Ordering::SeqCst);
        load.in_flight.fetch_add(1, Ordering::SeqCst);
        let result = client
            .create_ticket(unpaid_wages_ticket(&request_id, &phone))
            .await;
        load.in_flight.fetch_sub(1, Ordering::SeqCst);
        match result {
            // An answer that arrives after the kill was still given: it counts.
            Ok(response) => {
                let ticket = response.into_inner();
                load.acknowledged.lock().expect("lock").push(Acknowledged {
                    request_id,
                    phone,
                    ticket_id: ticket.id,
                    number: ticket.number,
                });
                ack_count.send_modify(|acks| *acks += 1);
            }
            Err(status) => {
                if load.killed.load(Ordering::SeqCst) {
                    load.unanswered
                        .lock()
                        .expect("lock")
                        .push((request_id, phone));
                } else {
                    load.errors_before_kill
                        .lock()
                        .expect("lock")
                        .push(format!("{request_id}: {status}"));
                }
                return;
            }
        }
    }
}

/// The ticket is found by id with what was sent, and a retry of its request id
/// returns it instead of creating another.
async fn check_after_restart(
    client: &mut TicketServiceClient<AuthedChannel>,
    ack: &Acknowledged,
) -> anyhow::Result<()> {
    let found = client
        .get_ticket(GetTicketRequest {
            ticket_id: ack.ticket_id,
            ..Default::default()
        })
        .await
        .with_context(|| format!("GetTicket {} after the restart", ack.ticket_id))?
        .into_inner();
    ensure!(
        found.id == ack.ticket_id && found.number == ack.number,
        "GetTicket {} returned ticket {} ({}), acknowledged as {}",
        ack.ticket_id,
        found.id,
        found.number,
        ack.number
    );
    let phone = found.caller.as_ref().map(|c| c.phone.as_str());
    ensure!(
        phone.is_some_and(|p| p.ends_with(&ack.phone)),
        "ticket {} has caller phone {phone:?}, created with {}",
        ack.ticket_id,
        ack.phone
    );
    ensure!(
        found.description == "工地拖欠工资三个月" && found.topic == "欠薪",
        "ticket {} lost its content: {found:?}",
        ack.ticket_id
    );
    let retried = client
        .create_ticket(unpaid_wages_ticket(&ack.request_id, &ack.phone))
        .await
        .context("retrying the create after the restart")?
        .into_inner();
    ensure!(
        retried.id == ack.ticket_id && retried.number == ack.number,
        "a retried create returned ticket {} ({}) instead of {} ({})",
        retried.id,
        retried.number,
        ack.ticket_id,
        ack.number
    );
    Ok(())
}

/// Reads the database file directly, after the server has stopped.
fn check_database(
    database: &Path,
    acknowledged: &[Acknowledged],
    attempts: usize,
) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(database)
        .with_context(|| format!("cannot open {}", database.display()))?;
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    ensure!(integrity == ["ok"], "PRAGMA integrity_check: {integrity:?}");

    let mut by_request_id = conn.prepare("SELECT id FROM tickets WHERE request_id = ?1")?;
    for ack in acknowledged {
        let stored: Option<i64> = by_request_id
            .query_row([&ack.request_id], |row| row.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        ensure!(
            stored == Some(ack.ticket_id),
            "request id {} is stored for ticket {stored:?}, acknowledged as {}",
            ack.request_id,
            ack.ticket_id
        );
    }

    // Every attempt was acknowledged or retried to success: one ticket each, no more.
    let tickets: usize = conn.query_row("SELECT COUNT(*) FROM tickets", [], |row| row.get(0))?;
    let request_ids: usize = conn.query_row(
        "SELECT COUNT(DISTINCT request_id) FROM tickets WHERE request_id LIKE 'durability-%'",
        [],
        |row| row.get(0),
    )?;
    ensure!(
        tickets == attempts && request_ids == attempts,
        "{tickets} tickets with {request_ids} request ids stored for {attempts} distinct requests"
    );
    let miscounted: Vec<(i64, usize)> = conn
        .prepare(
            "SELECT t.id, (SELECT COUNT(*) FROM events e \
                WHERE e.action = 'ticket.created' AND e.entity = 'ticket' AND e.entity_id = t.id) \
                AS created \
             FROM tickets t WHERE created != 1 ORDER BY t.id",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    ensure!(
        miscounted.is_empty(),
        "tickets without exactly one ticket.created event (id, events): {:?}",
        &miscounted[..miscounted.len().min(SHOWN_PROBLEMS)]
    );
    let orphans: usize = conn.query_row(
        "SELECT COUNT(*) FROM events WHERE action = 'ticket.created' \
         AND entity_id NOT IN (SELECT id FROM tickets)",
        [],
        |row| row.get(0),
    )?;
    ensure!(
        orphans == 0,
        "{orphans} ticket.created events name no ticket"
    );
    Ok(())
}
