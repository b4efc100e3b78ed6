//! The `hotline` binary as a child process: start it on a data directory, wait for it to
//! listen, collect the tokens it prints on first start, and stop it gently or brutally.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use hotline_api::ticket::v1::directory_service_client::DirectoryServiceClient;
use hotline_api::ticket::v1::ticket_service_client::TicketServiceClient;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout, timeout_at};

use crate::client::{AuthedChannel, BearerToken, connect};
use crate::hotline_binary;

/// Generous, because a debug build on a shared machine can be slow to create its
/// database; a healthy start takes well under a second.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped process may take to exit. The server's own drain grace is 10 s.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The first start prints a dozen lines; far more means the output format changed.
const MAX_STARTUP_LINES: usize = 1_000;
/// Enough of the server's log to explain a failure, without holding a whole run's log.
const STDERR_TAIL_BYTES: usize = 64 * 1024;

/// A running `hotline serve`. Dropping it kills the process, so a failing test leaves
/// nothing behind.
pub struct HotlineServer {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    data_dir: PathBuf,
    startup_output: Vec<String>,
    tokens: BTreeMap<String, String>,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
    stderr_drain: Option<JoinHandle<()>>,
}

impl HotlineServer {
    /// Starts `hotline serve --data-dir DATA_DIR --listen 127.0.0.1:0`.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with_args(data_dir, std::iter::empty::<&OsStr>()).await
    }

    /// Starts `hotline serve` with further arguments (for example `--config FILE`) and
    /// waits until it prints `listening on ADDR`.
    pub async fn start_with_args<I, S>(data_dir: &Path, extra_args: I) -> anyhow::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        // The first call runs cargo; keep that off the async workers.
        let binary = tokio::task::spawn_blocking(hotline_binary)
            .await
            .context("building hotline panicked")?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            // Ports of their own, so tests can run side by side.
            .args([
                "--sip-listen",
                "127.0.0.1:0",
                "--agent-api-listen",
                "127.0.0.1:0",
                "--web-listen",
                "127.0.0.1:0",
            ])
            .args(extra_args)
            // The server's own settings must come from the arguments above only.
            .env_remove("HOTLINE_DATA_DIR")
            .env_remove("HOTLINE_LISTEN")
            .env_remove("HOTLINE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start hotline serve")?;
        let pid = child.id().context("the child has no pid")?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let stderr = child.stderr.take().context("stderr is piped")?;
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_drain = Some(tokio::spawn(keep_tail(stderr, stderr_tail.clone())));
        let mut server = Self {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            startup_output: Vec::new(),
            tokens: BTreeMap::new(),
            stderr_tail,
            stderr_drain,
        };
        let mut stdout = BufReader::new(stdout).lines();
        server.addr = server.wait_until_listening(&mut stdout).await?;
        server.tokens = parse_tokens(&server.startup_output);
        // Keep reading so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        Ok(server)
    }

    async fn wait_until_listening(
        &mut self,
        stdout: &mut tokio::io::Lines<BufReader<ChildStdout>>,
    ) -> anyhow::Result<SocketAddr> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while self.startup_output.len() < MAX_STARTUP_LINES {
            let line = match timeout_at(deadline, stdout.next_line()).await {
                Err(_) => {
                    let _ = self.child.start_kill();
                    bail!(
                        "hotline printed no `listening on` line within {STARTUP_TIMEOUT:?}\n{}",
                        self.describe_output()
                    );
                }
                Ok(read) => read.context("cannot read hotline's stdout")?,
            };
            let Some(line) = line else {
                let status = timeout(EXIT_TIMEOUT, self.child.wait()).await;
                self.finish_stderr().await;
                bail!(
                    "hotline exited ({status:?}) before listening\n{}",
                    self.describe_output()
                );
            };
            if let Some(addr) = line.strip_prefix("listening on ") {
                return addr
                    .trim()
                    .parse()
                    .with_context(|| format!("`{line}` does not name an address"));
            }
            self.startup_output.push(line);
        }
        bail!(
            "hotline printed {MAX_STARTUP_LINES} lines without `listening on`\n{}",
            self.describe_output()
        )
    }

    /// Waits (briefly) until everything the process wrote on stderr has been read.
    async fn finish_stderr(&mut self) {
        if let Some(drain) = self.stderr_drain.take() {
            let _ = timeout(Duration::from_secs(5), drain).await;
        }
    }

    fn describe_output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr (last part):\n{}",
            self.startup_output.join("\n"),
            self.stderr_tail()
        )
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The SQLite database inside the data directory.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("hotline.sqlite3")
    }

    /// Everything printed on stdout before `listening on`.
    pub fn startup_output(&self) -> &[String] {
        &self.startup_output
    }

    /// User name to token, as printed on first start (empty on later starts).
    pub fn tokens(&self) -> &BTreeMap<String, String> {
        &self.tokens
    }

    pub fn token(&self, user: &str) -> anyhow::Result<String> {
        self.tokens.get(user).cloned().ok_or_else(|| {
            anyhow!(
                "hotline printed no token for {user}; it printed tokens for {:?}",
                self.tokens.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The last part of what the server logged on stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().expect("stderr buffer lock");
        String::from_utf8_lossy(&tail).into_owned()
    }

    /// A connection to the server; when it fails, the error carries the server's log.
    pub async fn connect(&self) -> anyhow::Result<tonic::transport::Channel> {
        connect(self.addr)
            .await
            .with_context(|| format!("server log (last part):\n{}", self.stderr_tail()))
    }

    pub async fn ticket_client(
        &self,
        token: &str,
    ) -> anyhow::Result<TicketServiceClient<AuthedChannel>> {
        let channel = self.connect().await?;
        Ok(TicketServiceClient::with_interceptor(
            channel,
            BearerToken::new(token)?,
        ))
    }

    pub async fn directory_client(
        &self,
        token: &str,
    ) -> anyhow::Result<DirectoryServiceClient<AuthedChannel>> {
        let channel = self.connect().await?;
        Ok(DirectoryServiceClient::with_interceptor(
            channel,
            BearerToken::new(token)?,
        ))
    }

    /// SIGKILL: the process gets no chance to flush or clean up, as in a power cut.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        self.child.start_kill().context("cannot send SIGKILL")?;
        self.wait_for_exit().await
    }

    /// SIGTERM: the server drains calls in flight and exits.
    pub async fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .context("the child's pid is not a valid pid")?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .context("cannot send SIGTERM")?;
        self.wait_for_exit().await
    }

    async fn wait_for_exit(&mut self) -> anyhow::Result<ExitStatus> {
        match timeout(EXIT_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                let status = status.context("cannot wait for hotline")?;
                self.finish_stderr().await;
                Ok(status)
            }
            Err(_) => {
                let _ = self.child.start_kill();
                bail!(
                    "hotline did not exit within {EXIT_TIMEOUT:?}\n{}",
                    self.describe_output()
                )
            }
        }
    }
}

/// Token lines look like `  <user> <role> <token>`: indented, three words.
fn parse_tokens(lines: &[String]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter(|line| line.starts_with(char::is_whitespace))
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                [user, _role, token] => Some((user.to_owned(), token.to_owned())),
                _ => None,
            }
        })
        .collect()
}

/// Reads a stream to its end, keeping only its last `STDERR_TAIL_BYTES`.
async fn keep_tail(mut stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = vec![0u8; 8192];
    while let Ok(n) = stream.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        let mut tail = tail.lock().expect("stderr buffer lock");
        tail.extend_from_slice(&chunk[..n]);
        let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
        tail.drain(..excess);
    }
}

/// Runs `hotline ARGS` to completion (for admin commands and failing starts), killing it
/// if it takes longer than `limit`.
pub async fn run_hotline<I, S>(args: I, limit: Duration) -> anyhow::Result<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let binary = tokio::task::spawn_blocking(hotline_binary)
        .await
        .context("building hotline panicked")?;
    let mut command = Command::new(binary);
    command
        .args(args)
        .env_remove("HOTLINE_DATA_DIR")
        .env_remove("HOTLINE_LISTEN")
        .env_remove("HOTLINE_CONFIG");
    crate::tools::run_with_limit(command, limit).await
}

/// `hotline admin issue-token --user USER`: a fresh token, for starts after the first.
pub async fn issue_token(data_dir: &Path, user: &str) -> anyhow::Result<String> {
    let output = run_hotline(
        [
            OsStr::new("admin"),
            OsStr::new("issue-token"),
            OsStr::new("--user"),
            OsStr::new(user),
            OsStr::new("--data-dir"),
            data_dir.as_os_str(),
        ],
        Duration::from_secs(60),
    )
    .await?;
    if !output.status.success() {
        bail!(
            "hotline admin issue-token failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let token = String::from_utf8(output.stdout)?.trim().to_owned();
    if token.is_empty() || token.contains(char::is_whitespace) {
        bail!("hotline admin issue-token printed `{token}`, not a token");
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::parse_tokens;

    #[test]
    fn token_lines_are_indented_triples() {
        let lines: Vec<String> = [
            "Created /tmp/x with the sample province (广东省).",
            "Tokens of the sample users, shown this once (only their hashes are stored):",
            "  admin                admin          hl_aaa",
            "  tianhe01             union_handler  hl_bbb",
            "Issue more with `hotline admin issue-token --user NAME`.",
        ]
        .map(String::from)
        .to_vec();
        let tokens = parse_tokens(&lines);
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens["admin"], "hl_aaa");
        assert_eq!(tokens["tianhe01"], "hl_bbb");
    }
}
