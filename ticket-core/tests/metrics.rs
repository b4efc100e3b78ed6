//! Supervisors' figures over a small, fully known history on an injected clock; the
//! definitions are those of ticket-core/METRICS.md.

mod common;

use common::*;
use hotline_api::ticket::v1 as pb;
use pb::act_request::Action;

async fn act(h: &Harness, user: &str, id: i64, action: Action, reason: &str) {
    h.work_orders(user)
        .act(pb::ActRequest {
            work_order_id: id,
            reason: reason.into(),
            action: Some(action),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{user} on {id}: {e}"));
}

async fn dispatch(h: &Harness, ticket_id: i64, org: &str) -> i64 {
    let now = h.clock.now();
    h.work_orders("dispatcher01")
        .dispatch(pb::DispatchRequest {
            ticket_id,
            org_code: org.into(),
            rule: format!("territorial {org}"),
            reason: String::new(),
            sign_due_at_ms: MONDAY_9AM + DAY,
            reply_due_at_ms: MONDAY_9AM + 5 * DAY,
        })
        .await
        .unwrap_or_else(|e| panic!("dispatch at {now}: {e}"))
        .into_inner()
        .id
}

fn reply(amount: i64, workers: i32) -> Action {
    Action::Reply(pb::Reply {
        outcome: pb::ReplyOutcome::Resolved as i32,
        text: "已追回工资".into(),
        amount_recovered_fen: amount,
        workers_helped: workers,
    })
}

fn ratio(rate: &Option<pb::Rate>) -> (i64, i64) {
    let rate = rate.as_ref().unwrap();
    (rate.numerator, rate.denominator)
}

#[tokio::test]
async fn figures_follow_their_definitions() {
    let h = start().await;
    let t: Vec<i64> = {
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(h.create(&format!("1380013800{i}")).await.id);
        }
        ids
    };
    h.tickets("agent01")
        .dispose(pb::DisposeRequest {
            ticket_id: t[3],
            disposition: pb::Disposition::ResolvedOnCall as i32,
            reason: "已解答".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // A: on time all the way, worker satisfied.
    let a = dispatch(&h, t[0], "440106").await;
    // B: never signed.
    let _b = dispatch(&h, t[1], "440106").await;
    // C: returned; D: its re-dispatch, signed and replied late.
    let c = dispatch(&h, t[2], "440105").await;
    h.clock.advance(HOUR);
    act(&h, "tianhe01", a, Action::Sign(pb::Sign {}), "").await;
    h.clock.advance(HOUR);
    act(
        &h,
        "haizhu01",
        c,
        Action::Return(pb::Return {}),
        "不属于本辖区",
    )
    .await;
    let d = dispatch(&h, t[2], "440105").await;
    h.clock.set(MONDAY_9AM + 2 * DAY);
    act(&h, "tianhe01", a, reply(1_000_000, 3), "").await;
    act(&h, "haizhu01", d, Action::Sign(pb::Sign {}), "").await;
    let approve = Action::Review(pb::Review {
        approve: true,
        rework_reply_due_at_ms: 0,
    });
    act(&h, "dispatcher01", a, approve, "").await;
    let satisfied = Action::Callback(pb::RecordCallback {
        result: pb::CallbackResult::Satisfied as i32,
        reopen_reply_due_at_ms: 0,
    });
    act(&h, "agent01", a, satisfied, "").await;
    act(&h, "dispatcher01", a, Action::Close(pb::Close {}), "").await;
    h.clock.set(MONDAY_9AM + 6 * DAY);
    act(&h, "haizhu01", d, reply(50_000, 1), "").await;
    h.clock.set(MONDAY_9AM + 7 * DAY);

    let week = pb::MetricsRequest {
        from_ms: MONDAY_9AM - DAY,
        to_ms: MONDAY_9AM + 30 * DAY,
        ..Default::default()
    };
    let s = h
        .metrics("supervisor01")
        .get_summary(week.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.tickets, 4);
    assert_eq!(s.work_orders_dispatched, 4);
    assert_eq!(ratio(&s.returns), (1, 4));
    assert_eq!(
        ratio(&s.timely_sign_for),
        (1, 3),
        "A on time; B unsigned past due; D late; C returned unsigned"
    );
    assert_eq!(
        ratio(&s.on_time_closure),
        (1, 3),
        "A on time; B overdue; D late"
    );
    assert_eq!(ratio(&s.satisfaction), (1, 1));
    assert_eq!(ratio(&s.first_contact_resolution), (1, 4));
    assert_eq!(s.overdue, 1);
    assert_eq!(s.amount_recovered_fen, 1_050_000);
    assert_eq!(s.workers_helped, 4);
    assert_eq!(s.by_channel.len(), 1);
    assert_eq!(
        (s.by_channel[0].key.as_str(), s.by_channel[0].count),
        ("phone", 4)
    );
    assert_eq!(s.by_region[0].key, "440106");
    assert_eq!(s.by_region[0].label, "广东省广州市天河区");
    assert_eq!(s.by_topic[0].label, "欠薪");
    let tianhe = s.by_union.iter().find(|u| u.org_code == "440106").unwrap();
    assert_eq!((tianhe.dispatched, tianhe.overdue), (2, 1));
    let haizhu = s.by_union.iter().find(|u| u.org_code == "440105").unwrap();
    assert_eq!(ratio(&haizhu.returns), (1, 2));

    let overdue = h
        .metrics("supervisor01")
        .list_overdue(week.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overdue.work_orders.len(), 1);
    assert_eq!(overdue.work_orders[0].stage, "sign_for");
    assert_eq!(overdue.work_orders[0].overdue_ms, 6 * DAY);

    // A union sees its own figures; a subtree sees the tickets sent into it.
    let own = h
        .metrics("tianhe01")
        .get_summary(week.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.work_orders_dispatched, 2);
    assert_eq!(own.tickets, 2);
    assert_eq!(own.calls_offered, 0);
    let other = h
        .metrics("tianhe01")
        .get_summary(pb::MetricsRequest {
            org_code: "440105".into(),
            ..week.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), tonic::Code::NotFound);
    let backwards = h
        .metrics("supervisor01")
        .get_summary(pb::MetricsRequest {
            from_ms: week.to_ms,
            to_ms: week.from_ms,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&backwards), ["to_ms"]);
}
