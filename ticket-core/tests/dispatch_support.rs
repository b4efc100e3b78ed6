//! What the dispatcher relies on: submission for routing, the manual queue, worker
//! notices kept with the ticket, and alerts for supervisors.

mod common;

use common::*;
use hotline_api::ticket::v1 as pb;
use tonic::Code;

#[tokio::test]
async fn submitted_tickets_are_announced_and_the_manual_queue_is_searchable() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let submitted = h
        .tickets("agent01")
        .submit_for_dispatch(pb::SubmitForDispatchRequest {
            ticket_id: ticket.id,
            note: "请交办属地工会".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(submitted.submitted_at_ms, h.clock.now());

    // Routing could not place it: it waits for a person, and dispatchers can find it.
    let mut dispatcher = h.tickets("dispatcher-service");
    let no_reason = dispatcher
        .request_manual_dispatch(pb::RequestManualDispatchRequest {
            ticket_id: ticket.id,
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    dispatcher
        .request_manual_dispatch(pb::RequestManualDispatchRequest {
            ticket_id: ticket.id,
            reason: "事发地区划代码未知".into(),
        })
        .await
        .unwrap();
    let queue = h
        .tickets("dispatcher01")
        .search_tickets(pb::SearchTicketsRequest {
            awaiting_manual_dispatch: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queue.tickets.len(), 1);
    assert_eq!(
        queue.tickets[0].manual_dispatch_reason,
        "事发地区划代码未知"
    );

    // A person dispatches it: it leaves the queue.
    h.dispatch(ticket.id, "440106").await;
    let queue = h
        .tickets("dispatcher01")
        .search_tickets(pb::SearchTicketsRequest {
            awaiting_manual_dispatch: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(queue.tickets.is_empty());

    // With a work order open, it cannot be submitted again.
    let again = h
        .tickets("agent01")
        .submit_for_dispatch(pb::SubmitForDispatchRequest {
            ticket_id: ticket.id,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    let actions: Vec<String> = h
        .events("dispatcher-service")
        .list_events(pb::ListEventsRequest {
            ticket_id: ticket.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "ticket.created",
            "ticket.submitted",
            "ticket.manual_dispatch_requested",
            "work_order.dispatched",
            "ticket.dispatched"
        ]
    );
}

#[tokio::test]
async fn notices_are_stored_with_the_ticket_once() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let request = pb::AddNoticeRequest {
        ticket_id: ticket.id,
        kind: pb::NoticeKind::NotAccepted as i32,
        title: "不予受理告知书".into(),
        body: "王师傅：您反映的事项属于劳动争议仲裁范围，请向劳动人事争议仲裁委员会申请仲裁。"
            .into(),
        emailed_to: "wang@example.cn".into(),
        dedup_key: format!("notice:{}:not_accepted", ticket.id),
    };
    let mut client = h.tickets("dispatcher-service");
    let first = client
        .add_notice(request.clone())
        .await
        .unwrap()
        .into_inner();
    let replay = client.add_notice(request).await.unwrap().into_inner();
    assert_eq!(first.id, replay.id);
    let listed = h
        .tickets("agent01")
        .list_notices(pb::ListNoticesRequest {
            ticket_id: ticket.id,
        })
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, pb::NoticeKind::NotAccepted as i32);
    assert_eq!(listed[0].created_by, "dispatcher-service");

    let bad = client
        .add_notice(pb::AddNoticeRequest {
            ticket_id: ticket.id,
            emailed_to: "not an address".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["body", "emailed_to", "kind", "title"]);
    // A union that has nothing to do with the ticket cannot read its notices.
    let err = h
        .tickets("tianhe01")
        .list_notices(pb::ListNoticesRequest {
            ticket_id: ticket.id,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn alerts_are_raised_once_and_reach_the_supervisors_they_concern() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let mut raiser = h.alerts("dispatcher-service");
    let raise = |key: &str, region: &str| pb::RaiseAlertRequest {
        key: key.into(),
        kind: "employer_cluster".into(),
        message: "七日内同一用人单位来电五件".into(),
        ticket_ids: vec![ticket.id],
        region_code: region.into(),
    };
    let guangzhou = raiser
        .raise_alert(raise("employer:x:2026-11-23", "440106"))
        .await
        .unwrap()
        .into_inner();
    let again = raiser
        .raise_alert(raise("employer:x:2026-11-23", "440106"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(guangzhou.id, again.id);
    raiser
        .raise_alert(raise("employer:y:2026-11-23", "440305"))
        .await
        .unwrap();

    let token = {
        let mut conn =
            rusqlite::Connection::open(h.dir.path().join(ticket_core::app::DATABASE_FILE)).unwrap();
        ticket_core::admin::create_user(
            &mut conn,
            "gz-sup",
            "广州督办",
            "supervisor",
            "440100",
            "",
            0,
        )
        .unwrap()
    };
    let mut gz = pb::alert_service_client::AlertServiceClient::with_interceptor(
        h.raw_channel(),
        Bearer::new(&token).unwrap(),
    );
    let seen = gz
        .list_alerts(pb::ListAlertsRequest {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts;
    assert_eq!(
        seen.iter().map(|a| a.id).collect::<Vec<_>>(),
        [guangzhou.id]
    );
    let province = h
        .alerts("supervisor01")
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .alerts;
    assert_eq!(province.len(), 2);

    let acked = gz
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            alert_id: guangzhou.id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(acked.acknowledged_by, "gz-sup");
    let open = gz
        .list_alerts(pb::ListAlertsRequest {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts;
    assert!(open.is_empty());
    let err = h
        .alerts("tianhe01")
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
