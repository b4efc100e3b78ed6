//! CallService over the domain.

use hotline_api::ticket::v1 as pb;
use pb::call_service_server::CallService;
use tonic::{Request, Response, Status};

use super::convert::call_to;
use super::{Handlers, status};
use crate::domain::CoreError;
use crate::domain::calls::{CallEvent, CallEventKind};

fn kind_from(value: i32) -> Result<CallEventKind, CoreError> {
    Ok(match pb::CallEventKind::try_from(value) {
        Ok(pb::CallEventKind::Offered) => CallEventKind::Offered,
        Ok(pb::CallEventKind::Queued) => CallEventKind::Queued,
        Ok(pb::CallEventKind::Answered) => CallEventKind::Answered,
        Ok(pb::CallEventKind::Transferred) => CallEventKind::Transferred,
        Ok(pb::CallEventKind::Ended) => CallEventKind::Ended,
        Ok(pb::CallEventKind::Abandoned) => CallEventKind::Abandoned,
        Ok(pb::CallEventKind::RecordingReady) => CallEventKind::RecordingReady,
        _ => {
            return Err(CoreError::invalid(
                "kind",
                "is required: a known call event kind",
            ));
        }
    })
}

fn event_from(r: pb::RecordCallEventRequest) -> Result<CallEvent, CoreError> {
    Ok(CallEvent {
        event_id: r.event_id,
        call_uuid: r.call_uuid,
        kind: kind_from(r.kind)?,
        at: r.at_ms,
        caller_phone: r.caller_phone,
        queue: r.queue,
        agent: r.agent,
        recording_path: r.recording_path,
        recording_sha256: r.recording_sha256,
        end_reason: r.end_reason,
    })
}

#[tonic::async_trait]
impl CallService for Handlers {
    async fn record_call_events(
        &self,
        request: Request<pb::RecordCallEventsRequest>,
    ) -> Result<Response<pb::RecordCallEventsResponse>, Status> {
        let actor = self.actor(&request).await?;
        let requests = request.into_inner().events;
        // An event with an unknown kind is refused on its own, like any invalid one.
        let mut kinds_refused = Vec::new();
        let mut events = Vec::with_capacity(requests.len());
        for (index, r) in requests.into_iter().enumerate() {
            match event_from(r) {
                Ok(event) => events.push(event),
                Err(error) => kinds_refused.push((index, error)),
            }
        }
        let mut stored = self
            .core
            .record_call_events(&actor, events)
            .await
            .map_err(status)?
            .into_iter();
        let total = stored.len() + kinds_refused.len();
        let mut refused = kinds_refused.into_iter().peekable();
        let mut results = Vec::with_capacity(total);
        for index in 0..total {
            let outcome = match refused.next_if(|(at, _)| *at == index) {
                Some((_, error)) => Err(error),
                None => stored
                    .next()
                    .unwrap_or_else(|| Err(CoreError::invalid("events", "a result went missing"))),
            };
            results.push(match outcome {
                Ok((call_id, duplicate)) => pb::RecordCallEventResult {
                    call_id,
                    duplicate,
                    error: String::new(),
                },
                Err(error) => pb::RecordCallEventResult {
                    error: status(error).message().to_owned(),
                    ..Default::default()
                },
            });
        }
        Ok(Response::new(pb::RecordCallEventsResponse { results }))
    }

    async fn record_call_event(
        &self,
        request: Request<pb::RecordCallEventRequest>,
    ) -> Result<Response<pb::RecordCallEventResponse>, Status> {
        let actor = self.actor(&request).await?;
        let event = event_from(request.into_inner()).map_err(status)?;
        let (call_id, duplicate) = self
            .core
            .record_call_event(&actor, event)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RecordCallEventResponse {
            call_id,
            duplicate,
        }))
    }

    async fn get_call(
        &self,
        request: Request<pb::GetCallRequest>,
    ) -> Result<Response<pb::Call>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let id = (r.call_id > 0).then_some(r.call_id);
        let uuid = (!r.call_uuid.is_empty()).then_some(r.call_uuid);
        let call = self.core.get_call(&actor, id, uuid).await.map_err(status)?;
        Ok(Response::new(call_to(call)))
    }
}
