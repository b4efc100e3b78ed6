//! MetricsService over the domain.

use hotline_api::ticket::v1 as pb;
use pb::metrics_service_server::MetricsService;
use tonic::{Request, Response, Status};

use super::{Handlers, status};
use crate::domain::metrics::{Count, Period, Rate, UnionFigures};

fn rate(r: Rate) -> Option<pb::Rate> {
    Some(pb::Rate {
        rate: r.value(),
        numerator: r.numerator,
        denominator: r.denominator,
    })
}

fn counts(counts: Vec<Count>) -> Vec<pb::Count> {
    counts
        .into_iter()
        .map(|c| pb::Count {
            key: c.key,
            label: c.label,
            count: c.count,
        })
        .collect()
}

fn union(u: UnionFigures) -> pb::UnionFigures {
    pb::UnionFigures {
        org_code: u.org_code,
        org_name: u.org_name,
        dispatched: u.dispatched,
        on_time_closure: rate(u.on_time_closure),
        timely_sign_for: rate(u.timely_sign_for),
        returns: rate(u.returns),
        overdue: u.overdue,
        urges: u.urges,
    }
}

fn period(r: pb::MetricsRequest) -> Period {
    Period {
        from: r.from_ms,
        to: r.to_ms,
        org_code: r.org_code.trim().to_owned(),
        top: r.top as i64,
    }
}

#[tonic::async_trait]
impl MetricsService for Handlers {
    async fn get_summary(
        &self,
        request: Request<pb::MetricsRequest>,
    ) -> Result<Response<pb::MetricsSummary>, Status> {
        let actor = self.actor(&request).await?;
        let s = self
            .core
            .metrics_summary(&actor, period(request.into_inner()))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::MetricsSummary {
            tickets: s.tickets,
            work_orders_dispatched: s.work_orders_dispatched,
            on_time_closure: rate(s.on_time_closure),
            timely_sign_for: rate(s.timely_sign_for),
            returns: rate(s.returns),
            satisfaction: rate(s.satisfaction),
            first_contact_resolution: rate(s.first_contact_resolution),
            overdue: s.overdue,
            urges: s.urges,
            amount_recovered_fen: s.amount_recovered_fen,
            workers_helped: s.workers_helped,
            by_channel: counts(s.by_channel),
            by_kind: counts(s.by_kind),
            by_topic: counts(s.by_topic),
            by_region: counts(s.by_region),
            by_industry: counts(s.by_industry),
            by_employer: counts(s.by_employer),
            by_union: s.by_union.into_iter().map(union).collect(),
            calls_offered: s.calls_offered,
            calls_answered: rate(s.calls_answered),
            calls_abandoned: s.calls_abandoned,
            average_wait_ms: s.average_wait_ms,
        }))
    }

    async fn list_overdue(
        &self,
        request: Request<pb::MetricsRequest>,
    ) -> Result<Response<pb::OverdueList>, Status> {
        let actor = self.actor(&request).await?;
        let now = self.core.clock_now();
        let overdue = self
            .core
            .overdue_work_orders(&actor, request.into_inner().org_code)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::OverdueList {
            work_orders: overdue
                .into_iter()
                .map(|o| pb::OverdueWorkOrder {
                    work_order_id: o.work_order_id,
                    ticket_number: o.ticket_number,
                    org_code: o.org_code,
                    org_name: o.org_name,
                    state: o.state,
                    stage: o.stage.into(),
                    due_at_ms: o.due_at,
                    overdue_ms: now - o.due_at,
                    urge_count: o.urge_count as i32,
                })
                .collect(),
        }))
    }
}
