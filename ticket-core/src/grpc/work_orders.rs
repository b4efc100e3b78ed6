//! WorkOrderService over the domain.

use hotline_api::ticket::v1 as pb;
use hotline_workflow::work_order::{Action, ReplyRecord, UrgeLevel};
use pb::act_request::Action as PbAction;
use pb::work_order_service_server::WorkOrderService;
use tonic::{Request, Response, Status};

use super::convert::{callback_from, reply_outcome_from, work_order_to};
use super::{Handlers, optional_ms, required_id, status};
use crate::domain::CoreError;
use crate::domain::work_orders::{Dispatch, WorkOrderFilter};

fn action_from(action: Option<PbAction>) -> Result<Action, CoreError> {
    Ok(match action {
        None => {
            return Err(CoreError::invalid(
                "action",
                "is required: sign, reply, return, request_extension, decide_extension, review, callback, reopen, close or urge",
            ));
        }
        Some(PbAction::Sign(_)) => Action::Sign,
        Some(PbAction::Reply(r)) => Action::Reply(ReplyRecord {
            outcome: reply_outcome_from(r.outcome).ok_or_else(|| {
                CoreError::invalid(
                    "reply.outcome",
                    "is required: RESOLVED, PARTLY_RESOLVED, NOT_RESOLVED or EXPLAINED",
                )
            })?,
            text: r.text,
            amount_recovered_fen: r.amount_recovered_fen,
            workers_helped: r.workers_helped,
        }),
        Some(PbAction::Return(_)) => Action::Return,
        Some(PbAction::RequestExtension(r)) => {
            if r.until_ms <= 0 {
                return Err(CoreError::invalid(
                    "request_extension.until_ms",
                    "is required: the deadline asked for",
                ));
            }
            Action::RequestExtension { until: r.until_ms }
        }
        Some(PbAction::DecideExtension(r)) => Action::DecideExtension { approve: r.approve },
        Some(PbAction::Review(r)) => Action::Review {
            approve: r.approve,
            rework_reply_due_at: optional_ms(r.rework_reply_due_at_ms),
        },
        Some(PbAction::Callback(r)) => Action::Callback {
            result: callback_from(r.result).ok_or_else(|| {
                CoreError::invalid(
                    "callback.result",
                    "is required: SATISFIED, BASICALLY_SATISFIED, UNSATISFIED or UNREACHABLE",
                )
            })?,
            reopen_reply_due_at: optional_ms(r.reopen_reply_due_at_ms),
        },
        Some(PbAction::Reopen(r)) => Action::Reopen {
            reply_due_at: r.reply_due_at_ms,
        },
        Some(PbAction::Close(_)) => Action::Close,
        Some(PbAction::Urge(r)) => Action::Urge {
            level: UrgeLevel::parse(&r.level).ok_or_else(|| {
                CoreError::invalid("urge.level", "must be reminder, urge or escalation")
            })?,
        },
    })
}

#[tonic::async_trait]
impl WorkOrderService for Handlers {
    async fn dispatch(
        &self,
        request: Request<pb::DispatchRequest>,
    ) -> Result<Response<pb::WorkOrder>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let dispatch = Dispatch {
            ticket_id: required_id("ticket_id", r.ticket_id)?,
            org_code: r.org_code.trim().to_owned(),
            rule: r.rule,
            reason: r.reason,
            sign_due_at: optional_ms(r.sign_due_at_ms),
            reply_due_at: optional_ms(r.reply_due_at_ms),
        };
        let record = self.core.dispatch(&actor, dispatch).await.map_err(status)?;
        Ok(Response::new(work_order_to(record)))
    }

    async fn act(
        &self,
        request: Request<pb::ActRequest>,
    ) -> Result<Response<pb::WorkOrder>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("work_order_id", r.work_order_id)?;
        let action = action_from(r.action).map_err(status)?;
        let record = self
            .core
            .act(
                &actor,
                id,
                action,
                r.reason,
                optional_ms(r.expected_version),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(work_order_to(record)))
    }

    async fn get_work_order(
        &self,
        request: Request<pb::GetWorkOrderRequest>,
    ) -> Result<Response<pb::WorkOrder>, Status> {
        let actor = self.actor(&request).await?;
        let id = required_id("work_order_id", request.into_inner().work_order_id)?;
        let record = self.core.get_work_order(&actor, id).await.map_err(status)?;
        Ok(Response::new(work_order_to(record)))
    }

    async fn list_work_orders(
        &self,
        request: Request<pb::ListWorkOrdersRequest>,
    ) -> Result<Response<pb::ListWorkOrdersResponse>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let filter = WorkOrderFilter {
            org_code: r.org_code,
            state: r.state,
            overdue_only: r.overdue_only,
            limit: r.limit as i64,
            before_id: optional_ms(r.before_id),
        };
        let (found, next) = self
            .core
            .list_work_orders(&actor, filter)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListWorkOrdersResponse {
            work_orders: found.into_iter().map(work_order_to).collect(),
            next_before_id: next.unwrap_or(0),
        }))
    }
}
