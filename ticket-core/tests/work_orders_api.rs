//! The work-order lifecycle over gRPC, each step taken by the role that owns it.

mod common;

use common::*;
use hotline_api::ticket::v1 as pb;
use pb::act_request::Action;
use tonic::Code;

async fn act(
    h: &Harness,
    user: &str,
    id: i64,
    action: Action,
    reason: &str,
) -> Result<pb::WorkOrder, tonic::Status> {
    h.work_orders(user)
        .act(pb::ActRequest {
            work_order_id: id,
            reason: reason.into(),
            expected_version: 0,
            action: Some(action),
        })
        .await
        .map(|r| r.into_inner())
}

fn reply() -> Action {
    Action::Reply(pb::Reply {
        outcome: pb::ReplyOutcome::Resolved as i32,
        text: "经协调，企业已补发工资".into(),
        amount_recovered_fen: 2_000_000,
        workers_helped: 1,
    })
}

#[tokio::test]
async fn full_lifecycle_closes_the_ticket_with_its_work_order() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let wo = h.dispatch(ticket.id, "440106").await;
    assert_eq!(wo.state, "dispatched");
    assert_eq!(wo.org_name, "广州市天河区总工会");
    assert_eq!(wo.rule, "territorial 440106");

    h.clock.advance(HOUR);
    let wo = act(&h, "tianhe01", wo.id, Action::Sign(pb::Sign {}), "")
        .await
        .unwrap();
    assert_eq!(wo.signed_at_ms, h.clock.now());
    h.clock.advance(3 * DAY);
    let wo = act(&h, "tianhe01", wo.id, reply(), "").await.unwrap();
    assert_eq!(wo.state, "replied");
    assert_eq!(wo.amount_recovered_fen, 2_000_000);
    let wo = act(
        &h,
        "dispatcher01",
        wo.id,
        Action::Review(pb::Review {
            approve: true,
            rework_reply_due_at_ms: 0,
        }),
        "",
    )
    .await
    .unwrap();
    assert_eq!(wo.state, "approved");
    let wo = act(
        &h,
        "agent01",
        wo.id,
        Action::Callback(pb::RecordCallback {
            result: pb::CallbackResult::Satisfied as i32,
            reopen_reply_due_at_ms: 0,
        }),
        "",
    )
    .await
    .unwrap();
    assert_eq!(wo.state, "called_back");
    let wo = act(&h, "dispatcher01", wo.id, Action::Close(pb::Close {}), "")
        .await
        .unwrap();
    assert_eq!(wo.state, "closed");

    let ticket = h
        .tickets("agent01")
        .get_ticket(pb::GetTicketRequest {
            ticket_id: ticket.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket.state, "closed");
    assert_eq!(ticket.work_orders.len(), 1);
    assert_eq!(ticket.work_orders[0].state, "closed");

    // Reopened after closing: the ticket opens again with it.
    let reopened = act(
        &h,
        "supervisor01",
        wo.id,
        Action::Reopen(pb::Reopen {
            reply_due_at_ms: h.clock.now() + 10 * DAY,
        }),
        "职工反映工资仍未到账",
    )
    .await
    .unwrap();
    assert_eq!(reopened.state, "signed");
    assert_eq!(reopened.reopen_count, 1);
    let ticket = h
        .tickets("agent01")
        .get_ticket(pb::GetTicketRequest {
            ticket_id: ticket.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket.state, "dispatched");
    assert_eq!(ticket.closed_at_ms, 0);
}

#[tokio::test]
async fn illegal_transition_names_the_current_state_and_changes_nothing() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let wo = h.dispatch(ticket.id, "440106").await;
    let events_before = h.count("events");
    let err = act(&h, "tianhe01", wo.id, reply(), "").await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(
        err.message(),
        "cannot reply to a work order that is dispatched"
    );
    assert_eq!(h.count("events"), events_before);
    let unchanged = h
        .work_orders("tianhe01")
        .get_work_order(pb::GetWorkOrderRequest {
            work_order_id: wo.id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged.version, wo.version);
}

#[tokio::test]
async fn return_reroute_and_second_dispatch_rules() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let first = h.dispatch(ticket.id, "440106").await;
    // A second work order while the first is open is refused.
    let mut orders = h.work_orders("dispatcher01");
    let twice = orders
        .dispatch(pb::DispatchRequest {
            ticket_id: ticket.id,
            org_code: "440105".into(),
            rule: "manual".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert!(
        twice.message().contains("work order still open"),
        "{}",
        twice.message()
    );

    let no_reason = act(&h, "tianhe01", first.id, Action::Return(pb::Return {}), " ")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    let returned = act(
        &h,
        "tianhe01",
        first.id,
        Action::Return(pb::Return {}),
        "用人单位注册地在海珠区",
    )
    .await
    .unwrap();
    assert_eq!(returned.state, "returned");
    assert_eq!(returned.return_reason, "用人单位注册地在海珠区");
    let second = h.dispatch(ticket.id, "440105").await;
    assert_eq!(second.org_code, "440105");

    // The centre itself does not handle work orders; unknown organisations are named.
    let centre = orders
        .dispatch(pb::DispatchRequest {
            ticket_id: h.create("13900139000").await.id,
            org_code: "GD-12351".into(),
            rule: "manual".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&centre), ["org_code"]);
}

#[tokio::test]
async fn extension_rework_and_unsatisfied_callback() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let wo = h.dispatch(ticket.id, "440106").await;
    let wo = act(&h, "tianhe01", wo.id, Action::Sign(pb::Sign {}), "")
        .await
        .unwrap();
    let too_long = act(
        &h,
        "tianhe01",
        wo.id,
        Action::RequestExtension(pb::RequestExtension {
            until_ms: wo.reply_due_at_ms + 40 * DAY,
        }),
        "需要调取考勤记录",
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&too_long), ["request_extension.until_ms"]);
    let asked = act(
        &h,
        "tianhe01",
        wo.id,
        Action::RequestExtension(pb::RequestExtension {
            until_ms: wo.reply_due_at_ms + 10 * DAY,
        }),
        "需要调取考勤记录",
    )
    .await
    .unwrap();
    assert_eq!(
        asked.extension_requested_until_ms,
        wo.reply_due_at_ms + 10 * DAY
    );
    // The union cannot approve its own extension.
    let own = act(
        &h,
        "tianhe01",
        wo.id,
        Action::DecideExtension(pb::DecideExtension { approve: true }),
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied);
    let approved = act(
        &h,
        "supervisor01",
        wo.id,
        Action::DecideExtension(pb::DecideExtension { approve: true }),
        "",
    )
    .await
    .unwrap();
    assert_eq!(approved.reply_due_at_ms, wo.reply_due_at_ms + 10 * DAY);
    assert_eq!(approved.original_reply_due_at_ms, wo.reply_due_at_ms);

    let replied = act(&h, "tianhe01", wo.id, reply(), "").await.unwrap();
    let rework = act(
        &h,
        "dispatcher01",
        replied.id,
        Action::Review(pb::Review {
            approve: false,
            rework_reply_due_at_ms: h.clock.now() + 5 * DAY,
        }),
        "未说明补发金额依据",
    )
    .await
    .unwrap();
    assert_eq!(rework.state, "signed");
    assert_eq!(rework.rework_count, 1);
    act(&h, "tianhe01", wo.id, reply(), "").await.unwrap();
    act(
        &h,
        "dispatcher01",
        wo.id,
        Action::Review(pb::Review {
            approve: true,
            rework_reply_due_at_ms: 0,
        }),
        "",
    )
    .await
    .unwrap();
    let unsatisfied = act(
        &h,
        "agent01",
        wo.id,
        Action::Callback(pb::RecordCallback {
            result: pb::CallbackResult::Unsatisfied as i32,
            reopen_reply_due_at_ms: h.clock.now() + 5 * DAY,
        }),
        "职工称只补发了一半",
    )
    .await
    .unwrap();
    assert_eq!(unsatisfied.state, "signed");
    assert_eq!(unsatisfied.reopen_count, 1);
    assert_eq!(
        unsatisfied.callback_result,
        pb::CallbackResult::Unsatisfied as i32
    );
}

#[tokio::test]
async fn optimistic_version_check_and_urges() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let wo = h.dispatch(ticket.id, "440106").await;
    let urged = act(
        &h,
        "supervisor01",
        wo.id,
        Action::Urge(pb::Urge {
            level: "urge".into(),
        }),
        "已超时",
    )
    .await
    .unwrap();
    assert_eq!(urged.urge_count, 1);
    assert_eq!(urged.state, "dispatched");
    let stale = h
        .work_orders("tianhe01")
        .act(pb::ActRequest {
            work_order_id: wo.id,
            expected_version: wo.version,
            action: Some(Action::Sign(pb::Sign {})),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    let overdue = h
        .work_orders("supervisor01")
        .list_work_orders(pb::ListWorkOrdersRequest {
            overdue_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(overdue.work_orders.is_empty());
    h.clock.advance(2 * DAY);
    let overdue = h
        .work_orders("supervisor01")
        .list_work_orders(pb::ListWorkOrdersRequest {
            overdue_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        overdue.work_orders.len(),
        1,
        "not signed a day after dispatch"
    );
}
