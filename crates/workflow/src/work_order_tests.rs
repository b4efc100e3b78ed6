use super::*;
use proptest::prelude::*;

const HOUR: Millis = 3_600_000;
const T0: Millis = 1_790_000_000_000;

fn fresh() -> WorkOrder {
    WorkOrder::dispatched(T0, Some(T0 + 24 * HOUR), Some(T0 + 15 * 24 * HOUR)).unwrap()
}

fn reply() -> Action {
    Action::Reply(ReplyRecord {
        outcome: ReplyOutcome::Resolved,
        text: "已协调企业补发工资".into(),
        amount_recovered_fen: 1_250_000,
        workers_helped: 12,
    })
}

fn step(
    wo: &WorkOrder,
    action: Action,
    reason: &str,
    now: Millis,
) -> Result<WorkOrder, TransitionError> {
    apply(wo, &action, reason, now, &Policy::default())
}

#[test]
fn happy_path_to_closed() {
    let wo = fresh();
    let wo = step(&wo, Action::Sign, "", T0 + HOUR).unwrap();
    assert_eq!(wo.signed_at, Some(T0 + HOUR));
    let wo = step(&wo, reply(), "", T0 + 2 * HOUR).unwrap();
    assert_eq!(wo.state, WorkOrderState::Replied);
    let wo = step(
        &wo,
        Action::Review {
            approve: true,
            rework_reply_due_at: None,
        },
        "",
        T0 + 3 * HOUR,
    )
    .unwrap();
    let callback = Action::Callback {
        result: CallbackResult::Satisfied,
        reopen_reply_due_at: None,
    };
    let wo = step(&wo, callback, "", T0 + 4 * HOUR).unwrap();
    let wo = step(&wo, Action::Close, "", T0 + 5 * HOUR).unwrap();
    assert_eq!(wo.state, WorkOrderState::Closed);
    assert_eq!(wo.closed_at, Some(T0 + 5 * HOUR));
}

#[test]
fn illegal_step_names_the_current_state() {
    let err = step(&fresh(), reply(), "", T0 + HOUR).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot reply to a work order that is dispatched"
    );
    let closed_path = step(&fresh(), Action::Close, "", T0).unwrap_err();
    assert!(matches!(
        closed_path,
        TransitionError::NotAllowed {
            state: WorkOrderState::Dispatched,
            ..
        }
    ));
}

#[test]
fn return_needs_a_reason_and_is_terminal() {
    let err = step(&fresh(), Action::Return, "  ", T0 + HOUR).unwrap_err();
    assert_eq!(err.to_string(), "reason: is required for this step");
    let returned = step(&fresh(), Action::Return, "not our jurisdiction", T0 + HOUR).unwrap();
    assert_eq!(
        returned.return_reason.as_deref(),
        Some("not our jurisdiction")
    );
    assert!(!returned.state.is_open());
    assert!(step(&returned, Action::Sign, "", T0 + 2 * HOUR).is_err());
}

#[test]
fn extension_is_capped_and_moves_the_deadline_when_approved() {
    let signed = step(&fresh(), Action::Sign, "", T0 + HOUR).unwrap();
    let original = signed.reply_due_at.unwrap();
    let too_far = Action::RequestExtension {
        until: original + 31 * DAY_MS,
    };
    let err = step(&signed, too_far, "需调取工资台账", T0 + 2 * HOUR).unwrap_err();
    assert!(err.to_string().contains("30 days"), "{err}");

    let asked = step(
        &signed,
        Action::RequestExtension {
            until: original + 10 * DAY_MS,
        },
        "需调取工资台账",
        T0 + 2 * HOUR,
    )
    .unwrap();
    let twice = step(
        &asked,
        Action::RequestExtension {
            until: original + 11 * DAY_MS,
        },
        "again",
        T0 + 3 * HOUR,
    );
    assert!(twice.is_err());
    let approved = step(
        &asked,
        Action::DecideExtension { approve: true },
        "",
        T0 + 3 * HOUR,
    )
    .unwrap();
    assert_eq!(approved.reply_due_at, Some(original + 10 * DAY_MS));
    assert_eq!(approved.original_reply_due_at, Some(original));
    assert_eq!(approved.extension_requested_until, None);

    let denied_without_reason = step(
        &asked,
        Action::DecideExtension { approve: false },
        "",
        T0 + 3 * HOUR,
    );
    assert!(denied_without_reason.is_err());
    let denied = step(
        &asked,
        Action::DecideExtension { approve: false },
        "理由不充分",
        T0 + 3 * HOUR,
    )
    .unwrap();
    assert_eq!(denied.reply_due_at, Some(original));
}

#[test]
fn rework_goes_back_to_signed_with_a_new_deadline() {
    let wo = step(&fresh(), Action::Sign, "", T0 + HOUR).unwrap();
    let wo = step(&wo, reply(), "", T0 + 2 * HOUR).unwrap();
    let missing = step(
        &wo,
        Action::Review {
            approve: false,
            rework_reply_due_at: None,
        },
        "答复不完整",
        T0 + 3 * HOUR,
    );
    assert_eq!(
        missing.unwrap_err().to_string(),
        "review.rework_reply_due_at_ms: is required for this step"
    );
    let rework = Action::Review {
        approve: false,
        rework_reply_due_at: Some(T0 + 100 * HOUR),
    };
    let wo = step(&wo, rework, "答复不完整", T0 + 3 * HOUR).unwrap();
    assert_eq!(wo.state, WorkOrderState::Signed);
    assert_eq!(wo.rework_count, 1);
    assert_eq!(wo.reply, None);
}

#[test]
fn unsatisfied_callback_reopens() {
    let wo = step(&fresh(), Action::Sign, "", T0 + HOUR).unwrap();
    let wo = step(&wo, reply(), "", T0 + 2 * HOUR).unwrap();
    let wo = step(
        &wo,
        Action::Review {
            approve: true,
            rework_reply_due_at: None,
        },
        "",
        T0 + 3 * HOUR,
    )
    .unwrap();
    let unsatisfied = Action::Callback {
        result: CallbackResult::Unsatisfied,
        reopen_reply_due_at: Some(T0 + 200 * HOUR),
    };
    let wo = step(&wo, unsatisfied, "", T0 + 4 * HOUR).unwrap();
    assert_eq!(wo.state, WorkOrderState::Signed);
    assert_eq!(wo.reopen_count, 1);
    assert_eq!(wo.callback_result, Some(CallbackResult::Unsatisfied));
}

#[test]
fn urge_counts_without_changing_state() {
    let wo = step(
        &fresh(),
        Action::Urge {
            level: UrgeLevel::Urge,
        },
        "",
        T0 + HOUR,
    )
    .unwrap();
    assert_eq!(wo.state, WorkOrderState::Dispatched);
    assert_eq!(wo.urge_count, 1);
}

#[test]
fn dispatch_deadlines_must_be_in_order_and_future() {
    assert!(WorkOrder::dispatched(T0, Some(T0 - 1), None).is_err());
    let err = WorkOrder::dispatched(T0, Some(T0 + 10), Some(T0 + 5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reply_due_at_ms: must not be before sign_due_at_ms"
    );
}

fn any_action() -> impl Strategy<Value = (Action, bool)> {
    let due = (T0 + HOUR)..(T0 + 60 * 24 * HOUR);
    prop_oneof![
        Just(Action::Sign),
        Just(reply()),
        Just(Action::Return),
        due.clone()
            .prop_map(|until| Action::RequestExtension { until }),
        any::<bool>().prop_map(|approve| Action::DecideExtension { approve }),
        (any::<bool>(), proptest::option::of(due.clone())).prop_map(
            |(approve, rework_reply_due_at)| Action::Review {
                approve,
                rework_reply_due_at
            }
        ),
        (0..4u8, proptest::option::of(due.clone())).prop_map(|(r, reopen_reply_due_at)| {
            Action::Callback {
                result: [
                    CallbackResult::Satisfied,
                    CallbackResult::BasicallySatisfied,
                    CallbackResult::Unsatisfied,
                    CallbackResult::Unreachable,
                ][r as usize],
                reopen_reply_due_at,
            }
        }),
        due.prop_map(|reply_due_at| Action::Reopen { reply_due_at }),
        Just(Action::Close),
        Just(Action::Urge {
            level: UrgeLevel::Reminder
        }),
    ]
    .prop_flat_map(|action| (Just(action), any::<bool>()))
}

proptest! {
    /// Whatever sequence of steps is asked for, a refused step changes nothing, a
    /// returned work order never moves again, and a closed one only reopens.
    #[test]
    fn lifecycle_invariants(actions in proptest::collection::vec(any_action(), 1..40)) {
        let policy = Policy::default();
        let mut wo = fresh();
        for (i, (action, with_reason)) in actions.iter().enumerate() {
            let now = T0 + i as Millis * 60_000;
            let reason = if *with_reason { "because" } else { "" };
            if let Ok(next) = apply(&wo, action, reason, now, &policy) {
                {
                    prop_assert!(wo.state != WorkOrderState::Returned, "returned work order moved");
                    if wo.state == WorkOrderState::Closed {
                        prop_assert!(matches!(action, Action::Reopen { .. }), "closed work order moved by {:?}", action);
                    }
                    if let (Some(due), Some(original)) = (next.reply_due_at, next.original_reply_due_at) {
                        prop_assert!(due - original <= policy.extension_cap_ms);
                    }
                    prop_assert!(next.urge_count >= wo.urge_count);
                    wo = next;
                }
            }
        }
    }
}
