//! Starts ticket-core in-process on a temporary data directory, with an injected
//! clock, and hands out authenticated gRPC clients.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use hotline_api::ticket::v1 as pb;
use ticket_core::app::{CoreApp, Settings};
use ticket_core::domain::Clock;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// 2026-11-23 09:00 China time (a Monday), in Unix milliseconds.
pub const MONDAY_9AM: i64 = 1_795_395_600_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;

#[derive(Default)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub use hotline_api::BearerToken as Bearer;

type Authed = InterceptedService<Channel, Bearer>;

pub struct Harness {
    pub addr: std::net::SocketAddr,
    pub tokens: HashMap<String, String>,
    pub clock: Arc<TestClock>,
    pub dir: tempfile::TempDir,
    channel: Channel,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(TestClock::default());
    clock.set(MONDAY_9AM);
    let app = CoreApp::build(
        Settings {
            data_dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            core: Default::default(),
        },
        clock.clone(),
    )
    .await
    .expect("ticket-core starts");
    let addr = app.local_addr();
    let tokens = app
        .first_start_tokens
        .as_ref()
        .expect("a new data dir is seeded")
        .iter()
        .map(|t| (t.user.clone(), t.token.clone()))
        .collect();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run(async {
        let _ = stop_rx.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connects");
    Harness {
        addr,
        tokens,
        clock,
        dir,
        channel,
        stop: Some(stop_tx),
    }
}

impl Harness {
    pub fn bearer(&self, user: &str) -> Bearer {
        let token = self
            .tokens
            .get(user)
            .unwrap_or_else(|| panic!("no token for {user}"));
        Bearer::new(token).unwrap()
    }

    pub fn tickets(&self, user: &str) -> pb::ticket_service_client::TicketServiceClient<Authed> {
        pb::ticket_service_client::TicketServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn work_orders(
        &self,
        user: &str,
    ) -> pb::work_order_service_client::WorkOrderServiceClient<Authed> {
        pb::work_order_service_client::WorkOrderServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn calls(&self, user: &str) -> pb::call_service_client::CallServiceClient<Authed> {
        pb::call_service_client::CallServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn events(&self, user: &str) -> pb::event_service_client::EventServiceClient<Authed> {
        pb::event_service_client::EventServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn directory(
        &self,
        user: &str,
    ) -> pb::directory_service_client::DirectoryServiceClient<Authed> {
        pb::directory_service_client::DirectoryServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn alerts(&self, user: &str) -> pb::alert_service_client::AlertServiceClient<Authed> {
        pb::alert_service_client::AlertServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn metrics(&self, user: &str) -> pb::metrics_service_client::MetricsServiceClient<Authed> {
        pb::metrics_service_client::MetricsServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    pub fn raw_channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Rows in a table, read straight from the database file.
    pub fn count(&self, table: &str) -> i64 {
        let conn =
            rusqlite::Connection::open(self.dir.path().join(ticket_core::app::DATABASE_FILE))
                .unwrap();
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
    }

    /// A ticket about unpaid wages; `phone` varies the caller.
    pub async fn create(&self, phone: &str) -> pb::Ticket {
        self.tickets("agent01")
            .create_ticket(wage_ticket(phone))
            .await
            .expect("ticket created")
            .into_inner()
    }

    /// Dispatches `ticket_id` to `org` with a sign deadline tomorrow and reply in 15 days.
    pub async fn dispatch(&self, ticket_id: i64, org: &str) -> pb::WorkOrder {
        let now = self.clock.now();
        self.work_orders("dispatcher01")
            .dispatch(pb::DispatchRequest {
                ticket_id,
                org_code: org.into(),
                rule: format!("territorial {org}"),
                reason: "用人单位在辖区内".into(),
                sign_due_at_ms: now + DAY,
                reply_due_at_ms: now + 21 * DAY,
            })
            .await
            .expect("dispatched")
            .into_inner()
    }
}

pub fn wage_ticket(phone: &str) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        channel: pb::Channel::Phone as i32,
        kind: pb::TicketKind::Request as i32,
        topic: "欠薪".into(),
        caller: Some(pb::Caller {
            phone: phone.into(),
            name: "王师傅".into(),
            ..Default::default()
        }),
        employer: Some(pb::Employer {
            name: "广州某某建筑劳务有限公司".into(),
            region_code: "440106".into(),
            industry_code: "47".into(),
            ..Default::default()
        }),
        place_region_code: "440106".into(),
        place_detail: "天河区某工地".into(),
        workers: 1,
        description: "工地老板拖欠工资三个月，共欠薪两万元".into(),
        ..Default::default()
    }
}

/// The field names of an InvalidArgument's `google.rpc.BadRequest` details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("InvalidArgument carries BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}
