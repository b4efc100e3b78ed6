//! The `[smtp]` settings section and the lettre transport built from it.
//!
//! ```toml
//! [smtp]
//! host = "smtp.gdftu.org.cn"
//! port = 465                    # optional: 25 for plain, 587 for starttls, 465 for tls
//! security = "tls"              # "plain" | "starttls" | "tls"
//! username = "12351@gdftu.org.cn"   # optional; with password, or neither
//! password = "…"                    # optional; never printed
//! from_address = "12351@gdftu.org.cn"
//! from_name = "广东省12351职工服务热线"
//! timeout_seconds = 30          # optional, 1..=600
//! ca_file = "/etc/hotline/mail-ca.pem"  # optional: extra trusted root(s), PEM
//! ```
//!
//! `ca_file` is for a mail server inside a private network whose certificate comes from
//! the organisation's own CA; the public (webpki) roots are trusted either way.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, Tokio1Executor};
use serde::Deserialize;

/// Longest SMTP command timeout accepted: beyond this a dead server stalls the outbox
/// sender for longer than any reminder can afford.
const MAX_TIMEOUT_SECONDS: u64 = 600;
const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
const PEM_CERTIFICATE_MARKER: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// No encryption at all: only for a relay on the same machine or a test server.
    Plain,
    /// Plain connection upgraded with STARTTLS; the upgrade is required, never optional,
    /// so a man in the middle cannot strip it.
    Starttls,
    /// TLS from the first byte (SMTPS, "implicit TLS").
    Tls,
}

impl SmtpSecurity {
    /// The port each mode conventionally listens on (RFC 5321, RFC 6409, RFC 8314).
    pub fn default_port(self) -> u16 {
        match self {
            Self::Plain => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

/// The `[smtp]` section of the dispatcher's configuration.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// When absent, [`SmtpSecurity::default_port`].
    #[serde(default)]
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    pub from_address: String,
    pub from_name: String,
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Extra root certificates (PEM) to trust besides the public ones.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

// The password must never reach a log line, so Debug is written by hand.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Why the `[smtp]` settings cannot be used; `key` names the offending setting.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSettingsError {
    #[error("the [smtp] section cannot be read: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the configuration has no [smtp] section")]
    Missing,
    #[error("{key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("smtp.ca_file: cannot read {path}: {source}")]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("smtp: cannot prepare TLS for {host}: {source}")]
    Tls {
        host: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> SmtpSettingsError {
    SmtpSettingsError::Invalid {
        key,
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
struct DocumentWithSmtp {
    smtp: Option<SmtpSettings>,
}

impl SmtpSettings {
    /// Reads the `[smtp]` section out of a whole TOML configuration file (other sections
    /// are ignored) and validates it.
    pub fn from_toml(document: &str) -> Result<Self, SmtpSettingsError> {
        let parsed: DocumentWithSmtp = toml::from_str(document)?;
        let settings = parsed.smtp.ok_or(SmtpSettingsError::Missing)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The port in use: the configured one, or the conventional port of the security mode.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.security.default_port())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    /// Checks every setting; the error names the first bad key as `smtp.<key>`.
    pub fn validate(&self) -> Result<(), SmtpSettingsError> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err(invalid("smtp.host", "must not be empty"));
        }
        if host.chars().any(char::is_whitespace) {
            return Err(invalid("smtp.host", "must not contain spaces"));
        }
        if self.port == Some(0) {
            return Err(invalid("smtp.port", "must be between 1 and 65535"));
        }
        match (&self.username, &self.password) {
            (Some(user), _) if user.trim().is_empty() => {
                return Err(invalid("smtp.username", "must not be empty when given"));
            }
            (Some(_), None) => {
                return Err(invalid("smtp.password", "is required when username is set"));
            }
            (None, Some(_)) => {
                return Err(invalid("smtp.username", "is required when password is set"));
            }
            _ => {}
        }
        // A password sent without encryption to another machine can be read on the wire.
        if self.security == SmtpSecurity::Plain && self.password.is_some() && !is_loopback(host) {
            return Err(invalid(
                "smtp.security",
                "\"plain\" with a username and password is only allowed to a loopback host; \
                 use \"starttls\" or \"tls\"",
            ));
        }
        self.from_address
            .trim()
            .parse::<Address>()
            .map_err(|error| {
                invalid(
                    "smtp.from_address",
                    format!("not an email address: {error}"),
                )
            })?;
        if self.from_name.trim().is_empty() {
            return Err(invalid("smtp.from_name", "must not be empty"));
        }
        if self.ca_file.is_some() && self.security == SmtpSecurity::Plain {
            return Err(invalid(
                "smtp.ca_file",
                "has no effect with security = \"plain\"; remove it or use \"starttls\" or \"tls\"",
            ));
        }
        if self.timeout_seconds == 0 || self.timeout_seconds > MAX_TIMEOUT_SECONDS {
            return Err(invalid(
                "smtp.timeout_seconds",
                format!("must be between 1 and {MAX_TIMEOUT_SECONDS}"),
            ));
        }
        Ok(())
    }

    /// The sender shown to recipients, e.g. `广东省12351职工服务热线 <12351@gdftu.org.cn>`;
    /// lettre encodes the Chinese display name (RFC 2047).
    pub fn from_mailbox(&self) -> Result<Mailbox, SmtpSettingsError> {
        let address = self
            .from_address
            .trim()
            .parse::<Address>()
            .map_err(|error| {
                invalid(
                    "smtp.from_address",
                    format!("not an email address: {error}"),
                )
            })?;
        Ok(Mailbox::new(
            Some(self.from_name.trim().to_owned()),
            address,
        ))
    }

    /// Builds the pooled async transport. Validates first, so a caller cannot build a
    /// transport from settings that were never checked. Must be called inside a tokio
    /// runtime: the connection pool starts its idle-connection reaper task there.
    pub fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, SmtpSettingsError> {
        self.validate()?;
        let host = self.host.trim();
        let tls = match self.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::Starttls => Tls::Required(self.tls_parameters(host)?),
            SmtpSecurity::Tls => Tls::Wrapper(self.tls_parameters(host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(self.effective_port())
            .tls(tls)
            .timeout(Some(self.timeout()));
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    fn tls_parameters(&self, host: &str) -> Result<TlsParameters, SmtpSettingsError> {
        let tls_error = |source| SmtpSettingsError::Tls {
            host: host.to_owned(),
            source,
        };
        let mut builder = TlsParameters::builder(host.to_owned());
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|source| SmtpSettingsError::CaFile {
                path: path.clone(),
                source,
            })?;
            let not_pem = || {
                invalid(
                    "smtp.ca_file",
                    format!("{} holds no PEM certificate", path.display()),
                )
            };
            // lettre accepts a file without any certificate in it; that would silently
            // trust nothing extra, so it is refused here.
            if !pem
                .windows(PEM_CERTIFICATE_MARKER.len())
                .any(|window| window == PEM_CERTIFICATE_MARKER)
            {
                return Err(not_pem());
            }
            let certificate = Certificate::from_pem(&pem).map_err(|_| not_pem())?;
            builder = builder.add_root_certificate(certificate);
        }
        builder.build().map_err(tls_error)
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [other]
        ignored = true

        [smtp]
        host = "smtp.gdftu.org.cn"
        security = "tls"
        username = "12351@gdftu.org.cn"
        password = "s3cret-pass"
        from_address = "12351@gdftu.org.cn"
        from_name = "广东省12351职工服务热线"
    "#;

    #[test]
    fn reads_the_section_and_fills_defaults() {
        let settings = SmtpSettings::from_toml(SAMPLE).expect("valid settings");
        assert_eq!(settings.security, SmtpSecurity::Tls);
        assert_eq!(settings.effective_port(), 465);
        assert_eq!(settings.timeout(), Duration::from_secs(30));
        let from = settings.from_mailbox().expect("mailbox");
        assert_eq!(from.email.to_string(), "12351@gdftu.org.cn");
        assert_eq!(from.name.as_deref(), Some("广东省12351职工服务热线"));
    }

    #[test]
    fn debug_never_prints_the_password() {
        let settings = SmtpSettings::from_toml(SAMPLE).expect("valid settings");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("s3cret-pass"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    fn error_key(document: &str) -> &'static str {
        match SmtpSettings::from_toml(document) {
            Err(SmtpSettingsError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_key() {
        let base = |extra: &str| format!("[smtp]\nfrom_name = \"热线\"\n{extra}\n",);
        assert_eq!(
            error_key(&base(
                "host = \"\"\nsecurity = \"tls\"\nfrom_address = \"a@b.cn\""
            )),
            "smtp.host"
        );
        assert_eq!(
            error_key(&base(
                "host = \"h\"\nsecurity = \"tls\"\nfrom_address = \"not-mail\""
            )),
            "smtp.from_address"
        );
        assert_eq!(
            error_key(&base(
                "host = \"h\"\nsecurity = \"tls\"\nfrom_address = \"a@b.cn\"\nusername = \"u\""
            )),
            "smtp.password"
        );
        assert_eq!(
            error_key(&base(
                "host = \"mail.example.cn\"\nsecurity = \"plain\"\nfrom_address = \"a@b.cn\"\n\
                 username = \"u\"\npassword = \"p\""
            )),
            "smtp.security"
        );
        assert_eq!(
            error_key(&base(
                "host = \"h\"\nsecurity = \"tls\"\nfrom_address = \"a@b.cn\"\ntimeout_seconds = 0"
            )),
            "smtp.timeout_seconds"
        );
        assert_eq!(
            error_key(&base(
                "host = \"h\"\nsecurity = \"tls\"\nfrom_address = \"a@b.cn\"\nport = 0"
            )),
            "smtp.port"
        );
    }

    #[test]
    fn unknown_security_and_unknown_keys_are_refused() {
        let bad_mode = "[smtp]\nhost = \"h\"\nsecurity = \"ssl\"\nfrom_address = \"a@b.cn\"\nfrom_name = \"x\"";
        assert!(matches!(
            SmtpSettings::from_toml(bad_mode),
            Err(SmtpSettingsError::Parse(_))
        ));
        let typo = "[smtp]\nhost = \"h\"\nsecurity = \"tls\"\nfrom_address = \"a@b.cn\"\nfrom_name = \"x\"\npasword = \"p\"";
        assert!(matches!(
            SmtpSettings::from_toml(typo),
            Err(SmtpSettingsError::Parse(_))
        ));
        assert!(matches!(
            SmtpSettings::from_toml("[other]\n"),
            Err(SmtpSettingsError::Missing)
        ));
    }

    #[tokio::test]
    async fn ca_file_problems_are_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").expect("write");
        let document = |security: &str, path: &std::path::Path| {
            format!(
                "[smtp]\nhost = \"mail.example.cn\"\nsecurity = \"{security}\"\n\
                 from_address = \"a@b.cn\"\nfrom_name = \"热线\"\nca_file = \"{}\"",
                path.display()
            )
        };
        assert_eq!(error_key(&document("plain", &not_pem)), "smtp.ca_file");
        let settings = SmtpSettings::from_toml(&document("tls", &not_pem)).expect("valid");
        assert!(matches!(
            settings.transport(),
            Err(SmtpSettingsError::Invalid {
                key: "smtp.ca_file",
                ..
            })
        ));
        let missing =
            SmtpSettings::from_toml(&document("starttls", &dir.path().join("absent.pem")))
                .expect("valid");
        assert!(matches!(
            missing.transport(),
            Err(SmtpSettingsError::CaFile { .. })
        ));
    }

    // lettre's pool starts its idle-connection reaper on the runtime, hence tokio::test.
    #[tokio::test]
    async fn plain_with_credentials_to_loopback_is_allowed_and_every_mode_builds() {
        for (host, security) in [
            ("127.0.0.1", "plain"),
            ("localhost", "plain"),
            ("smtp.example.cn", "starttls"),
            ("smtp.example.cn", "tls"),
        ] {
            let document = format!(
                "[smtp]\nhost = \"{host}\"\nsecurity = \"{security}\"\nusername = \"u\"\n\
                 password = \"p\"\nfrom_address = \"a@b.cn\"\nfrom_name = \"热线\""
            );
            let settings = SmtpSettings::from_toml(&document).expect("valid");
            settings.transport().expect("transport builds");
        }
    }
}
