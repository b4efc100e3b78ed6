//! Email against a real SMTP server (see `smtp_peer`): Chinese subjects and bodies,
//! the durable outbox with the server down, deduplication, worker notices, TLS modes.

mod smtp_peer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use dispatcher::notify::{
    DispatchNotice, Email, Mailer, NoticeDetails, NoticeRequest, Outbox, OutboxProgress, Priority,
    SmtpSettings, SystemTimeSource, TicketFacts, TimeSource, enqueue, notice_email,
    render_dispatch, render_notice, run_sender,
};
use smtp_peer::{ServerTls, SmtpServer, python_view, tls_fixture, unused_loopback_port};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest wait for any single expected event (delivery, failed attempt, shutdown).
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

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
    smtp_settings_with(port, "plain", "")
}

fn smtp_settings_with(port: u16, security: &str, extra: &str) -> SmtpSettings {
    SmtpSettings::from_toml(&format!(
        r#"
        [smtp]
        host = "127.0.0.1"
        port = {port}
        security = "{security}"
        from_address = "12351@gdftu.org.cn"
        from_name = "广东省12351职工服务热线"
        timeout_seconds = 5
        {extra}
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
        Self::start_with(work_dir, &smtp_settings(port), clock)
    }

    fn start_with(work_dir: &Path, settings: &SmtpSettings, clock: Arc<dyn TimeSource>) -> Self {
        let outbox = Arc::new(Outbox::open(work_dir.join("outbox.sqlite")).expect("open outbox"));
        let mailer = Mailer::from_settings(settings).expect("mailer");
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

    let python = python_view(&message.path);
    assert_eq!(python.subject, email.subject);
    assert_eq!(python.from, "广东省12351职工服务热线 <12351@gdftu.org.cn>");
    assert_eq!(
        python.body.replace("\r\n", "\n").trim_end(),
        email.body.trim_end()
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

/// Sends one Chinese email over an encrypted connection to a server whose certificate
/// comes from a private CA given as `ca_file`.
async fn deliver_over_tls(server_tls: ServerTls, security: &str) {
    let work_dir = tempfile::tempdir().expect("temp dir");
    let port = unused_loopback_port();
    let server = SmtpServer::start_with(port, work_dir.path(), server_tls);
    let ca_file = tls_fixture("ca.pem");
    let settings = smtp_settings_with(
        port,
        security,
        &format!("ca_file = \"{}\"", ca_file.display()),
    );
    let sender = RunningSender::start_with(work_dir.path(), &settings, Arc::new(SystemTimeSource));

    let email = dispatch_email();
    assert!(
        enqueue(
            &sender.outbox,
            email.clone(),
            format!("tls:{security}"),
            Utc::now()
        )
        .await
        .expect("enqueue")
    );
    sender
        .wait_for(&format!("the email to be sent over {security}"), |p| {
            p.sent >= 1 || p.failed_attempts >= 1
        })
        .await;
    let entry = sender
        .outbox
        .find(&format!("tls:{security}"))
        .expect("find")
        .expect("stored");
    assert!(
        entry.sent_at.is_some(),
        "not sent over {security}: {:?}\nserver log:\n{}",
        entry.last_error,
        server.log_text()
    );
    sender.stop().await;

    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].decoded_header("Subject"), email.subject);
    assert_eq!(delivered[0].body.trim_end(), email.body.trim_end());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_delivers_to_a_server_with_a_private_ca() {
    deliver_over_tls(ServerTls::Starttls, "starttls").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_delivers_to_a_server_with_a_private_ca() {
    deliver_over_tls(ServerTls::Smtps, "tls").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_an_untrusted_ca_is_refused() {
    let work_dir = tempfile::tempdir().expect("temp dir");
    let port = unused_loopback_port();
    let server = SmtpServer::start_with(port, work_dir.path(), ServerTls::Smtps);
    // No ca_file: only the public roots are trusted, and the test CA is not one of them.
    let settings = smtp_settings_with(port, "tls", "");
    let sender = RunningSender::start_with(work_dir.path(), &settings, Arc::new(SystemTimeSource));
    assert!(
        enqueue(
            &sender.outbox,
            dispatch_email(),
            "tls:untrusted".into(),
            Utc::now()
        )
        .await
        .expect("enqueue")
    );
    sender
        .wait_for("the attempt to fail", |p| p.failed_attempts >= 1)
        .await;
    let entry = sender
        .outbox
        .find("tls:untrusted")
        .expect("find")
        .expect("kept");
    assert!(entry.sent_at.is_none());
    assert_eq!(entry.attempts, 1);
    sender.stop().await;
    assert!(server.delivered().is_empty());
}
