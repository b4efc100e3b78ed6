//! The ticket lifecycle: `registered` → `resolved_on_call` | `dispatched` |
//! `not_accepted` | `duplicate` | `forwarded` → `closed`.
//!
//! A ticket with work orders follows them: it closes when its work order closes and
//! opens again when that work order is reopened.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Registered,
    Dispatched,
    ResolvedOnCall,
    NotAccepted,
    Duplicate,
    Forwarded,
    Closed,
}

impl TicketState {
    pub const ALL: [TicketState; 7] = [
        Self::Registered,
        Self::Dispatched,
        Self::ResolvedOnCall,
        Self::NotAccepted,
        Self::Duplicate,
        Self::Forwarded,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Dispatched => "dispatched",
            Self::ResolvedOnCall => "resolved_on_call",
            Self::NotAccepted => "not_accepted",
            Self::Duplicate => "duplicate",
            Self::Forwarded => "forwarded",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Open tickets are the ones a new call about the same matter duplicates.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Registered | Self::Dispatched)
    }
}

impl std::fmt::Display for TicketState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketAction {
    /// A work order is created for the ticket (first dispatch, or again after a return).
    Dispatch,
    ResolveOnCall,
    NotAccept,
    MarkDuplicate,
    Forward,
    /// Archive a ticket whose outcome is final.
    Close,
    /// Its work order closed.
    WorkOrderClosed,
    /// Its work order was reopened after closing.
    WorkOrderReopened,
    /// A change to the ticket's fields.
    Edit,
}

impl TicketAction {
    fn verb(self) -> &'static str {
        match self {
            Self::Dispatch => "dispatch",
            Self::ResolveOnCall => "resolve on the call",
            Self::NotAccept => "not accept",
            Self::MarkDuplicate => "mark as duplicate",
            Self::Forward => "forward",
            Self::Close => "close",
            Self::WorkOrderClosed => "close with its work order",
            Self::WorkOrderReopened => "reopen with its work order",
            Self::Edit => "edit",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {verb} a ticket that is {state}{detail}")]
pub struct TicketTransitionError {
    pub verb: &'static str,
    pub state: TicketState,
    pub detail: &'static str,
}

/// The next state of a ticket. `has_open_work_order` tells whether one of its work
/// orders is still being handled: a ticket cannot be dispatched twice at once, nor
/// given another outcome while a union is working on it.
pub fn apply(
    state: TicketState,
    action: TicketAction,
    has_open_work_order: bool,
) -> Result<TicketState, TicketTransitionError> {
    use TicketAction as A;
    use TicketState as S;
    let refuse = |detail: &'static str| TicketTransitionError {
        verb: action.verb(),
        state,
        detail,
    };
    let waiting_for_redispatch = state == S::Dispatched && !has_open_work_order;
    match action {
        A::Dispatch => match state {
            S::Registered => Ok(S::Dispatched),
            S::Dispatched if !has_open_work_order => Ok(S::Dispatched),
            S::Dispatched => Err(refuse(" with a work order still open")),
            _ => Err(refuse("")),
        },
        A::ResolveOnCall => match state {
            S::Registered => Ok(S::ResolvedOnCall),
            _ => Err(refuse("")),
        },
        A::NotAccept | A::MarkDuplicate | A::Forward => {
            if state == S::Registered || waiting_for_redispatch {
                Ok(match action {
                    A::NotAccept => S::NotAccepted,
                    A::MarkDuplicate => S::Duplicate,
                    _ => S::Forwarded,
                })
            } else if state == S::Dispatched {
                Err(refuse(" with a work order still open"))
            } else {
                Err(refuse(""))
            }
        }
        A::Close => match state {
            S::ResolvedOnCall | S::NotAccepted | S::Duplicate | S::Forwarded => Ok(S::Closed),
            _ => Err(refuse("")),
        },
        A::WorkOrderClosed => match state {
            S::Dispatched => Ok(S::Closed),
            _ => Err(refuse("")),
        },
        A::WorkOrderReopened => match state {
            S::Closed | S::Dispatched => Ok(S::Dispatched),
            _ => Err(refuse("")),
        },
        A::Edit => match state {
            S::Closed => Err(refuse("")),
            other => Ok(other),
        },
    }
}

/// Outcomes that end intake: the moment the ticket counts as closed for first-contact
/// resolution and on-time figures.
pub fn is_final(state: TicketState) -> bool {
    matches!(
        state,
        TicketState::ResolvedOnCall
            | TicketState::NotAccepted
            | TicketState::Duplicate
            | TicketState::Forwarded
            | TicketState::Closed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consultation_resolved_on_call_then_archived() {
        let state = apply(TicketState::Registered, TicketAction::ResolveOnCall, false).unwrap();
        assert_eq!(state, TicketState::ResolvedOnCall);
        assert_eq!(
            apply(state, TicketAction::Close, false).unwrap(),
            TicketState::Closed
        );
    }

    #[test]
    fn second_dispatch_refused_while_a_work_order_is_open() {
        let err = apply(TicketState::Dispatched, TicketAction::Dispatch, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot dispatch a ticket that is dispatched with a work order still open"
        );
        assert_eq!(
            apply(TicketState::Dispatched, TicketAction::Dispatch, false).unwrap(),
            TicketState::Dispatched
        );
    }

    #[test]
    fn returned_ticket_may_be_forwarded_instead() {
        assert_eq!(
            apply(TicketState::Dispatched, TicketAction::Forward, false).unwrap(),
            TicketState::Forwarded
        );
        assert!(apply(TicketState::Dispatched, TicketAction::Forward, true).is_err());
    }

    #[test]
    fn closed_ticket_cannot_be_edited_but_reopens_with_its_work_order() {
        let err = apply(TicketState::Closed, TicketAction::Edit, false).unwrap_err();
        assert_eq!(err.to_string(), "cannot edit a ticket that is closed");
        assert_eq!(
            apply(TicketState::Closed, TicketAction::WorkOrderReopened, true).unwrap(),
            TicketState::Dispatched
        );
    }

    #[test]
    fn every_state_round_trips_through_its_name() {
        for state in TicketState::ALL {
            assert_eq!(TicketState::parse(state.as_str()), Some(state));
        }
    }
}
