//! The real SMTP server the email tests talk to, and a reader for what it delivered.
//!
//! aiosmtpd (Debian `python3-aiosmtpd`) writes every message it accepts into a Maildir;
//! the reader decodes headers (RFC 2047) and bodies (base64, quoted-printable) in Rust,
//! and `python_view` asks Python's `email` package for a second opinion.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

const PYTHON: &str = "/usr/bin/python3";

// ---------------------------------------------------------------------------------------
// The SMTP server

/// aiosmtpd cannot report the port it bound, so a port is chosen by binding port 0 and
/// releasing it just before the server starts: a small race, accepted for a test peer.
pub fn unused_loopback_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn require_aiosmtpd() {
    let status = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => {}
        _ => panic!(
            "the email tests need a real SMTP server: {PYTHON} cannot import aiosmtpd \
             (Debian package python3-aiosmtpd). Run `bash tests/run.sh`, which installs it."
        ),
    }
}

/// How the test server protects its connections; the certificate comes from
/// `tests/fixtures/smtp-tls` (a test-only CA, see `regenerate.sh` there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerTls {
    None,
    Starttls,
    Smtps,
}

pub fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smtp-tls")
        .join(name)
}

pub struct SmtpServer {
    child: Child,
    maildir: PathBuf,
    log: PathBuf,
}

impl SmtpServer {
    /// Starts a clear-text aiosmtpd on 127.0.0.1:`port`; returns once it greets.
    pub fn start(port: u16, work_dir: &Path) -> Self {
        Self::start_with(port, work_dir, ServerTls::None)
    }

    pub fn start_with(port: u16, work_dir: &Path, tls: ServerTls) -> Self {
        require_aiosmtpd();
        let maildir = work_dir.join("maildir");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create maildir");
        }
        let log = work_dir.join(format!("aiosmtpd-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create server log");
        let mut command = Command::new(PYTHON);
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        let certificate_flags = match tls {
            ServerTls::None => None,
            ServerTls::Starttls => Some(("--tlscert", "--tlskey")),
            ServerTls::Smtps => Some(("--smtpscert", "--smtpskey")),
        };
        if let Some((cert_flag, key_flag)) = certificate_flags {
            command
                .arg(cert_flag)
                .arg(tls_fixture("server.pem"))
                .arg(key_flag)
                .arg(tls_fixture("server.key"));
        }
        let child = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log handle"))
            .stderr(log_file)
            .spawn()
            .expect("start aiosmtpd");
        let mut server = Self {
            child,
            maildir,
            log,
        };
        // Under SMTPS the greeting is inside TLS, so an accepted connection is the signal.
        server.wait_until_ready(port, tls != ServerTls::Smtps);
        server
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connects until the server accepts (and, in clear text, greets with `220`), within a
    /// bounded number of tries and a bounded time.
    fn wait_until_ready(&mut self, port: u16, expect_clear_greeting: bool) {
        const MAX_TRIES: u32 = 200;
        const RETRY_PAUSE: Duration = Duration::from_millis(25);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(15);
        for _ in 0..MAX_TRIES {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "aiosmtpd exited with {status} before listening:\n{}",
                    self.log_text()
                );
            }
            if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500))
            {
                if !expect_clear_greeting {
                    return;
                }
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("read timeout");
                let mut greeting = [0u8; 3];
                if stream.read_exact(&mut greeting).is_ok() && &greeting == b"220" {
                    let _ = stream.write_all(b"QUIT\r\n");
                    return;
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            // The server is still starting: a short pause before the next bounded try.
            std::thread::sleep(RETRY_PAUSE);
        }
        panic!("aiosmtpd did not greet on {address}:\n{}", self.log_text());
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        read_maildir(&self.maildir)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Reading delivered messages: a small RFC 5322 / RFC 2047 / MIME reader, enough for the
// single-part text messages the dispatcher sends.

#[derive(Debug)]
pub struct Delivered {
    pub path: PathBuf,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Delivered {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn decoded_header(&self, name: &str) -> String {
        decode_rfc2047(
            self.header(name)
                .unwrap_or_else(|| panic!("no {name} header in {self:?}")),
        )
    }
}

fn read_maildir(maildir: &Path) -> Vec<Delivered> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut delivered: Vec<Delivered> = entries
        .map(|entry| {
            let path = entry.expect("maildir entry").path();
            let raw = std::fs::read(&path).expect("read message");
            parse_message(
                path,
                &String::from_utf8(raw).expect("delivered message is 7-bit/UTF-8"),
            )
        })
        .collect();
    delivered.sort_by_key(|message| message.decoded_header("Subject"));
    delivered
}

fn parse_message(path: PathBuf, raw: &str) -> Delivered {
    let raw = raw.replace("\r\n", "\n");
    let (head, encoded_body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // Unfolding (RFC 5322 §2.2.3): the line break goes, the whitespace stays.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let encoding = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("Content-Transfer-Encoding"))
        .map(|(_, value)| value.to_ascii_lowercase())
        .unwrap_or_default();
    let body_bytes = match encoding.as_str() {
        "base64" => {
            let compact: String = encoded_body
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("valid base64 body")
        }
        "quoted-printable" => decode_quoted_printable(encoded_body),
        _ => encoded_body.as_bytes().to_vec(),
    };
    let body = String::from_utf8(body_bytes)
        .expect("UTF-8 body")
        .replace("\r\n", "\n");
    Delivered {
        path,
        headers,
        body,
    }
}

/// What Python's `email` package (modern policy) reads from a delivered message: a second,
/// independent decoder next to the one above.
#[derive(Debug, serde::Deserialize)]
pub struct PythonView {
    pub subject: String,
    pub from: String,
    pub body: String,
}

pub fn python_view(message: &Path) -> PythonView {
    const SCRIPT: &str = "\
import email, json, sys
from email import policy
with open(sys.argv[1], 'rb') as f:
    m = email.message_from_binary_file(f, policy=policy.default)
print(json.dumps({'subject': str(m['subject']), 'from': str(m['from']), 'body': m.get_content()}))
";
    let output = Command::new(PYTHON)
        .args(["-c", SCRIPT])
        .arg(message)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python could not parse {}: {}",
        message.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python printed JSON")
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Quoted-printable (RFC 2045 §6.7), with soft line breaks.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'=' if bytes.get(index + 1) == Some(&b'\n') => index += 2,
            b'=' => {
                let high = bytes.get(index + 1).copied().and_then(hex_value);
                let low = bytes.get(index + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => {
                        out.push(high * 16 + low);
                        index += 3;
                    }
                    _ => {
                        out.push(b'=');
                        index += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    out
}

/// One RFC 2047 encoded word (`=?charset?B|Q?text?=`) to its bytes.
fn decode_encoded_word(word: &str) -> Option<Vec<u8>> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?;
    let encoding = parts.next()?;
    let text = parts.next()?;
    assert!(
        charset.eq_ignore_ascii_case("utf-8"),
        "encoded word in charset {charset}, expected utf-8"
    );
    match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD.decode(text).ok(),
        "Q" | "q" => Some(decode_quoted_printable(&text.replace('_', " "))),
        _ => None,
    }
}

/// Decodes a header value: whitespace between adjacent encoded words is dropped
/// (RFC 2047 §6.2), and their bytes are joined before UTF-8 decoding, since a character
/// may be split across words.
pub fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    let mut pending_bytes: Vec<u8> = Vec::new();
    let flush = |out: &mut String, pending: &mut Vec<u8>| {
        if !pending.is_empty() {
            out.push_str(&String::from_utf8(std::mem::take(pending)).expect("UTF-8 encoded words"));
        }
    };
    for word in value.split_whitespace() {
        if let Some(bytes) = decode_encoded_word(word) {
            if pending_bytes.is_empty() && !out.is_empty() {
                out.push(' ');
            }
            pending_bytes.extend(bytes);
        } else {
            flush(&mut out, &mut pending_bytes);
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    flush(&mut out, &mut pending_bytes);
    out
}
