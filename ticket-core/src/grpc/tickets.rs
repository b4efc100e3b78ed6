//! TicketService over the domain.

use hotline_api::ticket::v1 as pb;
use pb::ticket_service_server::TicketService;
use tonic::{Request, Response, Status};

use super::convert::{caller_from, employer_from, kind_from, ticket_to};
use super::{Handlers, optional_ms, required_id, status};
use crate::domain::CoreError;
use crate::domain::notices::NewNotice;
use crate::domain::records::{NewTicket, TicketPatch};
use crate::domain::search::SearchQuery;
use crate::domain::tickets::Disposition;

#[tonic::async_trait]
impl TicketService for Handlers {
    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let new = NewTicket {
            channel: super::convert::channel_from(r.channel),
            kind: kind_from(r.kind),
            topic: r.topic,
            caller: caller_from(r.caller),
            employer: employer_from(r.employer),
            place_region_code: r.place_region_code.trim().to_owned(),
            place_detail: r.place_detail,
            workers: r.workers,
            description: r.description,
            call_ids: r.call_ids,
            urgent: r.urgent,
            request_id: r.request_id,
        };
        let view = self.core.create_ticket(&actor, new).await.map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("ticket_id", r.ticket_id)?;
        if r.fields.is_empty() {
            return Err(status(CoreError::invalid(
                "fields",
                "name at least one field to change",
            )));
        }
        let mut patch = TicketPatch::default();
        for field in &r.fields {
            match field.as_str() {
                "kind" => patch.kind = Some(kind_from(r.kind)),
                "topic" => patch.topic = Some(r.topic.clone()),
                "caller" => patch.caller = Some(caller_from(r.caller.clone())),
                "employer" => patch.employer = Some(employer_from(r.employer.clone())),
                "place_region_code" => {
                    patch.place_region_code = Some(r.place_region_code.trim().to_owned())
                }
                "place_detail" => patch.place_detail = Some(r.place_detail.clone()),
                "workers" => patch.workers = Some(r.workers),
                "description" => patch.description = Some(r.description.clone()),
                "urgent" => patch.urgent = Some(r.urgent),
                other => {
                    return Err(status(CoreError::invalid(
                        "fields",
                        format!(
                            "{other} cannot be changed: use kind, topic, caller, employer, place_region_code, place_detail, workers, description or urgent"
                        ),
                    )));
                }
            }
        }
        let view = self
            .core
            .update_ticket(&actor, id, patch, r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = if r.ticket_id > 0 {
            r.ticket_id
        } else if !r.number.is_empty() {
            self.core
                .ticket_id_by_number(r.number)
                .await
                .map_err(status)?
        } else {
            return Err(status(CoreError::invalid(
                "ticket_id",
                "give ticket_id or number",
            )));
        };
        let view = self.core.get_ticket(&actor, id).await.map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn add_note(
        &self,
        request: Request<pb::AddNoteRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("ticket_id", r.ticket_id)?;
        let view = self
            .core
            .add_note(&actor, id, r.text)
            .await
            .map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn link_call(
        &self,
        request: Request<pb::LinkCallRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("ticket_id", r.ticket_id)?;
        let call_id = required_id("call_id", r.call_id)?;
        let view = self
            .core
            .link_call(&actor, id, call_id)
            .await
            .map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn dispose(
        &self,
        request: Request<pb::DisposeRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("ticket_id", r.ticket_id)?;
        let disposition = match pb::Disposition::try_from(r.disposition) {
            Ok(pb::Disposition::ResolvedOnCall) => Disposition::ResolvedOnCall,
            Ok(pb::Disposition::NotAccepted) => Disposition::NotAccepted,
            Ok(pb::Disposition::Duplicate) => Disposition::Duplicate { of: r.duplicate_of },
            Ok(pb::Disposition::Forwarded) => Disposition::Forwarded,
            Ok(pb::Disposition::Closed) => Disposition::Close,
            Ok(pb::Disposition::NoLongerAccepted) => Disposition::NoLongerAccepted,
            _ => {
                return Err(status(CoreError::invalid(
                    "disposition",
                    "is required: RESOLVED_ON_CALL, NOT_ACCEPTED, NO_LONGER_ACCEPTED, DUPLICATE, FORWARDED or CLOSED",
                )));
            }
        };
        let view = self
            .core
            .dispose(&actor, id, disposition, r.reason, r.forwarded_to)
            .await
            .map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn search_tickets(
        &self,
        request: Request<pb::SearchTicketsRequest>,
    ) -> Result<Response<pb::SearchTicketsResponse>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let kind =
            if r.kind == 0 {
                None
            } else {
                Some(kind_from(r.kind).ok_or_else(|| {
                    status(CoreError::invalid("kind", "is not a known ticket kind"))
                })?)
            };
        let query = SearchQuery {
            text: r.text,
            caller_phone: r.caller_phone,
            employer_uscc: r.employer_uscc,
            employer_name: r.employer_name,
            region_code: r.region_code,
            industry_code: r.industry_code,
            kind,
            state: r.state,
            topic: r.topic,
            created_from: optional_ms(r.created_from_ms),
            created_to: optional_ms(r.created_to_ms),
            limit: r.limit as i64,
            before_id: optional_ms(r.before_id),
            awaiting_manual_dispatch: r.awaiting_manual_dispatch,
        };
        let (views, next) = self.core.search(&actor, query).await.map_err(status)?;
        Ok(Response::new(pb::SearchTicketsResponse {
            tickets: views.into_iter().map(ticket_to).collect(),
            next_before_id: next.unwrap_or(0),
        }))
    }

    async fn lookup_caller(
        &self,
        request: Request<pb::LookupCallerRequest>,
    ) -> Result<Response<pb::LookupCallerResponse>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let history = self
            .core
            .lookup_caller(&actor, &r.phone, r.limit as i64)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::LookupCallerResponse {
            phone: history.phone,
            tickets: history.tickets.into_iter().map(ticket_to).collect(),
            calls: history
                .calls
                .into_iter()
                .map(super::convert::call_to)
                .collect(),
            open_tickets: history.open_tickets,
        }))
    }

    async fn submit_for_dispatch(
        &self,
        request: Request<pb::SubmitForDispatchRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("ticket_id", r.ticket_id)?;
        let view = self
            .core
            .submit_for_dispatch(&actor, id, r.note)
            .await
            .map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn request_manual_dispatch(
        &self,
        request: Request<pb::RequestManualDispatchRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = required_id("ticket_id", r.ticket_id)?;
        let view = self
            .core
            .request_manual_dispatch(&actor, id, r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(ticket_to(view)))
    }

    async fn add_notice(
        &self,
        request: Request<pb::AddNoticeRequest>,
    ) -> Result<Response<pb::Notice>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let notice = NewNotice {
            ticket_id: required_id("ticket_id", r.ticket_id)?,
            kind: super::convert::notice_kind_from(r.kind),
            title: r.title,
            body: r.body,
            emailed_to: r.emailed_to.trim().to_owned(),
            dedup_key: r.dedup_key,
        };
        let record = self.core.add_notice(&actor, notice).await.map_err(status)?;
        Ok(Response::new(super::convert::notice_to(record)))
    }

    async fn list_notices(
        &self,
        request: Request<pb::ListNoticesRequest>,
    ) -> Result<Response<pb::ListNoticesResponse>, Status> {
        let actor = self.actor(&request).await?;
        let id = required_id("ticket_id", request.into_inner().ticket_id)?;
        let notices = self.core.list_notices(&actor, id).await.map_err(status)?;
        Ok(Response::new(pb::ListNoticesResponse {
            notices: notices.into_iter().map(super::convert::notice_to).collect(),
        }))
    }
}
