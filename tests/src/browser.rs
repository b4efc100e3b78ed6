//! A real browser for the softphone page's tests: Debian's Chromium, driven by
//! `tests/browser/driver.mjs` (playwright-core) over JSON lines, with a WAV file as its
//! microphone.
//!
//! WebRTC in Chromium offers only host candidates of the outward interface, never
//! loopback, and nothing but loopback may be a test target. So each browser test runs
//! in a network namespace of its own that has only `lo`: [`run_in_loopback_namespace`]
//! re-executes the test there, and everything it starts (the gateway, ticket-core,
//! SIPp, baresip, Chromium) lives and dies with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::gateway::peer_available;

/// Set in the re-executed test: it is inside its namespace and runs the test's body.
pub const IN_NETNS: &str = "HOTLINE_IN_NETNS";

/// How long a test may run inside its namespace before it is ended.
const NAMESPACE_LIMIT: Duration = Duration::from_secs(300);
/// How long Chromium may take to start (about a second on an idle machine).
const START_LIMIT: Duration = Duration::from_secs(60);
/// Added to a command's own timeout before the driver is declared stuck.
const COMMAND_MARGIN: Duration = Duration::from_secs(40);

/// The folder of the browser driver and its `node_modules`.
pub fn driver_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Whether Chromium, node, playwright-core and the namespace tools are here; a missing
/// one skips the test, or fails it under `tests/run.sh` (`HOTLINE_REQUIRE_PEERS=1`).
pub fn browser_peers_available() -> bool {
    for program in ["chromium", "node", "unshare", "ip", "iptables"] {
        if !peer_available(program) {
            return false;
        }
    }
    let module = driver_dir().join("node_modules/playwright-core/package.json");
    if module.exists() {
        return true;
    }
    assert!(
        std::env::var_os("HOTLINE_REQUIRE_PEERS").is_none(),
        "playwright-core is required (HOTLINE_REQUIRE_PEERS is set) but {} is missing",
        module.display()
    );
    eprintln!("SKIPPED: playwright-core is not installed; run the tests with `bash tests/run.sh`");
    false
}

/// Where a test runs after [`run_in_loopback_namespace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// This process is inside the namespace: run the test's body.
    Inside,
    /// The body ran, and passed, in a re-executed copy inside the namespace.
    RanInside,
}

/// Runs the test `test_name` in a network namespace that has only `lo` (up).
///
/// Outside (no `HOTLINE_IN_NETNS`), re-executes this test binary as
/// `unshare --net --pid --fork --kill-child -- sh -c 'ip link set lo up && exec …'
/// <exe> --exact <test_name> --nocapture`, streams its output and fails unless it
/// passed; returns [`Namespace::RanInside`]. Inside, returns [`Namespace::Inside`].
///
/// The namespace also has its own process IDs, with the test as process 1: when the
/// test ends, the kernel ends everything it started, a Chromium left behind included.
pub async fn run_in_loopback_namespace(test_name: &str) -> anyhow::Result<Namespace> {
    if std::env::var_os(IN_NETNS).is_some() {
        // /proc/self/net is this process's namespace (unlike /sys, mounted outside).
        let interfaces = std::fs::read_to_string("/proc/self/net/dev")?
            .lines()
            .skip(2)
            .filter_map(|line| Some(line.split(':').next()?.trim().to_owned()))
            .collect::<Vec<_>>();
        anyhow::ensure!(
            interfaces == ["lo"],
            "the namespace must have only lo, has {interfaces:?}"
        );
        return Ok(Namespace::Inside);
    }
    let exe = std::env::current_exe()?;
    let mut command = Command::new("unshare");
    if !rustix::process::geteuid().is_root() {
        // Without root, a user namespace makes this process root inside.
        command.args(["--user", "--map-root-user"]);
    }
    command
        .args(["--net", "--pid", "--fork", "--kill-child", "--"])
        .args(["sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
        .arg(&exe)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(IN_NETNS, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .context("cannot start unshare for a loopback-only network namespace")?;
    let stdout = child.stdout.take().context("piped")?;
    let stderr = child.stderr.take().context("piped")?;
    // Line by line, so libtest captures the inner test's output as its own.
    let forward_out = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut ran = false;
        while let Ok(Some(line)) = lines.next_line().await {
            ran |= line.starts_with("test result: ok. 1 passed");
            println!("[netns] {line}");
        }
        ran
    });
    let forward_err = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[netns] {line}");
        }
    });
    let status = match tokio::time::timeout(NAMESPACE_LIMIT, child.wait()).await {
        Ok(status) => status?,
        Err(_) => {
            // Killing unshare kills the test inside (--kill-child), and with it the
            // namespace's every process.
            child.kill().await?;
            bail!("{test_name} did not finish within {NAMESPACE_LIMIT:?} in its namespace");
        }
    };
    let passed_one = forward_out.await.unwrap_or(false);
    let _ = forward_err.await;
    anyhow::ensure!(
        status.success(),
        "{test_name} failed in its network namespace ({status})"
    );
    anyhow::ensure!(
        passed_one,
        "{test_name} ran no test in its network namespace (is the name exact?)"
    );
    Ok(Namespace::RanInside)
}

/// Writes `seconds` of a sine at `hz` as a 48 kHz mono 16-bit WAV file: Chromium's
/// fake microphone (`--use-file-for-fake-audio-capture`) plays it in a loop.
pub fn write_fake_mic_wav(path: &Path, hz: f64, seconds: f64) -> anyhow::Result<()> {
    const RATE: u32 = 48_000;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // A whole number of cycles, so the loop joins without a click.
    let cycles = (hz * seconds).round();
    let samples = (cycles / hz * f64::from(RATE)).round() as usize;
    for n in 0..samples {
        let phase = 2.0 * std::f64::consts::PI * hz * n as f64 / f64::from(RATE);
        writer.write_sample((phase.sin() * 0.5 * f64::from(i16::MAX)) as i16)?;
    }
    writer.finalize()?;
    Ok(())
}

/// What [`Browser::dominant_frequency`] heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// The strongest frequency over the window, in Hz (bins of about 6 Hz).
    pub frequency: f64,
    /// The share of the energy around that frequency, 0 to 1: near 1 for a pure tone.
    pub purity: f64,
    /// RMS level in dBFS; silence is far below -60.
    pub level_db: f64,
}

impl Heard {
    /// A clear tone within `tolerance_hz` of `hz`.
    pub fn is_tone(&self, hz: f64, tolerance_hz: f64) -> bool {
        (self.frequency - hz).abs() <= tolerance_hz && self.level_db > -50.0
    }
}

/// One Chromium with one page, driven by `tests/browser/driver.mjs`.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium with `fake_mic_wav` as its microphone (see [`write_fake_mic_wav`]).
    /// The page's console and errors, and its SIP traffic, appear on stderr.
    pub async fn start(fake_mic_wav: &Path) -> anyhow::Result<Browser> {
        let mut child = Command::new("node")
            .arg(driver_dir().join("driver.mjs"))
            .arg("--fake-mic")
            .arg(fake_mic_wav)
            .arg("--failure-dir")
            .arg(failure_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start node tests/browser/driver.mjs")?;
        let stdin = child.stdin.take().context("piped")?;
        let stdout = child.stdout.take().context("piped")?;
        let stderr = child.stderr.take().context("piped")?;
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{line}");
            }
        });
        let mut browser = Browser {
            child,
            stdin,
            answers: BufReader::new(stdout).lines(),
            next_id: 1,
        };
        // The driver says `ready` (id 0) once Chromium is up.
        let ready = browser.answer(0, START_LIMIT).await?;
        anyhow::ensure!(ready == "ready", "the driver said {ready} instead of ready");
        Ok(browser)
    }

    async fn answer(&mut self, id: u64, limit: Duration) -> anyhow::Result<Value> {
        loop {
            let line = tokio::time::timeout(limit, self.answers.next_line())
                .await
                .map_err(|_| anyhow::anyhow!("the browser driver did not answer within {limit:?}"))?
                .context("reading the browser driver")?
                .ok_or_else(|| anyhow::anyhow!("the browser driver exited"))?;
            let message: Value = serde_json::from_str(&line)
                .with_context(|| format!("the browser driver said {line:?}"))?;
            if message["id"].as_u64() != Some(id) {
                continue; // a late answer to a command that timed out here
            }
            if let Some(error) = message.get("error") {
                bail!("{}", error.as_str().unwrap_or_default());
            }
            return Ok(message["value"].clone());
        }
    }

    /// Sends one command and waits for its answer (its own timeout plus a margin).
    pub async fn command(
        &mut self,
        mut command: Value,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        command["id"] = json!(id);
        let name = command["cmd"].as_str().unwrap_or_default().to_owned();
        let mut line = command.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .context("the browser driver is gone")?;
        self.stdin.flush().await?;
        self.answer(id, timeout + COMMAND_MARGIN)
            .await
            .with_context(|| format!("browser {name}"))
    }

    pub async fn goto(&mut self, url: &str) -> anyhow::Result<()> {
        let limit = Duration::from_secs(30);
        self.command(
            json!({"cmd": "goto", "url": url, "timeoutMs": ms(limit)}),
            limit,
        )
        .await?;
        Ok(())
    }

    pub async fn fill(&mut self, selector: &str, text: &str) -> anyhow::Result<()> {
        let limit = Duration::from_secs(10);
        let cmd =
            json!({"cmd": "fill", "selector": selector, "text": text, "timeoutMs": ms(limit)});
        self.command(cmd, limit).await?;
        Ok(())
    }

    pub async fn click(&mut self, selector: &str) -> anyhow::Result<()> {
        let limit = Duration::from_secs(10);
        let cmd = json!({"cmd": "click", "selector": selector, "timeoutMs": ms(limit)});
        self.command(cmd, limit).await?;
        Ok(())
    }

    /// Picks `value` in a `<select>`.
    pub async fn select(&mut self, selector: &str, value: &str) -> anyhow::Result<()> {
        let limit = Duration::from_secs(10);
        let cmd = json!({"cmd": "selectOption", "selector": selector, "value": value,
                         "timeoutMs": ms(limit)});
        self.command(cmd, limit).await?;
        Ok(())
    }

    /// Waits until `selector`'s trimmed text is exactly `text`.
    pub async fn wait_text(
        &mut self,
        selector: &str,
        text: &str,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let cmd = json!({"cmd": "waitText", "selector": selector, "text": text,
                         "timeoutMs": ms(limit)});
        self.command(cmd, limit).await?;
        Ok(())
    }

    /// Waits until `selector`'s trimmed text matches the JavaScript regex `pattern`;
    /// returns the text.
    pub async fn wait_text_matching(
        &mut self,
        selector: &str,
        pattern: &str,
        limit: Duration,
    ) -> anyhow::Result<String> {
        let cmd = json!({"cmd": "waitText", "selector": selector, "regex": pattern,
                         "timeoutMs": ms(limit)});
        let value = self.command(cmd, limit).await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    pub async fn wait_visible(&mut self, selector: &str, limit: Duration) -> anyhow::Result<()> {
        let cmd = json!({"cmd": "waitVisible", "selector": selector, "timeoutMs": ms(limit)});
        self.command(cmd, limit).await?;
        Ok(())
    }

    pub async fn is_visible(&mut self, selector: &str) -> anyhow::Result<bool> {
        let cmd = json!({"cmd": "isVisible", "selector": selector});
        Ok(self.command(cmd, Duration::from_secs(5)).await?.as_bool() == Some(true))
    }

    /// The text of the first element matching `selector`, or None if there is none.
    pub async fn text(&mut self, selector: &str) -> anyhow::Result<Option<String>> {
        let cmd = json!({"cmd": "text", "selector": selector});
        let value = self.command(cmd, Duration::from_secs(5)).await?;
        Ok(value.as_str().map(|s| s.trim().to_owned()))
    }

    /// How many elements match `selector`.
    pub async fn count(&mut self, selector: &str) -> anyhow::Result<u64> {
        let cmd = json!({"cmd": "count", "selector": selector});
        let value = self.command(cmd, Duration::from_secs(5)).await?;
        value.as_u64().context("a count")
    }

    /// Evaluates a JavaScript expression in the page (a promise is awaited); its value
    /// must be JSON.
    pub async fn evaluate(&mut self, js: &str) -> anyhow::Result<Value> {
        self.command(
            json!({"cmd": "evaluate", "js": js}),
            Duration::from_secs(20),
        )
        .await
    }

    /// Listens to `window.hotline.remoteStream()` for `window` and reports its strongest
    /// frequency: what the person at the page would hear.
    pub async fn dominant_frequency(&mut self, window: Duration) -> anyhow::Result<Heard> {
        self.dominant_frequency_of("window.hotline.remoteStream()", window)
            .await
    }

    /// As [`Browser::dominant_frequency`], for a JavaScript expression giving a MediaStream.
    pub async fn dominant_frequency_of(
        &mut self,
        stream_js: &str,
        window: Duration,
    ) -> anyhow::Result<Heard> {
        let cmd = json!({"cmd": "dominantFrequency", "ms": ms(window), "source": stream_js});
        let value = self.command(cmd, window).await?;
        let number = |key: &str| value[key].as_f64().unwrap_or(f64::NEG_INFINITY);
        Ok(Heard {
            frequency: number("frequency"),
            purity: number("purity"),
            level_db: number("levelDb"),
        })
    }

    /// Saves a PNG of the whole page (for a failing test, or to look at).
    pub async fn screenshot(&mut self, path: &Path) -> anyhow::Result<()> {
        let cmd = json!({"cmd": "screenshot", "path": path});
        self.command(cmd, Duration::from_secs(10)).await?;
        Ok(())
    }

    /// Closes Chromium and waits for the driver to exit.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self
            .command(json!({"cmd": "close"}), Duration::from_secs(10))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        closed.map(|_| ())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SIGTERM lets the driver close Chromium; a driver that already exited is fine.
        if let Some(pid) = self
            .child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// Where the driver saves a screenshot of the page when a command fails:
/// `target/tmp/browser-failures/<test>/` (`HOTLINE_BROWSER_FAILURES` overrides the
/// folder), so it outlives the test's temporary directory.
fn failure_dir() -> PathBuf {
    let base = std::env::var_os("HOTLINE_BROWSER_FAILURES")
        .map(PathBuf::from)
        .or_else(|| {
            // The test binary is target/<profile>/deps/<name>.
            let exe = std::env::current_exe().ok()?;
            Some(
                exe.parent()?
                    .parent()?
                    .parent()?
                    .join("tmp/browser-failures"),
            )
        })
        .unwrap_or_else(|| std::env::temp_dir().join("browser-failures"));
    // libtest names the test's thread after the test.
    let test = std::thread::current()
        .name()
        .unwrap_or("browser")
        .replace("::", "-");
    base.join(test)
}

fn ms(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// JavaScript giving the ports of the selected ICE candidate pair of the
/// RTCPeerConnection `pc_js`: `{local, remote, localAddress, remoteAddress, protocol}`,
/// or null before one is selected.
pub fn selected_pair_js(pc_js: &str) -> String {
    format!(
        "(async (pc) => {{
           const stats = await pc.getStats();
           let pair = null;
           stats.forEach((r) => {{
             if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
           }});
           if (!pair) stats.forEach((r) => {{
             if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
           }});
           if (!pair) return null;
           const local = stats.get(pair.localCandidateId);
           const remote = stats.get(pair.remoteCandidateId);
           return {{ local: local.port, remote: remote.port, localAddress: local.address,
                    remoteAddress: remote.address, protocol: local.protocol }};
         }})({pc_js})"
    )
}

/// UDP to and from one port dropped by iptables (inside the test's namespace), as a
/// network that stops carrying media while the signalling (TCP) goes on.
pub struct UdpBlackout {
    port: u16,
    lifted: bool,
}

const BLACKOUT_RULES: [&str; 2] = ["--dport", "--sport"];

impl UdpBlackout {
    pub async fn start(port: u16) -> anyhow::Result<UdpBlackout> {
        anyhow::ensure!(
            std::env::var_os(IN_NETNS).is_some(),
            "iptables rules belong inside the test's own network namespace"
        );
        for direction in BLACKOUT_RULES {
            iptables(&[
                "-A",
                "INPUT",
                "-p",
                "udp",
                direction,
                &port.to_string(),
                "-j",
                "DROP",
            ])
            .await?;
        }
        Ok(UdpBlackout {
            port,
            lifted: false,
        })
    }

    pub async fn lift(mut self) -> anyhow::Result<()> {
        self.lifted = true;
        for direction in BLACKOUT_RULES {
            iptables(&[
                "-D",
                "INPUT",
                "-p",
                "udp",
                direction,
                &self.port.to_string(),
                "-j",
                "DROP",
            ])
            .await?;
        }
        Ok(())
    }

    /// Packets the rules dropped so far.
    pub async fn dropped_packets(&self) -> anyhow::Result<u64> {
        let mut command = Command::new("iptables");
        command.args(["-L", "INPUT", "-n", "-v", "-x"]);
        let output = crate::tools::run_with_limit(command, Duration::from_secs(10)).await?;
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text
            .lines()
            .filter(|line| line.contains("DROP") && line.contains(&format!("pt:{}", self.port)))
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum())
    }
}

impl Drop for UdpBlackout {
    fn drop(&mut self) {
        if self.lifted {
            return;
        }
        // The namespace goes away with the test anyway; this keeps a failing test's
        // remaining steps honest.
        for direction in BLACKOUT_RULES {
            let _ = std::process::Command::new("iptables")
                .args([
                    "-D",
                    "INPUT",
                    "-p",
                    "udp",
                    direction,
                    &self.port.to_string(),
                    "-j",
                    "DROP",
                ])
                .status();
        }
    }
}

async fn iptables(args: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new("iptables");
    command.args(args);
    let output = crate::tools::run_with_limit(command, Duration::from_secs(10)).await?;
    anyhow::ensure!(
        output.status.success(),
        "iptables {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
