//! Email against a real SMTP server: aiosmtpd (Debian `python3-aiosmtpd`) writing every
//! message it accepts into a Maildir, which the tests read back and decode.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use dispatcher::notify::{
    DispatchNotice, Email, Mailer, NoticeDetails, NoticeRequest, Outbox, OutboxProgress, Priority,
    SmtpSettings, SystemTimeSource, TicketFacts, TimeSource, enqueue, notice_email,
    render_dispatch, render_notice, run_sender,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const PYTHON: &str = "/usr/bin/python3";
/// Longest wait for any single expected event (delivery, failed attempt, shutdown).
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// The SMTP server

/// aiosmtpd cannot report the port it bound, so a port is chosen by binding port 0 and
/// releasing it just before the server starts: a small race, accepted for a test peer.
fn unused_loopback_port() -> u16 {
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

struct SmtpServer {
    child: Child,
    maildir: PathBuf,
    log: PathBuf,
}

impl SmtpServer {
    /// Starts aiosmtpd on 127.0.0.1:`port` and returns once it greets with `220`.
    fn start(port: u16, work_dir: &Path) -> Self {
        require_aiosmtpd();
        let maildir = work_dir.join("maildir");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("create maildir");
        }
        let log = work_dir.join(format!("aiosmtpd-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create server log");
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
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
        server.wait_until_ready(port);
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connects until the server greets, within a bounded number of tries and time.
    fn wait_until_ready(&mut self, port: u16) {
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

    fn delivered(&self) -> Vec<Delivered> {
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
struct Delivered {
    headers: Vec<(String, String)>,
    body: String,
}

impl Delivered {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn decoded_header(&self, name: &str) -> String {
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
            let raw = std::fs::read(entry.expect("maildir entry").path()).expect("read message");
            parse_message(&String::from_utf8(raw).expect("delivered message is 7-bit/UTF-8"))
        })
        .collect();
    delivered.sort_by_key(|message| message.decoded_header("Subject"));
    delivered
}

fn parse_message(raw: &str) -> Delivered {
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
    Delivered { headers, body }
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
fn decode_rfc2047(value: &str) -> String {
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

// ---------------------------------------------------------------------------------------
// The dispatcher side

/// A clock the test moves by hand, so a 30-second backoff passes instantly.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// Starts at the current whole second: the outbox stores milliseconds, so the test
    /// can compare stored times with the clock exactly.
    fn starting_now() -> Arc<Self> {
        let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now in range");
        Arc::new(Self(Mutex::new(now)))
    }

    fn advance(&self, seconds: i64) {
        let mut now = self.0.lock().expect("clock lock");
        *now += chrono::Duration::seconds(seconds);
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

fn smtp_settings(port: u16) -> SmtpSettings {
    SmtpSettings::from_toml(&format!(
        r#"
        [smtp]
        host = "127.0.0.1"
        port = {port}
        security = "plain"
        from_address = "12351@gdftu.org.cn"
        from_name = "广东省12351职工服务热线"
        timeout_seconds = 5
        "#
    ))
    .expect("valid [smtp] settings")
}

struct RunningSender {
    outbox: Arc<Outbox>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), dispatcher::notify::SenderError>>,
}

impl RunningSender {
    fn start(work_dir: &Path, port: u16, clock: Arc<dyn TimeSource>) -> Self {
        let outbox = Arc::new(Outbox::open(work_dir.join("outbox.sqlite")).expect("open outbox"));
        let mailer = Mailer::from_settings(&smtp_settings(port)).expect("mailer");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_sender(Arc::clone(&outbox), mailer, clock, async move {
            let _ = stopped.await;
        }));
        Self {
            outbox,
            stop: Some(stop),
            task,
        }
    }

    async fn wait_for(&self, what: &str, mut done: impl FnMut(&OutboxProgress) -> bool) {
        let mut progress = self.outbox.watch_progress();
        let outcome = tokio::time::timeout(EVENT_TIMEOUT, progress.wait_for(|p| done(p)))
            .await
            .map(|result| result.map(|reached| *reached));
        match outcome {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => panic!("the outbox went away while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; progress {:?}",
                *progress.borrow()
            ),
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(EVENT_TIMEOUT, self.task)
            .await
            .expect("sender stops on shutdown")
            .expect("sender task did not panic")
            .expect("sender ended without an outbox error");
    }
}

fn dispatch_email() -> Email {
    render_dispatch(&DispatchNotice {
        to: vec![
            "yuexiu@gzftu.example.cn".into(),
            "yuexiu-duty@gzftu.example.cn".into(),
        ],
        union_name: "广州市越秀区总工会".into(),
        ticket: TicketFacts {
            ticket_number: "GD20261123000123".into(),
            topic: "拖欠工资".into(),
            employer_name: "广州某某连锁超市有限公司".into(),
            region_name: "广州市越秀区".into(),
            summary: "12名职工反映2026年10月工资至今未发放，公司正在重组。".into(),
        },
        priority: Priority::Collective,
        sign_deadline: "2026年11月24日 18:00".into(),
        reply_deadline: "2026年11月30日 18:00".into(),
        working_day_note: "按工作日计算，已扣除周末及法定节假日".into(),
        hotline_name: "广东省12351职工服务热线".into(),
    })
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_email_arrives_in_chinese() {
    let work_dir = tempfile::tempdir().expect("temp dir");
    let port = unused_loopback_port();
    let server = SmtpServer::start(port, work_dir.path());
    let sender = RunningSender::start(work_dir.path(), port, Arc::new(SystemTimeSource));

    let email = dispatch_email();
    let queued = enqueue(
        &sender.outbox,
        email.clone(),
        "dispatch:GD20261123000123:1".into(),
        Utc::now(),
    )
    .await
    .expect("enqueue");
    assert!(queued);
    sender
        .wait_for("the dispatch email to be sent", |p| p.sent >= 1)
        .await;
    sender.stop().await;

    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let message = &delivered[0];
    assert_eq!(message.decoded_header("Subject"), email.subject);
    assert!(
        message.header("Subject").is_some_and(|raw| raw.is_ascii()),
        "the subject travels RFC 2047-encoded"
    );
    assert_eq!(message.body.trim_end(), email.body.trim_end());
    assert!(message.body.contains("签收期限：2026年11月24日 18:00前"));
    let from = message.decoded_header("From");
    assert!(from.contains("广东省12351职工服务热线"), "{from}");
    assert!(from.contains("<12351@gdftu.org.cn>"), "{from}");
    assert_eq!(
        message.header("X-RcptTo"),
        Some("yuexiu@gzftu.example.cn, yuexiu-duty@gzftu.example.cn")
    );
    let content_type = message
        .header("Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        content_type.contains("text/plain") && content_type.contains("charset=utf-8"),
        "{content_type}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_the_smtp_server_is_down() {
    let work_dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on this port until the server starts below.
    let port = unused_loopback_port();
    let clock = ManualClock::starting_now();
    let sender = RunningSender::start(work_dir.path(), port, clock.clone());

    let subjects = [
        "【催办通知】一号工单",
        "【催办通知】二号工单",
        "【预警】三号工单",
    ];
    for (index, subject) in subjects.iter().enumerate() {
        let email = Email {
            to: vec![format!("union{index}@example.cn")],
            subject: (*subject).to_owned(),
            body: format!("第{index}封：服务器停机期间排队的邮件。"),
        };
        let queued = enqueue(&sender.outbox, email, format!("urge:{index}"), clock.now())
            .await
            .expect("enqueue");
        assert!(queued);
    }

    sender
        .wait_for("a first failed attempt for each message", |p| {
            p.failed_attempts >= 3
        })
        .await;
    for index in 0..subjects.len() {
        let entry = sender
            .outbox
            .find(&format!("urge:{index}"))
            .expect("find")
            .expect("kept");
        assert_eq!(entry.attempts, 1);
        assert!(entry.sent_at.is_none());
        assert!(entry.last_error.as_deref().is_some_and(|e| !e.is_empty()));
        assert_eq!(
            entry.next_attempt_at,
            clock.now() + chrono::Duration::seconds(30)
        );
    }

    // Still down at the first retry: the attempt is counted and the wait doubles.
    clock.advance(30);
    sender.outbox.wake_sender();
    sender
        .wait_for("a second failed attempt for each message", |p| {
            p.failed_attempts >= 6
        })
        .await;
    for index in 0..subjects.len() {
        let entry = sender
            .outbox
            .find(&format!("urge:{index}"))
            .expect("find")
            .expect("kept");
        assert_eq!(entry.attempts, 2);
        assert_eq!(
            entry.next_attempt_at,
            clock.now() + chrono::Duration::seconds(60)
        );
    }
    assert_eq!(sender.outbox.pending_count().expect("count"), 3);

    let server = SmtpServer::start(port, work_dir.path());
    clock.advance(60);
    sender.outbox.wake_sender();
    sender
        .wait_for("every queued message to be sent", |p| p.sent >= 3)
        .await;
    assert_eq!(sender.outbox.pending_count().expect("count"), 0);

    // Another look at the outbox, an hour later, must not send anything again.
    clock.advance(3600);
    sender.outbox.wake_sender();
    let outbox = Arc::clone(&sender.outbox);
    sender.stop().await;
    let progress = *outbox.watch_progress().borrow();
    assert_eq!((progress.sent, progress.failed_attempts), (3, 6));

    let delivered = server.delivered();
    let mut delivered_subjects: Vec<String> = delivered
        .iter()
        .map(|message| message.decoded_header("Subject"))
        .collect();
    delivered_subjects.sort();
    let mut expected: Vec<String> = subjects.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(delivered_subjects, expected, "each message exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_event_is_sent_once() {
    let work_dir = tempfile::tempdir().expect("temp dir");
    let port = unused_loopback_port();
    let server = SmtpServer::start(port, work_dir.path());
    let sender = RunningSender::start(work_dir.path(), port, Arc::new(SystemTimeSource));

    let email = dispatch_email();
    let key = "dispatch:GD20261123000123:1".to_owned();
    assert!(
        enqueue(&sender.outbox, email.clone(), key.clone(), Utc::now())
            .await
            .expect("enqueue")
    );
    assert!(
        !enqueue(&sender.outbox, email.clone(), key.clone(), Utc::now())
            .await
            .expect("enqueue")
    );
    sender
        .wait_for("the email to be sent", |p| p.sent >= 1)
        .await;
    // A replay after sending is absorbed as well.
    assert!(
        !enqueue(&sender.outbox, email, key.clone(), Utc::now())
            .await
            .expect("enqueue")
    );
    let entry = sender.outbox.find(&key).expect("find").expect("stored");
    assert!(entry.sent_at.is_some());
    assert_eq!(entry.attempts, 0);
    let progress = *sender.outbox.watch_progress().borrow();
    sender.stop().await;

    assert_eq!(progress.enqueued, 1);
    assert_eq!(progress.sent, 1);
    assert_eq!(server.delivered().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_reaches_the_worker() {
    let work_dir = tempfile::tempdir().expect("temp dir");
    let port = unused_loopback_port();
    let server = SmtpServer::start(port, work_dir.path());
    let sender = RunningSender::start(work_dir.path(), port, Arc::new(SystemTimeSource));

    let notice = render_notice(&NoticeRequest {
        worker_name: "张三".into(),
        ticket_number: "GD20261103000042".into(),
        received_on: NaiveDate::from_ymd_opt(2026, 11, 3).expect("date"),
        matter_summary: "某超市拖欠2026年10月工资".into(),
        issuer_name: "广东省总工会12351职工服务热线".into(),
        issued_on: NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"),
        details: NoticeDetails::Outcome {
            handling_union: "广州市越秀区总工会".into(),
            outcome: "已解决".into(),
            result: "经协调，用人单位已于2026年11月20日补发工资8600元".into(),
        },
    })
    .expect("notice renders");
    let email = notice_email(&notice, "zhangsan@example.cn");
    assert!(
        enqueue(
            &sender.outbox,
            email,
            "notice:GD20261103000042:outcome".into(),
            Utc::now()
        )
        .await
        .expect("enqueue")
    );
    sender
        .wait_for("the notice to be sent", |p| p.sent >= 1)
        .await;
    sender.stop().await;

    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    assert_eq!(
        message.decoded_header("Subject"),
        "办理情况告知书（12351工单GD20261103000042）"
    );
    assert_eq!(message.header("X-RcptTo"), Some("zhangsan@example.cn"));
    assert_eq!(message.body.trim_end(), notice.text.trim_end());
    assert!(message.body.contains("张三：\n"));
    assert!(message.body.contains("2026年11月23日"));
}
