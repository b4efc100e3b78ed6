//! Settings of `hotline serve`: defaults, then a TOML file, then flags and environment
//! (HOTLINE_DATA_DIR, HOTLINE_LISTEN, HOTLINE_CONFIG). Validated once, here.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use dispatcher::notify::SmtpSettings;
use serde::Deserialize;
use sip_gateway::config::{GatewayConfig, TrunkConfig};
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
    /// SIP address of the gateway, UDP and TCP (overrides `[gateway] sip_listen`).
    #[arg(long, env = "HOTLINE_SIP_LISTEN")]
    pub sip_listen: Option<SocketAddr>,
    /// gRPC address of the gateway's agent API.
    #[arg(long, env = "HOTLINE_AGENT_API_LISTEN")]
    pub agent_api_listen: Option<SocketAddr>,
    /// Address of the browser softphone page and SIP over WebSocket, plain http/ws
    /// (overrides `[gateway] ws_listen`).
    #[arg(long, env = "HOTLINE_WEB_LISTEN")]
    pub web_listen: Option<SocketAddr>,
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    ticket_core: CoreConfig,
    smtp: Option<SmtpSettings>,
    gateway: Option<GatewayConfig>,
    agent_api_listen: Option<SocketAddr>,
}

/// Everything `hotline serve` needs, validated.
pub struct ServeSettings {
    pub core: Settings,
    /// Outgoing mail; without it, emails wait in the outbox until it is configured.
    pub smtp: Option<SmtpSettings>,
    pub gateway: GatewayConfig,
    pub gateway_grpc_listen: SocketAddr,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
const DEFAULT_AGENT_API_LISTEN: &str = "127.0.0.1:50052";
const DEFAULT_WEB_LISTEN: &str = "127.0.0.1:5066";

/// Without a `[gateway]` section the sample trunk is this machine, so a newcomer can
/// call 12351 with SIPp or a softphone on the same machine.
fn sample_gateway() -> GatewayConfig {
    GatewayConfig {
        trunks: vec![TrunkConfig {
            name: "local test trunk".into(),
            addresses: vec!["127.0.0.1".parse().expect("literal address")],
            max_calls: 100,
            calls_per_second: 20,
            ivr: true,
            queue: "agents".into(),
        }],
        // The browser softphone page on this machine: browsers allow the microphone
        // over plain http on localhost.
        ws_listen: Some(DEFAULT_WEB_LISTEN.parse().expect("literal address")),
        ..GatewayConfig::default()
    }
}

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
    let mut gateway = file.gateway.unwrap_or_else(sample_gateway);
    if let Some(sip_listen) = args.sip_listen {
        gateway.sip_listen = sip_listen;
    }
    if let Some(web_listen) = args.web_listen {
        gateway.ws_listen = Some(web_listen);
    }
    gateway.validate().context("[gateway]")?;
    let gateway_grpc_listen = args
        .agent_api_listen
        .or(file.agent_api_listen)
        .unwrap_or_else(|| {
            DEFAULT_AGENT_API_LISTEN
                .parse()
                .expect("default address parses")
        });
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
        gateway,
        gateway_grpc_listen,
    })
}
