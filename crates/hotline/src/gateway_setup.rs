//! Starting the SIP gateway inside `hotline serve`, next to ticket-core.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use sip_gateway::app::{GatewayApp, GatewaySettings};
use sip_gateway::config::GatewayConfig;
use ticket_core::app::DATABASE_FILE;

use crate::dispatcher_setup::now_ms;

/// The ticket-core user the in-process gateway acts as (role service).
const GATEWAY_USER: &str = "gateway";
const TOKEN_LABEL: &str = "hotline serve: in-process SIP gateway";

pub async fn start(
    data_dir: &Path,
    core_addr: SocketAddr,
    config: GatewayConfig,
    grpc_listen: SocketAddr,
) -> anyhow::Result<GatewayApp> {
    let token = {
        let mut conn = ticket_core::store::open_connection(&data_dir.join(DATABASE_FILE), true)?;
        ticket_core::admin::issue_internal_token(&mut conn, GATEWAY_USER, TOKEN_LABEL, now_ms())
            .with_context(|| format!("the gateway needs the service user {GATEWAY_USER}"))?
    };
    let sip_listen = config.sip_listen;
    GatewayApp::start(GatewaySettings {
        config,
        data_dir: data_dir.join("gateway"),
        grpc_listen,
        ticket_core_url: format!("http://{core_addr}"),
        service_token: token,
    })
    .await
    .with_context(|| format!("cannot start the SIP gateway on {sip_listen}"))
}
