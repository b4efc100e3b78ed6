//! EventService: the resumable event stream.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use hotline_api::ticket::v1 as pb;
use pb::event_service_server::EventService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::convert::event_to;
use super::{Handlers, status};

const BATCH: i64 = 500;
/// Changes made by another process (the admin command) wake no one here; polling at
/// this pace picks them up anyway.
const POLL: Duration = Duration::from_secs(1);

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for Handlers {
    type SubscribeStream = EventStream;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let actor = self.actor(&request).await?;
        self.core.require_follower(&actor).map_err(status)?;
        let mut cursor = request.into_inner().after_seq.max(0);
        let core = self.core.clone();
        let (tx, rx) = mpsc::channel(BATCH as usize);
        tokio::spawn(async move {
            let mut committed = core.db().committed_seq();
            loop {
                // Mark the current commit as seen before reading, so a commit that lands
                // after the read wakes the wait below.
                committed.borrow_and_update();
                let batch = match core.list_events(&actor, cursor, None, BATCH).await {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = tx.send(Err(status(e))).await;
                        return;
                    }
                };
                if batch.is_empty() {
                    tokio::select! {
                        _ = committed.changed() => {}
                        _ = tokio::time::sleep(POLL) => {}
                        _ = tx.closed() => return,
                    }
                    continue;
                }
                for event in batch {
                    cursor = event.seq;
                    if tx.send(Ok(event_to(event))).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let ticket_id = (r.ticket_id > 0).then_some(r.ticket_id);
        let events = self
            .core
            .list_events(&actor, r.after_seq, ticket_id, r.limit as i64)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListEventsResponse {
            events: events.into_iter().map(event_to).collect(),
        }))
    }
}
