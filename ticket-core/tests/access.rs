//! Tokens and scopes: no token, no answer; a union sees and acts on its own work
//! orders only, through every RPC; a supervisor sees their subtree.

mod common;

use common::*;
use hotline_api::ticket::v1 as pb;
use pb::act_request::Action;
use tonic::Code;

#[tokio::test]
async fn calls_without_a_valid_token_are_refused() {
    let h = start().await;
    let mut anonymous = pb::ticket_service_client::TicketServiceClient::new(h.raw_channel());
    let err = anonymous
        .create_ticket(wage_ticket("13800138000"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("bearer token"), "{}", err.message());

    let forged = Bearer::new("hl_0000").unwrap();
    let mut forged =
        pb::ticket_service_client::TicketServiceClient::with_interceptor(h.raw_channel(), forged);
    let err = forged
        .create_ticket(wage_ticket("13800138000"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(h.count("tickets"), 0);
}

#[tokio::test]
async fn roles_limit_what_each_user_may_do() {
    let h = start().await;
    // A union handler takes no calls and registers no tickets.
    let err = h
        .tickets("tianhe01")
        .create_ticket(wage_ticket("13800138000"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Only the gateway (a service) and admins report call events.
    let err = h
        .calls("agent01")
        .record_call_event(pb::RecordCallEventRequest {
            event_id: "e".into(),
            call_uuid: "c".into(),
            kind: pb::CallEventKind::Offered as i32,
            at_ms: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The whole event log is for services, dispatchers and admins.
    let err = h
        .events("tianhe01")
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h
        .events("agent01")
        .subscribe(pb::SubscribeRequest { after_seq: 0 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

/// Union 440106 (tianhe01) against a work order of union 440105 (haizhu01), through
/// every RPC that could read or change it.
#[tokio::test]
async fn a_union_cannot_read_or_change_another_unions_work_orders() {
    let h = start().await;
    let theirs_ticket = h.create("13800138000").await;
    let theirs = h.dispatch(theirs_ticket.id, "440105").await;
    let ours_ticket = h.create("13900139000").await;
    let ours = h.dispatch(ours_ticket.id, "440106").await;
    let events_before = h.count("events");

    let mut orders = h.work_orders("tianhe01");
    let err = orders
        .get_work_order(pb::GetWorkOrderRequest {
            work_order_id: theirs.id,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let listed = orders
        .list_work_orders(pb::ListWorkOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.work_orders.iter().map(|w| w.id).collect::<Vec<_>>(),
        [ours.id]
    );
    let asked_for_theirs = orders
        .list_work_orders(pb::ListWorkOrdersRequest {
            org_code: "440105".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(asked_for_theirs.work_orders.is_empty());

    let every_action = [
        Action::Sign(pb::Sign {}),
        Action::Reply(pb::Reply {
            outcome: pb::ReplyOutcome::Resolved as i32,
            text: "x".into(),
            ..Default::default()
        }),
        Action::Return(pb::Return {}),
        Action::RequestExtension(pb::RequestExtension {
            until_ms: theirs.reply_due_at_ms + DAY,
        }),
        Action::DecideExtension(pb::DecideExtension { approve: true }),
        Action::Review(pb::Review {
            approve: true,
            rework_reply_due_at_ms: 0,
        }),
        Action::Callback(pb::RecordCallback {
            result: pb::CallbackResult::Satisfied as i32,
            reopen_reply_due_at_ms: 0,
        }),
        Action::Reopen(pb::Reopen {
            reply_due_at_ms: h.clock.now() + DAY,
        }),
        Action::Close(pb::Close {}),
        Action::Urge(pb::Urge {
            level: "urge".into(),
        }),
    ];
    for action in every_action {
        let err = orders
            .act(pb::ActRequest {
                work_order_id: theirs.id,
                reason: "试图越权".into(),
                expected_version: 0,
                action: Some(action.clone()),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{action:?}: {err:?}");
    }

    // Their ticket is invisible too: by id, by number, by search, in its history.
    let mut tickets = h.tickets("tianhe01");
    for request in [
        pb::GetTicketRequest {
            ticket_id: theirs_ticket.id,
            ..Default::default()
        },
        pb::GetTicketRequest {
            number: theirs_ticket.number.clone(),
            ..Default::default()
        },
    ] {
        assert_eq!(
            tickets.get_ticket(request).await.unwrap_err().code(),
            Code::NotFound
        );
    }
    let found = tickets
        .search_tickets(pb::SearchTicketsRequest {
            text: "欠薪".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
        [ours_ticket.id]
    );
    let err = h
        .events("tianhe01")
        .list_events(pb::ListEventsRequest {
            ticket_id: theirs_ticket.id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = tickets
        .add_note(pb::AddNoteRequest {
            ticket_id: theirs_ticket.id,
            text: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::NotFound | Code::PermissionDenied),
        "{err:?}"
    );
    let err = tickets
        .lookup_caller(pb::LookupCallerRequest {
            phone: "13800138000".into(),
            limit: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Nothing was changed by any of it, and the owner still can act.
    assert_eq!(h.count("events"), events_before);
    let signed = h
        .work_orders("haizhu01")
        .act(pb::ActRequest {
            work_order_id: theirs.id,
            action: Some(Action::Sign(pb::Sign {})),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(signed.state, "signed");
    // Our own ticket is readable, with only what concerns us.
    let own = tickets
        .get_ticket(pb::GetTicketRequest {
            ticket_id: ours_ticket.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.work_orders.len(), 1);
}

#[tokio::test]
async fn a_supervisor_sees_their_subtree_only() {
    let h = start().await;
    let guangzhou = h.dispatch(h.create("13800138000").await.id, "440106").await;
    let mut shenzhen_ticket = wage_ticket("13900139000");
    shenzhen_ticket.employer.as_mut().unwrap().region_code = "440305".into();
    let shenzhen_ticket = h
        .tickets("agent01")
        .create_ticket(shenzhen_ticket)
        .await
        .unwrap()
        .into_inner();
    let shenzhen = h.dispatch(shenzhen_ticket.id, "440305").await;

    // A Guangzhou city supervisor, created the way an administrator would.
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
    let bearer = Bearer::new(&token).unwrap();
    let mut orders = pb::work_order_service_client::WorkOrderServiceClient::with_interceptor(
        h.raw_channel(),
        bearer,
    );
    let seen = orders
        .list_work_orders(pb::ListWorkOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        seen.work_orders.iter().map(|w| w.id).collect::<Vec<_>>(),
        [guangzhou.id]
    );
    let err = orders
        .get_work_order(pb::GetWorkOrderRequest {
            work_order_id: shenzhen.id,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // The provincial supervisor sees both.
    let all = h
        .work_orders("supervisor01")
        .list_work_orders(pb::ListWorkOrdersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.work_orders.len(), 2);
}
