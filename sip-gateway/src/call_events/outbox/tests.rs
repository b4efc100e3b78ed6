use super::*;

fn open() -> (tempfile::TempDir, CallEventOutbox) {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = CallEventOutbox::open(dir.path().join(CALL_EVENTS_FILE)).expect("open");
    (dir, outbox)
}

fn offered(call: &str) -> CallEvent {
    let mut event = CallEvent::new(call, 1, CallEventKind::Offered, 1_795_395_600_000);
    event.caller_phone = "13800138000".into();
    event
}

#[test]
fn pending_keeps_insertion_order_and_marks_finish_events() {
    let (_dir, outbox) = open();
    let mut progress = outbox.watch_progress();
    outbox.record(offered("b")).expect("record");
    outbox.record(offered("a")).expect("record");
    outbox
        .record(CallEvent::new(
            "b",
            2,
            CallEventKind::Queued,
            1_795_395_601_000,
        ))
        .expect("record");
    let pending = outbox.pending(10).expect("pending");
    let ids: Vec<&str> = pending.iter().map(|p| p.event.event_id.as_str()).collect();
    assert_eq!(ids, ["b:1", "a:1", "b:2"]);
    assert_eq!(pending[0].event, offered("b"));
    assert_eq!(outbox.pending(2).expect("pending").len(), 2);

    outbox.mark_delivered(pending[0].id).expect("delivered");
    outbox
        .mark_delivered(pending[0].id)
        .expect("delivered twice is harmless");
    outbox
        .mark_rejected(pending[1].id, "InvalidArgument: at_ms is required")
        .expect("rejected");
    let rest = outbox.pending(10).expect("pending");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].event.event_id, "b:2");

    let rejected = outbox.find("a:1").expect("find").expect("present");
    assert_eq!(rejected.state, DeliveryState::Rejected);
    assert_eq!(
        rejected.last_error.as_deref(),
        Some("InvalidArgument: at_ms is required")
    );
    assert!(rejected.finished_at_ms.is_some());
    assert_eq!(
        *progress.borrow_and_update(),
        OutboxProgress {
            recorded: 3,
            delivered: 1,
            rejected: 1,
            failed_attempts: 0
        }
    );
    assert!(matches!(
        outbox.mark_delivered(999),
        Err(OutboxError::UnknownId { id: 999 })
    ));
}

#[test]
fn failures_count_attempts_and_keep_the_event_first() {
    let (_dir, outbox) = open();
    outbox.record(offered("c")).expect("record");
    let id = outbox.pending(1).expect("pending")[0].id;
    let retry_at = UNIX_EPOCH + Duration::from_millis(1_795_395_700_000);
    outbox
        .mark_failed(id, "Unavailable: connection refused", retry_at)
        .expect("failed");
    outbox
        .mark_failed(id, "Unavailable: again", retry_at)
        .expect("failed");
    let pending = outbox.pending(1).expect("pending");
    assert_eq!(pending[0].attempts, 2);
    let stored = outbox.find("c:1").expect("find").expect("present");
    assert_eq!(stored.state, DeliveryState::Pending);
    assert_eq!(stored.last_error.as_deref(), Some("Unavailable: again"));
    assert_eq!(stored.next_attempt_at_ms, Some(1_795_395_700_000));
    assert_eq!(outbox.watch_progress().borrow().failed_attempts, 2);
}

#[test]
fn stats_count_states_and_age_of_the_oldest_pending() {
    let (_dir, outbox) = open();
    assert_eq!(outbox.stats().expect("stats"), OutboxStats::default());
    outbox.record(offered("x")).expect("record");
    outbox.record(offered("y")).expect("record");
    outbox.record(offered("z")).expect("record");
    let pending = outbox.pending(10).expect("pending");
    outbox.mark_delivered(pending[0].id).expect("delivered");
    outbox
        .mark_rejected(pending[1].id, "bad")
        .expect("rejected");
    let stats = outbox.stats().expect("stats");
    assert_eq!((stats.pending, stats.delivered, stats.rejected), (1, 1, 1));
    let age = stats.oldest_pending_age.expect("one pending");
    assert!(age < Duration::from_secs(60), "{age:?}");

    // Purging leaves pending and rejected events alone.
    let purged = outbox
        .purge_delivered(SystemTime::now() + Duration::from_secs(1))
        .expect("purge");
    assert_eq!(purged, 1);
    let stats = outbox.stats().expect("stats");
    assert_eq!((stats.pending, stats.delivered, stats.rejected), (1, 0, 1));
}

#[test]
fn recording_the_same_event_twice_is_harmless_but_ids_are_not_reusable() {
    let (_dir, outbox) = open();
    outbox.record(offered("d")).expect("record");
    outbox.record(offered("d")).expect("same event again");
    assert_eq!(outbox.pending(10).expect("pending").len(), 1);
    assert_eq!(outbox.watch_progress().borrow().recorded, 1);
    let mut other = offered("d");
    other.kind = CallEventKind::Ended;
    assert!(matches!(
        outbox.record(other),
        Err(OutboxError::EventIdReused { event_id }) if event_id == "d:1"
    ));
}

#[test]
fn ids_are_required() {
    let (_dir, outbox) = open();
    let mut event = offered("e");
    event.event_id = " ".into();
    let error = outbox.record(event).expect_err("blank id");
    assert_eq!(
        error.to_string(),
        "call event event_id: is required, at most 200 characters"
    );
    let mut event = offered("e");
    event.call_uuid = "u".repeat(201);
    assert!(matches!(
        outbox.record(event),
        Err(OutboxError::Invalid {
            field: "call_uuid",
            ..
        })
    ));
}

#[test]
fn events_survive_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(CALL_EVENTS_FILE);
    let mut ended = CallEvent::new("f", 2, CallEventKind::Ended, 1_795_395_700_000);
    ended.end_reason = "caller hung up".into();
    {
        let outbox = CallEventOutbox::open(&path).expect("open");
        outbox.record(offered("f")).expect("record");
        outbox.record(ended.clone()).expect("record");
    }
    let reopened = CallEventOutbox::open(&path).expect("reopen");
    let events: Vec<CallEvent> = reopened
        .pending(10)
        .expect("pending")
        .into_iter()
        .map(|p| p.event)
        .collect();
    assert_eq!(events, [offered("f"), ended]);
}
