//! `hotline`: runs the whole hotline in one process (`hotline serve`), and the
//! administration commands that work on its data directory.

mod admin;
mod dispatcher_setup;
mod gateway_setup;
mod report;
mod settings;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ticket_core::app::CoreApp;
use ticket_core::domain::SystemClock;

/// Exit status for a configuration that cannot be used (sysexits EX_USAGE).
const EXIT_CONFIG: u8 = 64;
/// How long calls in flight may take to finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(name = "hotline", version, about = "12351 worker hotline backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in one process, with its data under --data-dir.
    Serve(settings::ServeArgs),
    /// Administration on a data directory (the server may be running).
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Export a daily, monthly, quarterly or yearly report (CSV or XLSX) from a running server.
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,h2=warn,tower=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => {
            let settings = match settings::load(&args) {
                Ok(settings) => settings,
                Err(e) => {
                    eprintln!("hotline: invalid configuration: {e:#}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            report(serve(settings))
        }
        Command::Admin { command } => report(admin::run(command)),
        Command::Report(args) => report::run(args),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotline: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: settings::ServeSettings) -> anyhow::Result<()> {
    let settings::ServeSettings {
        core: settings,
        smtp,
        gateway,
        gateway_grpc_listen,
    } = settings;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let data_dir = settings.data_dir.clone();
        let app = CoreApp::build(settings, Arc::new(SystemClock))
            .await
            .with_context(|| {
                format!(
                    "cannot start ticket-core with data in {}",
                    data_dir.display()
                )
            })?;
        if let Some(tokens) = &app.first_start_tokens {
            print_first_start(&data_dir, tokens);
        }
        let signals = ShutdownSignals::install()?;
        let addr = app.local_addr();
        tracing::info!(%addr, data_dir = %data_dir.display(), "hotline serving gRPC");
        // Tests and scripts wait for this line on stdout.
        println!("listening on {addr}");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let server = tokio::spawn(app.run(stopped(stop_rx.clone())));
        let outbox = dispatcher_setup::open_outbox(&data_dir).await?;
        let dispatcher = dispatcher_setup::start(&data_dir, addr, outbox.clone()).await?;
        let dispatcher = tokio::spawn(dispatcher.run(stopped(stop_rx.clone())));
        let sender = match &smtp {
            Some(smtp) => Some(tokio::spawn(dispatcher_setup::run_sender(
                outbox,
                smtp,
                stopped(stop_rx.clone()),
            )?)),
            None => {
                tracing::warn!(
                    "no [smtp] settings: emails wait in the outbox until mail is configured"
                );
                None
            }
        };
        tracing::info!("dispatcher following ticket-core's events");
        let gateway = gateway_setup::start(&data_dir, addr, gateway, gateway_grpc_listen).await?;
        println!(
            "SIP gateway on {} (UDP and TCP), agent API on {}",
            gateway.sip_addr, gateway.grpc_addr
        );
        if let Some(web) = gateway.ws_addr {
            println!("browser softphone page on http://{web}/");
        }
        if let Some(web) = gateway.wss_addr {
            println!("browser softphone page on https://{web}/");
        }
        let gateway = tokio::spawn(gateway.run(stopped(stop_rx.clone())));
        signals.received().await;
        tracing::info!("shutting down; letting calls in flight finish");
        let _ = stop_tx.send(true);
        let _ = dispatcher.await;
        let _ = gateway.await;
        if let Some(sender) = sender {
            let _ = sender.await;
        }
        match tokio::time::timeout(GRACE, server).await {
            Ok(joined) => joined
                .context("server task failed")?
                .context("server failed")?,
            Err(_) => tracing::warn!("calls still open after {GRACE:?}; stopping anyway"),
        }
        Ok(())
    })
}

fn print_first_start(data_dir: &std::path::Path, tokens: &[ticket_core::admin::IssuedToken]) {
    println!(
        "Created {} with the sample province (广东省).",
        data_dir.display()
    );
    println!("Tokens of the sample users, shown this once (only their hashes are stored):");
    for t in tokens {
        println!("  {:<20} {:<14} {}", t.user, t.role, t.token);
    }
    println!("Issue more with `hotline admin issue-token --user NAME`.");
}

/// SIGTERM and SIGINT, listened for from before the server says it is listening, so that
/// a signal arriving at once still shuts down gracefully instead of killing the process.
struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        })
    }

    async fn received(mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}
