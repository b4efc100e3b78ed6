//! Tickets over gRPC: intake, validation, duplicates, search, caller history, outcomes.

mod common;

use common::*;
use hotline_api::ticket::v1 as pb;
use tonic::Code;

#[tokio::test]
async fn created_ticket_gets_a_sortable_number_and_is_read_back() {
    let h = start().await;
    let first = h.create("13800138000").await;
    let second = h.create("13900139000").await;
    assert_eq!(first.number, "GD20261123000001");
    assert_eq!(second.number, "GD20261123000002");
    assert!(first.number < second.number);
    assert_eq!(first.state, "registered");
    assert_eq!(first.priority, pb::Priority::Normal as i32);
    assert_eq!(first.created_by, "agent01");
    assert_eq!(first.intake_org_code, "GD-12351");

    let by_number = h
        .tickets("agent01")
        .get_ticket(pb::GetTicketRequest {
            number: first.number.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_number.id, first.id);
    assert_eq!(by_number.description, first.description);

    // The daily sequence starts again the next day (China time).
    h.clock.advance(DAY);
    assert_eq!(h.create("13700137000").await.number, "GD20261124000001");
}

#[tokio::test]
async fn phone_forms_are_normalised_and_priority_follows_workers_and_urgency() {
    let h = start().await;
    let mut request = wage_ticket("+86 138-0013-8000");
    request.workers = 30;
    let collective = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(collective.caller.unwrap().phone, "13800138000");
    assert_eq!(collective.priority, pb::Priority::Collective as i32);

    let mut request = wage_ticket("020-87654321");
    request.urgent = true;
    let urgent = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(urgent.priority, pb::Priority::Urgent as i32);
}

#[tokio::test]
async fn every_bad_field_is_named_and_nothing_is_stored() {
    let h = start().await;
    let tickets_before = h.count("tickets");
    let events_before = h.count("events");
    let mut request = wage_ticket("12345");
    request.caller.as_mut().unwrap().resident_id = "110105194912310021".into(); // wrong check digit
    request.employer = Some(pb::Employer {
        name: "某公司".into(),
        uscc: "91350100M000100Y44".into(), // wrong check character
        region_code: "449999".into(),      // not in GB/T 2260
        industry_code: "99".into(),        // not in GB/T 4754
    });
    request.workers = 0;
    request.topic = String::new();
    let status = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap_err();
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            "caller.phone",
            "caller.resident_id",
            "employer.industry_code",
            "employer.region_code",
            "employer.uscc",
            "topic",
            "workers"
        ]
    );
    assert!(
        status.message().contains("caller.phone"),
        "{}",
        status.message()
    );
    assert_eq!(h.count("tickets"), tickets_before);
    assert_eq!(h.count("events"), events_before);
}

#[tokio::test]
async fn missing_channel_and_kind_are_refused() {
    let h = start().await;
    let mut request = wage_ticket("13800138000");
    request.channel = 0;
    request.kind = 42;
    let status = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap_err();
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(fields, ["channel", "kind"]);
}

#[tokio::test]
async fn valid_identity_numbers_are_accepted() {
    let h = start().await;
    let mut request = wage_ticket("13800138000");
    request.caller.as_mut().unwrap().resident_id = "11010519491231002x".into();
    request.employer.as_mut().unwrap().uscc = "91350100m000100y43".into();
    let ticket = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket.caller.unwrap().resident_id, "11010519491231002X");
    assert_eq!(ticket.employer.unwrap().uscc, "91350100M000100Y43");
}

#[tokio::test]
async fn a_retried_create_returns_the_first_ticket() {
    let h = start().await;
    let mut request = wage_ticket("13800138000");
    request.request_id = "agent01-7f3a".into();
    let first = h
        .tickets("agent01")
        .create_ticket(request.clone())
        .await
        .unwrap()
        .into_inner();
    let again = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.id, again.id);
    assert_eq!(h.count("tickets"), 1);
}

#[tokio::test]
async fn possible_duplicates_are_flagged_within_the_window() {
    let h = start().await;
    let first = h.create("13800138000").await;
    // Same caller again a week later: flagged.
    h.clock.advance(7 * DAY);
    let second = h.create("13800138000").await;
    assert_eq!(second.possible_duplicates, [first.id]);
    // Another caller about the same employer (no USCC: by normalised name) and topic: flagged.
    let mut request = wage_ticket("13600136000");
    request.employer.as_mut().unwrap().name = "广州某某建筑劳务（有限公司）".into();
    let third = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(third.possible_duplicates, [second.id, first.id]);
    // Past the 30-day window: not flagged.
    h.clock.advance(31 * DAY);
    let mut request = wage_ticket("13500135000");
    request.employer.as_mut().unwrap().name = "另一家公司".into();
    let late = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert!(late.possible_duplicates.is_empty());
    let late_same_caller = h.create("13800138000").await;
    assert!(
        late_same_caller.possible_duplicates.is_empty(),
        "{:?}",
        late_same_caller.possible_duplicates
    );
}

#[tokio::test]
async fn chinese_full_text_search_finds_two_character_words() {
    let h = start().await;
    let wages = h.create("13800138000").await;
    let mut injury = wage_ticket("13900139000");
    injury.topic = "工伤".into();
    injury.description = "在车间操作冲床时手指受伤，公司不给认定工伤".into();
    let injury = h
        .tickets("agent01")
        .create_ticket(injury)
        .await
        .unwrap()
        .into_inner();

    let search = |text: &str| {
        let mut client = h.tickets("agent01");
        let text = text.to_owned();
        async move {
            client
                .search_tickets(pb::SearchTicketsRequest {
                    text,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .tickets
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("欠薪").await, [wages.id]);
    assert_eq!(search("工资").await, [wages.id]);
    assert_eq!(search("工伤").await, [injury.id]);
    assert_eq!(search("手指 冲床").await, [injury.id]);
    assert!(search("社保").await.is_empty());

    let err = h
        .tickets("agent01")
        .search_tickets(pb::SearchTicketsRequest {
            text: "，。".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["text"]);
}

#[tokio::test]
async fn search_by_fields_region_subtree_and_paging() {
    let h = start().await;
    for i in 0..5 {
        h.create(&format!("1380013800{i}")).await;
    }
    let mut shenzhen = wage_ticket("13900139000");
    shenzhen.employer.as_mut().unwrap().region_code = "440305".into();
    shenzhen.place_region_code = "440305".into();
    let shenzhen = h
        .tickets("agent01")
        .create_ticket(shenzhen)
        .await
        .unwrap()
        .into_inner();

    let mut client = h.tickets("supervisor01");
    let in_shenzhen = client
        .search_tickets(pb::SearchTicketsRequest {
            region_code: "440300".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        in_shenzhen.tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
        [shenzhen.id]
    );

    let page = client
        .search_tickets(pb::SearchTicketsRequest {
            region_code: "440100".into(),
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.tickets.len(), 3);
    let rest = client
        .search_tickets(pb::SearchTicketsRequest {
            region_code: "440100".into(),
            limit: 3,
            before_id: page.next_before_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.tickets.len(), 2);
    assert_eq!(rest.next_before_id, 0);

    let bad = client
        .search_tickets(pb::SearchTicketsRequest {
            region_code: "999999".into(),
            limit: 900,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn caller_lookup_shows_past_tickets_and_calls() {
    let h = start().await;
    let first = h.create("13800138000").await;
    h.create("13900139000").await;
    h.calls("gateway")
        .record_call_event(pb::RecordCallEventRequest {
            event_id: "e1".into(),
            call_uuid: "call-1".into(),
            kind: pb::CallEventKind::Offered as i32,
            at_ms: h.clock.now(),
            caller_phone: "+8613800138000".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let history = h
        .tickets("agent01")
        .lookup_caller(pb::LookupCallerRequest {
            phone: "138 0013 8000".into(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.phone, "13800138000");
    assert_eq!(
        history.tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
        [first.id]
    );
    assert_eq!(history.open_tickets, 1);
    assert_eq!(history.calls.len(), 1);
    assert_eq!(history.calls[0].call_uuid, "call-1");

    let unknown = h
        .tickets("agent01")
        .lookup_caller(pb::LookupCallerRequest {
            phone: "13300133000".into(),
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(unknown.tickets.is_empty() && unknown.calls.is_empty());
}

#[tokio::test]
async fn outcomes_without_a_work_order_need_their_reasons() {
    let h = start().await;
    let consult = h.create("13800138000").await;
    let mut tickets = h.tickets("agent01");
    let resolved = tickets
        .dispose(pb::DisposeRequest {
            ticket_id: consult.id,
            disposition: pb::Disposition::ResolvedOnCall as i32,
            reason: "已告知可向劳动监察大队投诉".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.state, "resolved_on_call");
    assert!(resolved.closed_at_ms > 0);
    // Once decided, another outcome is an illegal transition naming the state.
    let again = tickets
        .dispose(pb::DisposeRequest {
            ticket_id: consult.id,
            disposition: pb::Disposition::NotAccepted as i32,
            reason: "x".into(),
            forwarded_to: "向劳动人事争议仲裁委员会申请仲裁".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert!(
        again.message().contains("resolved_on_call"),
        "{}",
        again.message()
    );

    let other = h.create("13900139000").await;
    let no_reason = tickets
        .dispose(pb::DisposeRequest {
            ticket_id: other.id,
            disposition: pb::Disposition::Forwarded as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&no_reason);
    fields.sort();
    assert_eq!(fields, ["forwarded_to", "reason"]);
    let duplicate = tickets
        .dispose(pb::DisposeRequest {
            ticket_id: other.id,
            disposition: pb::Disposition::Duplicate as i32,
            reason: "同一事项已在办理".into(),
            duplicate_of: consult.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(duplicate.state, "duplicate");
    assert_eq!(duplicate.duplicate_of, consult.id);
}

#[tokio::test]
async fn updates_and_notes_are_logged_with_before_and_after() {
    let h = start().await;
    let ticket = h.create("13800138000").await;
    let mut tickets = h.tickets("agent01");
    let updated = tickets
        .update_ticket(pb::UpdateTicketRequest {
            ticket_id: ticket.id,
            fields: vec!["workers".into()],
            workers: 12,
            reason: "来电人补充：共12名工友".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.workers, 12);
    assert_eq!(updated.priority, pb::Priority::Collective as i32);
    assert_eq!(updated.version, 2);
    let unknown_field = tickets
        .update_ticket(pb::UpdateTicketRequest {
            ticket_id: ticket.id,
            fields: vec!["number".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&unknown_field), ["fields"]);
    let noted = tickets
        .add_note(pb::AddNoteRequest {
            ticket_id: ticket.id,
            text: "已联系劳动监察".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(noted.notes.len(), 1);
    assert_eq!(noted.notes[0].author, "agent01");

    let history = h
        .events("agent01")
        .list_events(pb::ListEventsRequest {
            ticket_id: ticket.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["ticket.created", "ticket.updated", "ticket.note_added"]
    );
    let update = &history[1];
    assert_eq!(update.reason, "来电人补充：共12名工友");
    assert!(
        update.before_json.contains("\"workers\":1"),
        "{}",
        update.before_json
    );
    assert!(
        update.after_json.contains("\"workers\":12"),
        "{}",
        update.after_json
    );
}
