//! Gateway configuration: the `[gateway]` table of the hotline's config file.
//!
//! Validated once at start ([`GatewayConfig::validate`]); every error names the field
//! and the rule, so an operator can fix the file without reading code.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("gateway config: {field}: {rule}")]
pub struct ConfigError {
    pub field: String,
    pub rule: String,
}

fn invalid(field: impl Into<String>, rule: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        rule: rule.into(),
    }
}

/// A carrier trunk: the only source of calls to the hotline number.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// Source IP addresses of the carrier's SBCs.
    pub addresses: Vec<IpAddr>,
    /// Calls in progress from this trunk; beyond it new INVITEs get 503.
    #[serde(default = "default_max_calls")]
    pub max_calls: usize,
    /// New calls per second from this trunk (token bucket, burst of one second).
    #[serde(default = "default_calls_per_second")]
    pub calls_per_second: u32,
    /// Play the IVR menu; `false` queues straight to [`Self::queue`] (an overflow
    /// trunk from a neighbouring centre that already ran its own menu).
    #[serde(default = "yes")]
    pub ivr: bool,
    #[serde(default = "default_queue")]
    pub queue: String,
}

/// A desk phone or test endpoint at a fixed address, with no registration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticAgent {
    pub user: String,
    /// Where to send INVITEs, e.g. `sip:agent01@10.0.0.5:5060`.
    pub contact: String,
    #[serde(default = "default_static_queues")]
    pub queues: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// UDP and TCP, same address.
    #[serde(default = "default_sip_listen")]
    pub sip_listen: SocketAddr,
    /// The address written into Contact, Via and SDP. Defaults to the listen IP.
    pub public_ip: Option<IpAddr>,
    /// SIP over WebSocket for browser softphones (RFC 7118): plain, and over TLS.
    /// Off unless given.
    pub ws_listen: Option<SocketAddr>,
    pub wss_listen: Option<SocketAddr>,
    /// PEM files for wss; without them a self-signed pair is made on first start
    /// in `<data-dir>/gateway/tls/` (fine on a laptop, not in production).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Address RTP sockets bind to.
    pub rtp_ip: Option<IpAddr>,
    /// The hotline number callers dial (Request-URI user part).
    #[serde(default = "default_service_number")]
    pub service_number: String,
    #[serde(default = "default_realm")]
    pub realm: String,
    #[serde(default)]
    pub trunks: Vec<TrunkConfig>,
    #[serde(default)]
    pub static_agents: Vec<StaticAgent>,
    /// All new calls per second, whatever the trunk: protects the gateway itself.
    #[serde(default = "default_total_calls_per_second")]
    pub total_calls_per_second: u32,
    /// Seconds a caller is asked to wait before retrying when refused for load.
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u32,
    pub prompts_dir: Option<PathBuf>,
    pub recordings_dir: Option<PathBuf>,
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_seconds: u64,
    #[serde(default = "default_wrap_up")]
    pub wrap_up_seconds: u64,
    #[serde(default = "default_announce")]
    pub position_announce_seconds: u64,
    /// Record calls (stereo WAV, caller left, agent right).
    #[serde(default = "yes")]
    pub record: bool,
    /// Digest algorithms the registrar offers, preferred first: "MD5", "SHA-256".
    /// MD5 alone by default: softphones built on libre (baresip 1.x) and several desk
    /// phones abort registration on a SHA-256 challenge instead of skipping it. Add
    /// "SHA-256" first once every softphone of the centre supports RFC 8760.
    #[serde(default = "default_digest_algorithms")]
    pub digest_algorithms: Vec<String>,
}

fn default_digest_algorithms() -> Vec<String> {
    vec!["MD5".into()]
}

fn yes() -> bool {
    true
}
fn default_max_calls() -> usize {
    500
}
fn default_calls_per_second() -> u32 {
    50
}
fn default_queue() -> String {
    "agents".into()
}
fn default_static_queues() -> Vec<String> {
    vec!["agents".into()]
}
fn default_sip_listen() -> SocketAddr {
    "127.0.0.1:5060".parse().expect("literal address")
}
fn default_service_number() -> String {
    "12351".into()
}
fn default_realm() -> String {
    "12351.hotline".into()
}
fn default_total_calls_per_second() -> u32 {
    200
}
fn default_retry_after() -> u32 {
    5
}
fn default_ring_timeout() -> u64 {
    15
}
fn default_wrap_up() -> u64 {
    10
}
fn default_announce() -> u64 {
    30
}

impl Default for GatewayConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// The queues every gateway has: the IVR routes to them.
pub const QUEUES: [&str; 3] = ["agents", "lawyers", "hardship"];

impl GatewayConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.service_number.is_empty()
            || !self.service_number.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid("service_number", "digits only, not empty"));
        }
        if self.total_calls_per_second == 0 {
            return Err(invalid("total_calls_per_second", "must be at least 1"));
        }
        if !(5..=120).contains(&self.ring_timeout_seconds) {
            return Err(invalid("ring_timeout_seconds", "must be between 5 and 120"));
        }
        if self.wrap_up_seconds > 600 {
            return Err(invalid("wrap_up_seconds", "must be at most 600"));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(invalid(
                "tls_cert",
                "give tls_cert and tls_key together, or neither",
            ));
        }
        if self.digest_algorithms.is_empty() {
            return Err(invalid("digest_algorithms", "at least one of MD5, SHA-256"));
        }
        for name in &self.digest_algorithms {
            match sip_proto::digest::DigestAlgorithm::parse(name) {
                Ok(
                    sip_proto::digest::DigestAlgorithm::Md5
                    | sip_proto::digest::DigestAlgorithm::Sha256,
                ) => {}
                _ => {
                    return Err(invalid(
                        "digest_algorithms",
                        format!("{name:?} is not one of MD5, SHA-256"),
                    ));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (index, trunk) in self.trunks.iter().enumerate() {
            let field = |name: &str| format!("trunks[{index}].{name}");
            if trunk.name.trim().is_empty() {
                return Err(invalid(field("name"), "must not be empty"));
            }
            if trunk.addresses.is_empty() {
                return Err(invalid(field("addresses"), "at least one source address"));
            }
            for address in &trunk.addresses {
                if !seen.insert(*address) {
                    return Err(invalid(
                        field("addresses"),
                        format!("{address} belongs to two trunks"),
                    ));
                }
            }
            if trunk.max_calls == 0 {
                return Err(invalid(field("max_calls"), "must be at least 1"));
            }
            if trunk.calls_per_second == 0 {
                return Err(invalid(field("calls_per_second"), "must be at least 1"));
            }
            if !QUEUES.contains(&trunk.queue.as_str()) {
                return Err(invalid(
                    field("queue"),
                    format!("must be one of {}", QUEUES.join(", ")),
                ));
            }
        }
        for (index, agent) in self.static_agents.iter().enumerate() {
            let field = |name: &str| format!("static_agents[{index}].{name}");
            if agent.user.is_empty() {
                return Err(invalid(field("user"), "must not be empty"));
            }
            if sip_proto::Uri::parse(&agent.contact).is_err() {
                return Err(invalid(
                    field("contact"),
                    "must be a SIP URI like sip:user@host:port",
                ));
            }
            if let Some(queue) = agent.queues.iter().find(|q| !QUEUES.contains(&q.as_str())) {
                return Err(invalid(
                    field("queues"),
                    format!("{queue} is not one of {}", QUEUES.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The validated digest algorithms.
    pub fn digest_algorithms(&self) -> Vec<sip_proto::digest::DigestAlgorithm> {
        self.digest_algorithms
            .iter()
            .filter_map(|name| sip_proto::digest::DigestAlgorithm::parse(name).ok())
            .collect()
    }

    pub fn public_ip(&self) -> IpAddr {
        self.public_ip.unwrap_or(self.sip_listen.ip())
    }

    pub fn rtp_ip(&self) -> IpAddr {
        self.rtp_ip.unwrap_or(self.sip_listen.ip())
    }

    pub fn ring_timeout(&self) -> Duration {
        Duration::from_secs(self.ring_timeout_seconds)
    }

    pub fn trunk_for(&self, source: IpAddr) -> Option<(usize, &TrunkConfig)> {
        self.trunks
            .iter()
            .enumerate()
            .find(|(_, trunk)| trunk.addresses.contains(&source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        GatewayConfig::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let config: GatewayConfig = toml::from_str(
            r#"
            [[trunks]]
            name = "carrier"
            addresses = ["10.0.0.1"]
            [[trunks]]
            name = "backup"
            addresses = ["10.0.0.1"]
            "#,
        )
        .unwrap();
        let error = config.validate().unwrap_err();
        assert_eq!(error.field, "trunks[1].addresses");
        assert!(error.rule.contains("two trunks"), "{error}");

        let config: GatewayConfig = toml::from_str(
            "[[static_agents]]\nuser = \"a\"\ncontact = \"sip:a@h\"\nqueues = [\"judges\"]\n",
        )
        .unwrap();
        assert_eq!(
            config.validate().unwrap_err().field,
            "static_agents[0].queues"
        );
        assert!(toml::from_str::<GatewayConfig>("sip_listn = \"1.2.3.4:5\"").is_err());
    }
}
