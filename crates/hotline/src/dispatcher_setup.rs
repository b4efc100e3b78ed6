//! Starting the dispatcher inside `hotline serve`, next to ticket-core.
//!
//! Its editable files live in the data directory: `routing.toml` (copied from the
//! sample on first start), optional `deadlines.toml`, and optional extra calendar years
//! under `calendar/*.toml`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use dispatcher::clock::Policy;
use dispatcher::notify::{self, Mailer, Outbox, SmtpSettings, SystemTimeSource};
use dispatcher::service::{Dispatcher, DispatcherSettings};
use hotline_calendar::Calendar;
use ticket_core::app::DATABASE_FILE;

const SAMPLE_ROUTING: &str = include_str!("../../../deploy/sample-routing.toml");
/// The ticket-core user the in-process dispatcher acts as.
const DISPATCHER_USER: &str = "dispatcher-service";
const TOKEN_LABEL: &str = "hotline serve: in-process dispatcher";
/// How emails are signed.
const HOTLINE_NAME: &str = "12351职工服务热线";

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn calendar(data_dir: &Path) -> anyhow::Result<Calendar> {
    let mut calendar = Calendar::builtin();
    let dir = data_dir.join("calendar");
    if dir.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            calendar
                .add_year_file(&text)
                .with_context(|| format!("calendar file {} is not valid", file.display()))?;
        }
    }
    Ok(calendar)
}

/// The durable outbox, in its own file beside the databases.
pub async fn open_outbox(data_dir: &Path) -> anyhow::Result<Arc<Outbox>> {
    let path = data_dir.join("outbox.sqlite3");
    let opened = tokio::task::spawn_blocking(move || Outbox::open(&path)).await?;
    Ok(Arc::new(opened.context("cannot open the email outbox")?))
}

/// The task that sends what waits in the outbox over SMTP, retrying with backoff.
pub fn run_sender(
    outbox: Arc<Outbox>,
    smtp: &SmtpSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let mailer = Mailer::from_settings(smtp).context("[smtp]")?;
    Ok(async move {
        if let Err(e) =
            notify::run_sender(outbox, mailer, Arc::new(SystemTimeSource), shutdown).await
        {
            tracing::error!("the email sender stopped: {e}");
        }
    })
}

pub async fn start(
    data_dir: &Path,
    core_addr: SocketAddr,
    outbox: Arc<Outbox>,
) -> anyhow::Result<Dispatcher> {
    let routing_path = data_dir.join("routing.toml");
    if !routing_path.exists() {
        std::fs::write(&routing_path, SAMPLE_ROUTING)
            .with_context(|| format!("cannot write {}", routing_path.display()))?;
    }
    let rules_toml = std::fs::read_to_string(&routing_path)
        .with_context(|| format!("cannot read {}", routing_path.display()))?;
    let deadlines_path = data_dir.join("deadlines.toml");
    let policy = if deadlines_path.exists() {
        let text = std::fs::read_to_string(&deadlines_path)?;
        Policy::from_toml_str(&text)
            .with_context(|| format!("{} is not valid", deadlines_path.display()))?
    } else {
        Policy::default()
    };
    let calendar = calendar(data_dir)?;
    let token = {
        let mut conn = ticket_core::store::open_connection(&data_dir.join(DATABASE_FILE), true)?;
        ticket_core::admin::issue_internal_token(&mut conn, DISPATCHER_USER, TOKEN_LABEL, now_ms())
            .with_context(|| format!("the dispatcher needs the service user {DISPATCHER_USER}"))?
    };
    let settings = DispatcherSettings {
        core_url: format!("http://{core_addr}"),
        token,
        state_path: data_dir.join("dispatcher.sqlite3"),
        rules_toml,
        policy,
        calendar,
        cluster_threshold: 5,
        cluster_window_days: 7,
        outbox: Some(outbox),
        hotline_name: HOTLINE_NAME.into(),
    };
    Dispatcher::start(settings, Arc::new(now_ms))
        .await
        .with_context(|| {
            format!(
                "cannot start the dispatcher (rules in {})",
                routing_path.display()
            )
        })
}
