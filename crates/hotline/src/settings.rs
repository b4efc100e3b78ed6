//! Settings of `hotline serve`: defaults, then a TOML file, then flags and environment
//! (HOTLINE_DATA_DIR, HOTLINE_LISTEN, HOTLINE_CONFIG). Validated once, here.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use dispatcher::notify::SmtpSettings;
use serde::Deserialize;
use ticket_core::app::Settings;
use ticket_core::config::CoreConfig;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Where the database and recordings live; created on first start.
    #[arg(long, env = "HOTLINE_DATA_DIR", default_value = "./hotline-data")]
    pub data_dir: PathBuf,
    /// gRPC address. Port 0 picks a free port (printed on start).
    #[arg(long, env = "HOTLINE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// A TOML settings file (see deploy/hotline.example.toml).
    #[arg(long, env = "HOTLINE_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    ticket_core: CoreConfig,
    smtp: Option<SmtpSettings>,
}

/// Everything `hotline serve` needs, validated.
pub struct ServeSettings {
    pub core: Settings,
    /// Outgoing mail; without it, emails wait in the outbox until it is configured.
    pub smtp: Option<SmtpSettings>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

pub fn load(args: &ServeArgs) -> anyhow::Result<ServeSettings> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<FileSettings>(&text)
                .with_context(|| format!("{} is not valid", path.display()))?
        }
        None => FileSettings::default(),
    };
    let problems = file.ticket_core.problems();
    if !problems.is_empty() {
        bail!("ticket_core.{}", problems.join("; ticket_core."));
    }
    if let Some(smtp) = &file.smtp {
        smtp.validate().context("[smtp]")?;
    }
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses"));
    Ok(ServeSettings {
        core: Settings {
            data_dir: args.data_dir.clone(),
            listen,
            core: file.ticket_core,
        },
        smtp: file.smtp,
    })
}
