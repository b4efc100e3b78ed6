//! The resumable event stream, and call events that count once however often they arrive.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use hotline_api::ticket::v1 as pb;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(10);

async fn next_event(stream: &mut tonic::Streaming<pb::Event>) -> pb::Event {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("an event arrives in time")
        .expect("the stream stays open")
        .expect("no stream error")
}

#[tokio::test]
async fn subscribers_resume_from_their_cursor_without_gaps_or_repeats() {
    let h = start().await;
    let mut events = h.events("dispatcher-service");
    let mut stream = events
        .subscribe(pb::SubscribeRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    // The seed wrote its own events first; skip to the end of them.
    let seeded = h.count("events");
    let mut last = 0;
    for _ in 0..seeded {
        last = next_event(&mut stream).await.seq;
    }
    assert_eq!(last, seeded);

    // Live: events arrive as they are committed, in order.
    let first = h.create("13800138000").await;
    let created = next_event(&mut stream).await;
    assert_eq!(created.seq, last + 1);
    assert_eq!(created.action, "ticket.created");
    assert_eq!(created.ticket_id, first.id);
    drop(stream);

    // Missed while disconnected: resuming from the cursor gives exactly the rest.
    let second = h.create("13900139000").await;
    h.dispatch(second.id, "440106").await;
    let mut resumed = events
        .subscribe(pb::SubscribeRequest {
            after_seq: created.seq,
        })
        .await
        .unwrap()
        .into_inner();
    let a = next_event(&mut resumed).await;
    let b = next_event(&mut resumed).await;
    let c = next_event(&mut resumed).await;
    assert_eq!(
        (a.seq, b.seq, c.seq),
        (created.seq + 1, created.seq + 2, created.seq + 3)
    );
    assert_eq!(a.action, "ticket.created");
    assert_eq!(b.action, "work_order.dispatched");
    assert_eq!(b.actor, "dispatcher01");
    assert_eq!(c.action, "ticket.dispatched");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), resumed.next())
            .await
            .is_err(),
        "nothing more until something new happens"
    );
}

#[tokio::test]
async fn events_are_append_only_in_the_database() {
    let h = start().await;
    h.create("13800138000").await;
    let conn =
        rusqlite::Connection::open(h.dir.path().join(ticket_core::app::DATABASE_FILE)).unwrap();
    let update = conn.execute("UPDATE events SET reason = 'rewritten'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM events", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

fn call_event(event_id: &str, kind: pb::CallEventKind, at_ms: i64) -> pb::RecordCallEventRequest {
    pb::RecordCallEventRequest {
        event_id: event_id.into(),
        call_uuid: "gw-0001".into(),
        kind: kind as i32,
        at_ms,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_call_is_recorded_once_however_often_its_events_are_delivered() {
    let h = start().await;
    let t0 = h.clock.now();
    let mut calls = h.calls("gateway");
    let mut offered = call_event("gw-0001-1", pb::CallEventKind::Offered, t0);
    offered.caller_phone = "13800138000".into();
    let mut queued = call_event("gw-0001-2", pb::CallEventKind::Queued, t0 + 8_000);
    queued.queue = "agents".into();
    let mut answered = call_event("gw-0001-3", pb::CallEventKind::Answered, t0 + 20_000);
    answered.agent = "agent01".into();
    let mut transferred = call_event("gw-0001-4", pb::CallEventKind::Transferred, t0 + 90_000);
    transferred.queue = "lawyers".into();
    transferred.agent = "lawyer01".into();
    let ended = call_event("gw-0001-5", pb::CallEventKind::Ended, t0 + 300_000);
    let mut recording = call_event("gw-0001-6", pb::CallEventKind::RecordingReady, t0 + 301_000);
    recording.recording_path = "recordings/2026/11/23/gw-0001.wav".into();
    recording.recording_sha256 = "AB".repeat(32);

    let all = [offered, queued, answered, transferred, ended, recording];
    let mut call_id = 0;
    for event in &all {
        let response = calls
            .record_call_event(event.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(!response.duplicate);
        call_id = response.call_id;
    }
    // The outbox retries after an outage: every event again, out of order.
    for event in all.iter().rev() {
        let response = calls
            .record_call_event(event.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(response.duplicate);
        assert_eq!(response.call_id, call_id);
    }
    let call = calls
        .get_call(pb::GetCallRequest {
            call_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(call.events.len(), 6);
    assert_eq!(call.state, "ended");
    assert_eq!(call.caller_phone, "13800138000");
    assert_eq!(call.answered_by, "lawyer01");
    assert_eq!(call.queue, "lawyers");
    assert_eq!(call.answered_at_ms, t0 + 20_000);
    assert_eq!(call.recording_sha256, "ab".repeat(32));
    assert_eq!(h.count("call_events"), 6);

    // The agent links the call to the ticket written during it.
    let mut request = wage_ticket("13800138000");
    request.call_ids = vec![call_id];
    let ticket = h
        .tickets("agent01")
        .create_ticket(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket.call_ids, [call_id]);
    let missing_call = {
        let mut request = wage_ticket("13800138000");
        request.call_ids = vec![call_id + 100];
        h.tickets("agent01")
            .create_ticket(request)
            .await
            .unwrap_err()
    };
    assert_eq!(violated_fields(&missing_call), ["call_ids[0]"]);
}

#[tokio::test]
async fn an_unanswered_call_that_ends_is_abandoned_and_bad_events_are_named() {
    let h = start().await;
    let t0 = h.clock.now();
    let mut calls = h.calls("gateway");
    calls
        .record_call_event(call_event("a-1", pb::CallEventKind::Offered, t0))
        .await
        .unwrap();
    let response = calls
        .record_call_event(call_event("a-2", pb::CallEventKind::Ended, t0 + 40_000))
        .await
        .unwrap()
        .into_inner();
    let call = calls
        .get_call(pb::GetCallRequest {
            call_id: response.call_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(call.state, "abandoned");

    let mut bad = call_event("", pb::CallEventKind::RecordingReady, 0);
    bad.recording_sha256 = "not-a-hash".into();
    let err = calls.record_call_event(bad).await.unwrap_err();
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        ["at_ms", "event_id", "recording_path", "recording_sha256"]
    );
    let unknown = calls
        .get_call(pb::GetCallRequest {
            call_uuid: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn a_batch_is_recorded_in_order_and_an_invalid_event_is_refused_alone() {
    let h = start().await;
    let t0 = h.clock.now();
    let mut calls = h.calls("gateway");
    let mut offered = call_event("b-1", pb::CallEventKind::Offered, t0);
    offered.caller_phone = "13800138000".into();
    let mut answered = call_event("b-2", pb::CallEventKind::Answered, t0 + 5_000);
    answered.agent = "agent01".into();
    let unknown_kind = pb::RecordCallEventRequest {
        kind: 99,
        ..call_event("b-3", pb::CallEventKind::Offered, t0)
    };
    let no_time = call_event("b-4", pb::CallEventKind::Queued, 0);
    let ended = call_event("b-5", pb::CallEventKind::Ended, t0 + 60_000);
    let batch = vec![offered, answered, unknown_kind, no_time, ended];
    let results = calls
        .record_call_events(pb::RecordCallEventsRequest {
            events: batch.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results.len(), 5);
    let call_id = results[0].call_id;
    for index in [0, 1, 4] {
        assert_eq!(results[index].error, "", "{index}: {:?}", results[index]);
        assert_eq!(results[index].call_id, call_id);
        assert!(!results[index].duplicate);
    }
    assert!(results[2].error.contains("kind"), "{:?}", results[2]);
    assert!(results[3].error.contains("at_ms"), "{:?}", results[3]);
    let call = calls
        .get_call(pb::GetCallRequest {
            call_id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(call.events.len(), 3);
    assert_eq!(call.state, "ended");
    assert_eq!(call.answered_by, "agent01");

    // Delivered again after an outage: every valid event a duplicate, none counted twice.
    let again = calls
        .record_call_events(pb::RecordCallEventsRequest { events: batch })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(again[0].duplicate && again[1].duplicate && again[4].duplicate);
    assert_eq!(h.count("call_events"), 3);

    // More than 500 at once is refused whole, naming the field.
    let too_many = (0..501)
        .map(|i| call_event(&format!("c-{i}"), pb::CallEventKind::Offered, t0))
        .collect();
    let err = calls
        .record_call_events(pb::RecordCallEventsRequest { events: too_many })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["events"]);
    // Only the service account records call events, in batches too.
    let refused = h
        .calls("agent01")
        .record_call_events(pb::RecordCallEventsRequest { events: vec![] })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}
