//! A gateway world for end-to-end telephony tests: a real ticket-core on SQLite files
//! and the SIP gateway, both in this process on loopback, with real SIP peers (SIPp,
//! baresip) as separate processes.
//!
//! The trunk is 127.0.0.1; a test that needs a caller from outside the trunk binds
//! its peer to 127.0.0.2 (all of 127/8 is loopback on Linux).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hotline_api::gateway::v1::agent_service_client::AgentServiceClient;
use hotline_api::ticket::v1::call_service_client::CallServiceClient;
use hotline_api::ticket::v1::{Call, GetCallRequest};
use sip_gateway::app::CredentialCache;
use sip_gateway::app::{GatewayApp, GatewaySettings};
use sip_gateway::config::{GatewayConfig, TrunkConfig};
use sip_gateway::registrar::{CredentialStore, SipRole};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tonic::transport::Channel;

use crate::client::{AuthedChannel, BearerToken};

/// ticket-core's clock for these tests: the real time, as the gateway's timers are.
struct SystemClock;

impl ticket_core::domain::Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

pub struct GatewayWorld {
    pub dir: tempfile::TempDir,
    pub tokens: HashMap<String, String>,
    pub core_addr: SocketAddr,
    pub sip: SocketAddr,
    pub grpc: SocketAddr,
    pub ws: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
    pub credentials: Arc<CredentialStore>,
    pub credential_cache: CredentialCache,
    pub outbox: Arc<sip_gateway::call_events::CallEventOutbox>,
    core_channel: Channel,
    core_dir: PathBuf,
    stop_core: Option<oneshot::Sender<()>>,
    core_task: Option<tokio::task::JoinHandle<()>>,
    stop_gateway: Option<oneshot::Sender<()>>,
    gateway_task: Option<tokio::task::JoinHandle<()>>,
}

/// The SIP password every test softphone uses.
pub const SIP_PASSWORD: &str = "softphone-secret-1";

impl GatewayWorld {
    pub async fn start(tweak: impl FnOnce(&mut GatewayConfig)) -> anyhow::Result<GatewayWorld> {
        let dir = tempfile::tempdir()?;
        let core_dir = dir.path().join("core");
        let app = build_core(&core_dir, "127.0.0.1:0".parse()?).await?;
        let core_addr = app.local_addr();
        let tokens: HashMap<String, String> = app
            .first_start_tokens
            .as_ref()
            .context("a fresh database issues tokens")?
            .iter()
            .map(|t| (t.user.clone(), t.token.clone()))
            .collect();
        let (stop_core, core_task) = run_core(app);
        let mut config = GatewayConfig {
            sip_listen: "127.0.0.1:0".parse()?,
            trunks: vec![TrunkConfig {
                name: "carrier".into(),
                addresses: vec!["127.0.0.1".parse()?],
                max_calls: 200,
                calls_per_second: 100,
                ivr: true,
                queue: "agents".into(),
            }],
            ring_timeout_seconds: 8,
            wrap_up_seconds: 0,
            ..GatewayConfig::default()
        };
        tweak(&mut config);
        let core_url = format!("http://{core_addr}");
        let app = GatewayApp::start(GatewaySettings {
            config,
            data_dir: dir.path().join("gateway"),
            grpc_listen: "127.0.0.1:0".parse()?,
            ticket_core_url: core_url.clone(),
            service_token: tokens["gateway"].clone(),
        })
        .await?;
        let (sip, grpc, ws, wss) = (app.sip_addr, app.grpc_addr, app.ws_addr, app.wss_addr);
        let credentials = app.credentials.clone();
        let credential_cache = app.credential_cache.clone();
        let outbox = app.outbox.clone();
        let (stop_gateway, gateway_stopped) = oneshot::channel::<()>();
        let gateway_task = tokio::spawn(app.run(async {
            let _ = gateway_stopped.await;
        }));
        let core_channel = crate::client::connect(core_addr).await?;
        Ok(GatewayWorld {
            dir,
            tokens,
            core_addr,
            sip,
            grpc,
            ws,
            wss,
            credentials,
            credential_cache,
            outbox,
            core_channel,
            core_dir,
            stop_core: Some(stop_core),
            core_task: Some(core_task),
            stop_gateway: Some(stop_gateway),
            gateway_task: Some(gateway_task),
        })
    }

    /// Stops ticket-core (the gateway goes on taking calls).
    pub async fn stop_core(&mut self) {
        if let Some(stop) = self.stop_core.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.core_task.take() {
            let _ = task.await;
        }
    }

    /// Starts ticket-core again on the same files and port.
    pub async fn restart_core(&mut self) -> anyhow::Result<()> {
        let app = build_core(&self.core_dir, self.core_addr).await?;
        let (stop, task) = run_core(app);
        self.stop_core = Some(stop);
        self.core_task = Some(task);
        Ok(())
    }

    pub fn recordings_dir(&self) -> PathBuf {
        self.dir.path().join("gateway/recordings")
    }

    /// Gives `user` a SIP password (HA1 stored) so a softphone can register.
    pub async fn set_sip_password(&self, user: &str, role: SipRole) -> anyhow::Result<()> {
        let store = self.credentials.clone();
        let user = user.to_owned();
        let realm = GatewayConfig::default().realm;
        tokio::task::spawn_blocking(move || store.set_password(&user, &realm, SIP_PASSWORD, role))
            .await??;
        self.credential_cache.reload().await?;
        Ok(())
    }

    pub async fn agent_api(&self, user: &str) -> anyhow::Result<AgentServiceClient<AuthedChannel>> {
        let channel = crate::client::connect(self.grpc).await?;
        let token = BearerToken::new(&self.tokens[user])?;
        Ok(AgentServiceClient::with_interceptor(channel, token))
    }

    pub fn calls_api(&self) -> anyhow::Result<CallServiceClient<AuthedChannel>> {
        let token = BearerToken::new(&self.tokens["supervisor01"])?;
        Ok(CallServiceClient::with_interceptor(
            self.core_channel.clone(),
            token,
        ))
    }

    /// Waits until ticket-core's record of the call satisfies `done`.
    pub async fn wait_for_call(
        &self,
        call_uuid: &str,
        limit: Duration,
        done: impl Fn(&Call) -> bool,
    ) -> anyhow::Result<Call> {
        let mut calls = self.calls_api()?;
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = None;
        loop {
            if let Ok(call) = calls
                .get_call(GetCallRequest {
                    call_id: 0,
                    call_uuid: call_uuid.to_owned(),
                })
                .await
            {
                let call = call.into_inner();
                if done(&call) {
                    return Ok(call);
                }
                last = Some(call);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "call {call_uuid} did not reach the expected state within {limit:?}; last seen: {last:?}"
                );
            }
            // The outbox delivers within milliseconds; a short poll keeps this bounded
            // without depending on delivery timing.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop_gateway.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.gateway_task.take() {
            let _ = task.await;
        }
        self.stop_core().await;
    }
}

async fn build_core(dir: &Path, listen: SocketAddr) -> anyhow::Result<ticket_core::app::CoreApp> {
    Ok(ticket_core::app::CoreApp::build(
        ticket_core::app::Settings {
            data_dir: dir.to_owned(),
            listen,
            core: Default::default(),
        },
        Arc::new(SystemClock),
    )
    .await?)
}

fn run_core(app: ticket_core::app::CoreApp) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        if let Err(error) = app
            .run(async {
                let _ = stopped.await;
            })
            .await
        {
            eprintln!("ticket-core stopped with an error: {error}");
        }
    });
    (stop, task)
}

/// Skips a test (with a loud message) when a peer program is missing. `tests/run.sh`
/// installs them all, so under the project's test command nothing is ever skipped;
/// `HOTLINE_REQUIRE_PEERS=1` (set by run.sh) turns a missing peer into a failure.
pub fn peer_available(program: &str) -> bool {
    if crate::tools::find_on_path(program).is_some() {
        return true;
    }
    assert!(
        std::env::var_os("HOTLINE_REQUIRE_PEERS").is_none(),
        "{program} is required (HOTLINE_REQUIRE_PEERS is set) but not on PATH"
    );
    eprintln!("SKIPPED: {program} is not installed; run the tests with `bash tests/run.sh`");
    false
}

/// The directory of SIPp scenarios shipped with the tests.
pub fn sipp_scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sipp")
}

/// Runs SIPp to completion in `dir` (where `rtp_stream` finds its audio file); returns
/// its exit status and the tail of its output.
pub async fn run_sipp(
    dir: &Path,
    args: &[String],
    limit: Duration,
) -> anyhow::Result<(std::process::ExitStatus, String)> {
    let mut command = Command::new("sipp");
    command.args(args).current_dir(dir);
    let output = crate::tools::run_with_limit(command, limit).await?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let tail: String = text
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Ok((output.status, tail))
}

/// A baresip softphone registered as `user`, answering automatically, sending a sine
/// of `tone_hz` and writing what it hears to WAV files in `dump_dir`.
pub struct Baresip {
    pub child: Child,
    pub dump_dir: PathBuf,
    pub ctrl: SocketAddr,
    config_dir: PathBuf,
}

impl Baresip {
    pub async fn start(
        dir: &Path,
        user: &str,
        gateway: SocketAddr,
        tone_hz: u32,
    ) -> anyhow::Result<Baresip> {
        let port = free_udp_port()?;
        let ctrl_port = free_tcp_port()?;
        let config_dir = dir.join(format!("baresip-{user}"));
        let dump_dir = config_dir.join("dump");
        std::fs::create_dir_all(&dump_dir)?;
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{port}\n\
             net_interface 127.0.0.1\n\
             audio_player aufile,/dev/null\n\
             audio_source ausine,{tone_hz}\n\
             audio_alert aufile,/dev/null\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module ausine.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             snd_path {}\n\
             module_app account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
            dump_dir.display()
        );
        std::fs::write(config_dir.join("config"), config)?;
        let account = format!(
            "<sip:{user}@{ip};transport=udp>;auth_pass={SIP_PASSWORD};answermode=auto;\
             audio_codecs=PCMU;regint=600;outbound=\"sip:{ip}:{gw_port}\"\n",
            ip = gateway.ip(),
            gw_port = gateway.port(),
        );
        std::fs::write(config_dir.join("accounts"), account)?;
        std::fs::write(config_dir.join("contacts"), "")?;
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&config_dir)
            // The SIP trace goes to stdout.log, for a failing test's message.
            .arg("-s")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(config_dir.join("stdout.log"))?)
            .stderr(std::fs::File::create(config_dir.join("stderr.log"))?)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start baresip")?;
        Ok(Baresip {
            child,
            config_dir,
            dump_dir,
            ctrl: SocketAddr::from(([127, 0, 0, 1], ctrl_port)),
        })
    }

    /// Sends a command over baresip's ctrl_tcp (netstring-framed JSON).
    pub async fn command(&self, command: &str, params: &str) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let json =
            serde_json::json!({"command": command, "params": params, "token": "t1"}).to_string();
        let mut stream = tokio::net::TcpStream::connect(self.ctrl).await?;
        stream
            .write_all(format!("{}:{},", json.len(), json).as_bytes())
            .await?;
        stream.flush().await?;
        Ok(())
    }

    /// What baresip printed, for a failing test's message.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.config_dir.join(name)).unwrap_or_default();
        format!(
            "--- baresip stdout\n{}\n--- baresip stderr\n{}",
            read("stdout.log"),
            read("stderr.log")
        )
    }

    /// The WAV files baresip wrote of the audio it received (decoded).
    pub fn received_audio(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dump_dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect()
    }
}

pub fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Reads a WAV file's samples per channel (16-bit PCM), for tone checks.
pub fn read_wav_channels(path: &Path) -> anyhow::Result<(u32, Vec<Vec<i16>>)> {
    let mut reader =
        hound::WavReader::open(path).with_context(|| format!("open {}", path.display()))?;
    let spec = reader.spec();
    let channels = spec.channels as usize;
    let mut out = vec![Vec::new(); channels];
    for (index, sample) in reader.samples::<i16>().enumerate() {
        out[index % channels].push(sample?);
    }
    Ok((spec.sample_rate, out))
}

/// Writes `seconds` of a sine at `hz` as raw µ-law, for SIPp's `rtp_stream`.
pub fn write_ulaw_tone(path: &Path, hz: f64, seconds: f64) -> anyhow::Result<()> {
    let samples = hotline_media::tone::sine(hz, 0.5, (seconds * 8000.0) as usize, 8000);
    let mut bytes = Vec::with_capacity(samples.len());
    hotline_media::g711::G711::Pcmu.encode(&samples, &mut bytes);
    std::fs::write(path, bytes)?;
    Ok(())
}

/// The next notification of the given kind, within `limit`.
pub async fn next_notice(
    stream: &mut tonic::Streaming<hotline_api::gateway::v1::AgentNotification>,
    limit: Duration,
    want: fn(&hotline_api::gateway::v1::agent_notification::Kind) -> bool,
) -> anyhow::Result<hotline_api::gateway::v1::agent_notification::Kind> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let message = tokio::time::timeout_at(deadline, stream.message())
            .await
            .map_err(|_| anyhow::anyhow!("no such notification within {limit:?}"))??
            .ok_or_else(|| anyhow::anyhow!("the notification stream ended"))?;
        if let Some(kind) = message.kind
            && want(&kind)
        {
            return Ok(kind);
        }
    }
}

/// Waits until the gateway reports a registered softphone for `agent`.
pub async fn wait_registered(world: &GatewayWorld, agent: &str) -> anyhow::Result<()> {
    let mut api = world.agent_api("supervisor01").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let status = api
            .get_agent(hotline_api::gateway::v1::AgentRequest {
                agent: agent.into(),
            })
            .await?
            .into_inner();
        if status.registered {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{agent}'s softphone did not register within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn sipp_caller_args(
    world: &GatewayWorld,
    digit: char,
    talk_ms: u32,
) -> anyhow::Result<Vec<String>> {
    let scenario = sipp_scenarios().join("trunk_caller.xml");
    Ok(vec![
        world.sip.to_string(),
        "-sf".into(),
        scenario.display().to_string(),
        "-m".into(),
        "1".into(),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        free_udp_port()?.to_string(),
        "-mi".into(),
        "127.0.0.1".into(),
        "-mp".into(),
        free_udp_port()?.to_string(),
        "-key".into(),
        "caller".into(),
        "13800138000".into(),
        "-key".into(),
        "digit".into(),
        digit.to_string(),
        "-d".into(),
        talk_ms.to_string(),
        "-timeout".into(),
        "60s".into(),
        "-timeout_error".into(),
        "-nostdin".into(),
    ])
}

/// The two seconds before the last half second of a recording's channel (8 kHz): the
/// end of the call, before the caller hung up.
pub fn last_seconds(channel: &[i16]) -> &[i16] {
    let end = channel.len().saturating_sub(4000);
    &channel[end.saturating_sub(16_000)..end]
}

/// The tones of a transferred call's parties, and the ones a test plays.
pub struct TransferTones {
    pub caller: f64,
    pub agent: f64,
    pub lawyer: f64,
}

/// What a blind or attended transfer leaves in the one recording of the call: the
/// caller on the left to the end, the lawyer on the right at the end, and the agent's
/// voice on the right before the transfer.
pub fn assert_recording_ends_with_the_lawyer(channels: &[Vec<i16>], tones: &TransferTones) {
    let all = [tones.caller, tones.agent, tones.lawyer];
    assert_eq!(
        hotline_media::tone::dominant_tone(last_seconds(&channels[0]), &all, 8000),
        Some(tones.caller),
        "the caller is on the left to the end"
    );
    assert_eq!(
        hotline_media::tone::dominant_tone(last_seconds(&channels[1]), &all, 8000),
        Some(tones.lawyer),
        "the lawyer is on the right at the end of the one recording"
    );
    let agent_part = &channels[1][..channels[1].len() / 2];
    assert!(
        hotline_media::tone::goertzel_power(agent_part, tones.agent, 8000) > 1e-4,
        "the agent's voice is in the same recording, before the transfer"
    );
}

/// An answered, recorded call reached ticket-core with each of its events exactly once
/// (offered, queued, answered, ended, recording ready), however often they were sent.
pub fn assert_answered_call_events_once(call: &Call) {
    use hotline_api::ticket::v1::CallEventKind as K;
    let kinds: Vec<i32> = call.events.iter().map(|e| e.kind).collect();
    for kind in [
        K::Offered,
        K::Queued,
        K::Answered,
        K::Ended,
        K::RecordingReady,
    ] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind as i32).count(),
            1,
            "exactly one {kind:?} in {kinds:?}"
        );
    }
}
