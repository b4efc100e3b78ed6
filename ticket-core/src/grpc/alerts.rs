//! AlertService over the domain.

use hotline_api::ticket::v1 as pb;
use pb::alert_service_server::AlertService;
use tonic::{Request, Response, Status};

use super::convert::alert_to;
use super::{Handlers, required_id, status};
use crate::domain::alerts::NewAlert;

#[tonic::async_trait]
impl AlertService for Handlers {
    async fn raise_alert(
        &self,
        request: Request<pb::RaiseAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let alert = NewAlert {
            key: r.key,
            kind: r.kind,
            message: r.message,
            ticket_ids: r.ticket_ids,
            region_code: r.region_code.trim().to_owned(),
        };
        let record = self.core.raise_alert(&actor, alert).await.map_err(status)?;
        Ok(Response::new(alert_to(record)))
    }

    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let actor = self.actor(&request).await?;
        let r = request.into_inner();
        let alerts = self
            .core
            .list_alerts(&actor, r.open_only, r.since_ms, r.limit as i64)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListAlertsResponse {
            alerts: alerts.into_iter().map(alert_to).collect(),
        }))
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let actor = self.actor(&request).await?;
        let id = required_id("alert_id", request.into_inner().alert_id)?;
        let record = self
            .core
            .acknowledge_alert(&actor, id)
            .await
            .map_err(status)?;
        Ok(Response::new(alert_to(record)))
    }
}
