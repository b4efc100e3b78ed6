//! The dispatcher service against a real ticket-core (in-process, over gRPC, on SQLite in
//! a temporary directory), on an injected clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use dispatcher::clock::Policy;
use dispatcher::notify::Outbox;
use dispatcher::service::{Dispatcher, DispatcherSettings};
use hotline_api::ticket::v1 as pb;
use ticket_core::app::{CoreApp, Settings};
use ticket_core::domain::Clock;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// 2026-11-23 09:00 China time, a Monday.
const MONDAY_9AM: i64 = 1_795_395_600_000;
/// Tuesday 2026-11-24 23:59:59 China time: one working day after Monday.
const TUESDAY_END: i64 = 1_795_535_999_000;
const WAIT: Duration = Duration::from_secs(20);
const RULES: &str = include_str!("../../deploy/sample-routing.toml");

struct SharedClock(AtomicI64);

impl Clock for SharedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

type Bearer = hotline_api::BearerToken;

struct World {
    dir: tempfile::TempDir,
    url: String,
    tokens: HashMap<String, String>,
    clock: Arc<SharedClock>,
    channel: Channel,
    stop_dispatcher: Option<tokio::sync::oneshot::Sender<()>>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
    outbox: Arc<Outbox>,
    wake: Option<Arc<tokio::sync::Notify>>,
}

impl World {
    async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(SharedClock(AtomicI64::new(MONDAY_9AM)));
        let app = CoreApp::build(
            Settings {
                data_dir: dir.path().to_owned(),
                listen: "127.0.0.1:0".parse().unwrap(),
                core: Default::default(),
            },
            clock.clone(),
        )
        .await
        .unwrap();
        let url = format!("http://{}", app.local_addr());
        let tokens = app
            .first_start_tokens
            .as_ref()
            .unwrap()
            .iter()
            .map(|t| (t.user.clone(), t.token.clone()))
            .collect();
        tokio::spawn(app.run(std::future::pending()));
        let channel = Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let outbox = Arc::new(Outbox::open(dir.path().join("outbox.sqlite3")).unwrap());
        let mut world = World {
            wake: None,
            outbox,
            dir,
            url,
            tokens,
            clock,
            channel,
            stop_dispatcher: None,
            dispatcher: None,
        };
        world.start_dispatcher().await;
        world
    }

    async fn start_dispatcher(&mut self) {
        let clock = self.clock.clone();
        let dispatcher = Dispatcher::start(
            DispatcherSettings {
                core_url: self.url.clone(),
                token: self.tokens["dispatcher-service"].clone(),
                state_path: self.dir.path().join("dispatcher.sqlite3"),
                rules_toml: RULES.into(),
                policy: Policy::default(),
                calendar: hotline_calendar::Calendar::builtin(),
                cluster_threshold: 5,
                cluster_window_days: 7,
                outbox: Some(self.outbox.clone()),
                hotline_name: "广东省12351职工服务热线".into(),
            },
            Arc::new(move || clock.now_ms()),
        )
        .await
        .expect("dispatcher starts");
        self.wake = Some(dispatcher.wake_handle());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop_dispatcher = Some(stop);
        self.dispatcher = Some(tokio::spawn(dispatcher.run(async {
            let _ = stopped.await;
        })));
    }

    async fn stop_dispatcher(&mut self) {
        let _ = self.stop_dispatcher.take().unwrap().send(());
        self.dispatcher.take().unwrap().await.unwrap();
    }

    fn bearer(&self, user: &str) -> Bearer {
        Bearer::new(&self.tokens[user]).unwrap()
    }

    fn tickets(
        &self,
        user: &str,
    ) -> pb::ticket_service_client::TicketServiceClient<InterceptedService<Channel, Bearer>> {
        pb::ticket_service_client::TicketServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    fn work_orders(
        &self,
        user: &str,
    ) -> pb::work_order_service_client::WorkOrderServiceClient<InterceptedService<Channel, Bearer>>
    {
        pb::work_order_service_client::WorkOrderServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(user),
        )
    }

    /// Follows ticket-core's log (as an admin) from the current end.
    async fn follow(&self) -> (tonic::Streaming<pb::Event>, i64) {
        let mut events = pb::event_service_client::EventServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer("admin"),
        );
        let last = events
            .list_events(pb::ListEventsRequest {
                after_seq: 0,
                limit: 5000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .events
            .last()
            .map_or(0, |e| e.seq);
        let stream = events
            .subscribe(pb::SubscribeRequest { after_seq: last })
            .await
            .unwrap()
            .into_inner();
        (stream, last)
    }

    async fn submit(&self, mut request: pb::CreateTicketRequest) -> pb::Ticket {
        request.request_id = String::new();
        let ticket = self
            .tickets("agent01")
            .create_ticket(request)
            .await
            .unwrap()
            .into_inner();
        self.tickets("agent01")
            .submit_for_dispatch(pb::SubmitForDispatchRequest {
                ticket_id: ticket.id,
                note: String::new(),
            })
            .await
            .unwrap();
        ticket
    }
}

/// Waits for the next event with `action` about `ticket_id`.
async fn wait_for(
    stream: &mut tonic::Streaming<pb::Event>,
    action: &str,
    ticket_id: i64,
) -> pb::Event {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = stream.message().await.unwrap().expect("stream open");
            if event.action == action && event.ticket_id == ticket_id {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {action} for ticket {ticket_id} in time"))
}

/// Waits until the outbox holds the email with `key`.
async fn queued(outbox: &Outbox, key: &str) -> dispatcher::notify::OutboxEntry {
    let mut progress = outbox.watch_progress();
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(mail) = outbox.find(key).unwrap() {
                return mail;
            }
            progress.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no email {key} queued in time"))
}

fn ticket(phone: &str, region: &str, industry: &str, employer: &str) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        channel: pb::Channel::Phone as i32,
        kind: pb::TicketKind::Request as i32,
        topic: "欠薪".into(),
        caller: Some(pb::Caller {
            phone: phone.into(),
            ..Default::default()
        }),
        employer: Some(pb::Employer {
            name: employer.into(),
            region_code: region.into(),
            industry_code: industry.into(),
            ..Default::default()
        }),
        workers: 1,
        description: "拖欠工资两个月".into(),
        ..Default::default()
    }
}

fn work_order_of(event: &pb::Event) -> serde_json::Value {
    serde_json::from_str(&event.after_json).unwrap()
}

#[tokio::test]
async fn submitted_tickets_go_to_the_right_union_with_working_day_deadlines() {
    let world = World::start().await;
    let (mut log, _) = world.follow().await;

    let tianhe = world
        .submit(ticket("13800138001", "440106", "47", "某建筑劳务公司"))
        .await;
    let dispatched = wait_for(&mut log, "work_order.dispatched", tianhe.id).await;
    let wo = work_order_of(&dispatched);
    assert_eq!(wo["org_code"], "440106");
    assert_eq!(wo["rule"], "territorial 440106");
    assert_eq!(wo["lifecycle"]["sign_due_at"], TUESDAY_END);
    assert_eq!(dispatched.actor, "dispatcher-service");
    // The handling union hears of it by email, queued in the durable outbox.
    let mail = queued(&world.outbox, &format!("dispatch:{}", dispatched.entity_id)).await;
    assert_eq!(mail.email.to, ["tianhe@gz-union.example.cn"]);
    assert!(
        mail.email.subject.contains(&tianhe.number),
        "{}",
        mail.email.subject
    );

    // A Foshan district has no union of its own: its city union takes it.
    let foshan = world
        .submit(ticket("13800138002", "440604", "C", "某制造厂"))
        .await;
    let wo = work_order_of(&wait_for(&mut log, "work_order.dispatched", foshan.id).await);
    assert_eq!(wo["org_code"], "440600");

    // A railway employer goes to the railway union, wherever it is.
    let railway = world
        .submit(ticket("13800138003", "440106", "53", "某铁路工程公司"))
        .await;
    let wo = work_order_of(&wait_for(&mut log, "work_order.dispatched", railway.id).await);
    assert_eq!(wo["org_code"], "GD-RAIL");
    assert!(wo["rule"].as_str().unwrap().contains("railway"), "{wo}");

    // Neither place nor employer: a person decides, never a guess.
    let unknown = world.submit(ticket("13800138004", "", "", "")).await;
    let queued = wait_for(&mut log, "ticket.manual_dispatch_requested", unknown.id).await;
    let after: serde_json::Value = serde_json::from_str(&queued.after_json).unwrap();
    assert!(!after["manual_dispatch_reason"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn a_returned_work_order_is_rerouted_without_that_union_and_twice_goes_to_a_person() {
    let world = World::start().await;
    let (mut log, _) = world.follow().await;
    let t = world
        .submit(ticket("13800138001", "440106", "47", "某建筑劳务公司"))
        .await;
    let first = work_order_of(&wait_for(&mut log, "work_order.dispatched", t.id).await);
    let act = |id: i64, user: &'static str| {
        let mut orders = world.work_orders(user);
        async move {
            orders
                .act(pb::ActRequest {
                    work_order_id: id,
                    reason: "不属于本辖区".into(),
                    action: Some(pb::act_request::Action::Return(pb::Return {})),
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    act(first["id"].as_i64().unwrap(), "tianhe01").await;
    let second = work_order_of(&wait_for(&mut log, "work_order.dispatched", t.id).await);
    assert_eq!(
        second["org_code"], "440100",
        "the city union, not the county that returned it"
    );

    act(second["id"].as_i64().unwrap(), "admin").await;
    let queued = wait_for(&mut log, "ticket.manual_dispatch_requested", t.id).await;
    assert!(
        queued.reason.contains("returned twice"),
        "{}",
        queued.reason
    );
}

#[tokio::test]
async fn early_warnings_for_collective_tickets_and_employer_clusters() {
    let world = World::start().await;
    let (mut log, _) = world.follow().await;
    let mut collective = ticket("13900139000", "440106", "47", "某物流公司");
    collective.workers = 20;
    let collective = world
        .tickets("agent01")
        .create_ticket(collective)
        .await
        .unwrap()
        .into_inner();
    let alert = wait_for(&mut log, "alert.raised", collective.id).await;
    assert!(alert.reason.contains("群体"), "{}", alert.reason);
    let mail = queued(
        &world.outbox,
        &format!("warning:collective:{}", collective.id),
    )
    .await;
    assert_eq!(mail.email.to, ["duban@gd-union.example.cn"]);

    let mut ids = Vec::new();
    for i in 0..5 {
        let t = ticket(
            &format!("1370013700{i}"),
            "440106",
            "52",
            "广州某某超市有限公司",
        );
        ids.push(
            world
                .tickets("agent01")
                .create_ticket(t)
                .await
                .unwrap()
                .into_inner()
                .id,
        );
        world.clock.0.fetch_add(86_400_000, Ordering::SeqCst);
    }
    let cluster = wait_for(&mut log, "alert.raised", ids[0]).await;
    let after: serde_json::Value = serde_json::from_str(&cluster.after_json).unwrap();
    assert_eq!(after["kind"], "employer_cluster");
    assert_eq!(after["ticket_ids"].as_array().unwrap().len(), 5);
    let key = format!("warning:{}", after["key"].as_str().unwrap());
    let mail = queued(&world.outbox, &key).await;
    assert!(
        mail.email.body.contains("广州某某超市有限公司"),
        "{}",
        mail.email.body
    );
}

#[tokio::test]
async fn a_restarted_dispatcher_misses_nothing_and_repeats_nothing() {
    let mut world = World::start().await;
    let (mut log, _) = world.follow().await;
    let before = world
        .submit(ticket("13800138001", "440106", "47", "甲公司"))
        .await;
    wait_for(&mut log, "work_order.dispatched", before.id).await;
    world.stop_dispatcher().await;

    // Submitted while the dispatcher is down.
    let during = world
        .submit(ticket("13800138002", "440105", "47", "乙公司"))
        .await;
    world.start_dispatcher().await;
    wait_for(&mut log, "work_order.dispatched", during.id).await;
    let after = world
        .submit(ticket("13800138003", "440104", "47", "丙公司"))
        .await;
    wait_for(&mut log, "work_order.dispatched", after.id).await;

    let all = world
        .work_orders("admin")
        .list_work_orders(pb::ListWorkOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .work_orders;
    let mut per_ticket: HashMap<i64, usize> = HashMap::new();
    for wo in &all {
        *per_ticket.entry(wo.ticket_id).or_default() += 1;
    }
    assert_eq!(per_ticket.len(), 3);
    assert!(per_ticket.values().all(|n| *n == 1), "{per_ticket:?}");
}

#[tokio::test]
async fn a_worker_gets_a_notice_stored_with_the_ticket_and_emailed() {
    let world = World::start().await;
    let (mut log, _) = world.follow().await;
    let mut request = ticket("13800138009", "440106", "47", "某公司");
    request.caller.as_mut().unwrap().name = "王师傅".into();
    request.caller.as_mut().unwrap().email = "wang@example.cn".into();
    let t = world
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    world
        .tickets("agent01")
        .dispose(pb::DisposeRequest {
            ticket_id: t.id,
            disposition: pb::Disposition::NotAccepted as i32,
            reason: "所反映事项属于劳动争议仲裁受理范围".into(),
            forwarded_to: "向广州市天河区劳动人事争议仲裁委员会申请仲裁".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for(&mut log, "ticket.notice_issued", t.id).await;
    let notices = world
        .tickets("agent01")
        .list_notices(pb::ListNoticesRequest { ticket_id: t.id })
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, pb::NoticeKind::NotAccepted as i32);
    assert_eq!(notices[0].title, "不予受理告知书");
    assert!(notices[0].body.contains("王师傅"), "{}", notices[0].body);
    assert!(
        notices[0].body.contains("劳动人事争议仲裁委员会"),
        "{}",
        notices[0].body
    );
    assert_eq!(notices[0].emailed_to, "wang@example.cn");
    let mail = queued(&world.outbox, &format!("notice:ticket:{}", t.id)).await;
    assert_eq!(mail.email.to, ["wang@example.cn"]);
}

#[tokio::test]
async fn the_clock_urges_after_a_deadline_then_escalates_once_each() {
    let mut world = World::start().await;
    let (mut log, _) = world.follow().await;
    let t = world
        .submit(ticket("13800138001", "440106", "47", "某建筑劳务公司"))
        .await;
    let dispatched = wait_for(&mut log, "work_order.dispatched", t.id).await;
    let wo = dispatched.entity_id;

    // Wednesday 10:00: the sign-for deadline (Tuesday night) has passed unsigned.
    world
        .clock
        .0
        .store(MONDAY_9AM + 2 * 86_400_000 + 3_600_000, Ordering::SeqCst);
    world.wake.as_ref().unwrap().notify_one();
    let urged = wait_for(&mut log, "work_order.urged", t.id).await;
    assert!(
        urged.reason.starts_with("[sign_for/urge@"),
        "{}",
        urged.reason
    );
    let mail = queued(
        &world.outbox,
        &format!("clock:{wo}:sign_for/urge@{TUESDAY_END}"),
    )
    .await;
    assert_eq!(mail.email.to, ["tianhe@gz-union.example.cn"]);
    assert!(
        mail.email.subject.contains("催办"),
        "{}",
        mail.email.subject
    );

    // The next Monday, still unsigned: escalated to the province.
    world
        .clock
        .0
        .store(MONDAY_9AM + 7 * 86_400_000 + 3_600_000, Ordering::SeqCst);
    world.wake.as_ref().unwrap().notify_one();
    let escalated = wait_for(&mut log, "work_order.escalated", t.id).await;
    assert!(
        escalated.reason.starts_with("[sign_for/escalation@"),
        "{}",
        escalated.reason
    );
    let mail = queued(
        &world.outbox,
        &format!("clock:{wo}:sign_for/escalation@{TUESDAY_END}"),
    )
    .await;
    assert_eq!(mail.email.to, ["duban@gd-union.example.cn"]);

    // A restarted dispatcher sends none of it again.
    world.stop_dispatcher().await;
    world.start_dispatcher().await;
    world.wake.as_ref().unwrap().notify_one();
    let t2 = world
        .submit(ticket("13800138002", "440105", "47", "另一公司"))
        .await;
    wait_for(&mut log, "work_order.dispatched", t2.id).await;
    let history = world
        .tickets("admin")
        .get_ticket(pb::GetTicketRequest {
            ticket_id: t.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.work_orders.len(), 1);
    let urges = world
        .work_orders("admin")
        .get_work_order(pb::GetWorkOrderRequest { work_order_id: wo })
        .await
        .unwrap()
        .into_inner()
        .urge_count;
    assert_eq!(urges, 2, "one urge and one escalation, each once");
}

#[tokio::test]
async fn a_matter_no_longer_accepted_after_final_review_gets_its_notice() {
    let world = World::start().await;
    let (mut log, _) = world.follow().await;
    let t = world
        .tickets("agent01")
        .create_ticket(ticket("13800138009", "440106", "47", "某公司"))
        .await
        .unwrap()
        .into_inner();
    let no_basis = world
        .tickets("agent01")
        .dispose(pb::DisposeRequest {
            ticket_id: t.id,
            disposition: pb::Disposition::NoLongerAccepted as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(no_basis.code(), tonic::Code::InvalidArgument);
    world
        .tickets("agent01")
        .dispose(pb::DisposeRequest {
            ticket_id: t.id,
            disposition: pb::Disposition::NoLongerAccepted as i32,
            reason: "该事项已于2026年9月1日经广东省总工会复核并作出复核意见".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for(&mut log, "ticket.notice_issued", t.id).await;
    let notices = world
        .tickets("agent01")
        .list_notices(pb::ListNoticesRequest { ticket_id: t.id })
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert_eq!(notices[0].kind, pb::NoticeKind::NoLonger as i32);
    assert_eq!(notices[0].title, "不再受理告知书");
    assert!(notices[0].body.contains("复核"), "{}", notices[0].body);
}
