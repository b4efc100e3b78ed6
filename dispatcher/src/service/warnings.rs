//! Early warnings: a collective or urgent ticket at once, and the n-th ticket about one
//! employer within the window (the seeds: a supermarket chain's staff calling during a
//! restructuring). Each raises an alert in ticket-core and emails the province's contacts.

use chrono::{DateTime, Utc};
use hotline_api::ticket::v1 as pb;
use serde_json::Value;

use super::follower::{DAY_MS, Dispatcher, Failure};
use super::mail::china_time;
use crate::notify::{self, EarlyWarning, EmployerCluster, TicketFacts, WarningCause};

impl Dispatcher {
    pub(super) async fn early_warning(&self, event: &pb::Event) -> Result<(), Failure> {
        let ticket: Value = serde_json::from_str(&event.after_json).unwrap_or_default();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let number = text(&ticket["number"]);
        let topic = text(&ticket["topic"]);
        let employer_name = text(&ticket["employer"]["name"]);
        let region = Some(text(&ticket["employer"]["region_code"]))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| text(&ticket["place_region_code"]));
        let facts = TicketFacts {
            ticket_number: number.clone(),
            topic: topic.clone(),
            employer_name: employer_name.clone(),
            region_name: hotline_reference::region_full_name(&region).unwrap_or_default(),
            summary: text(&ticket["description"]),
        };
        let id = event.ticket_id;
        match ticket["priority"].as_str() {
            Some("urgent") => {
                let message =
                    format!("紧急工单 {number}（{topic}）：来电人情绪激烈或有极端倾向，请立即处置");
                let key = format!("urgent:{id}");
                self.raise(key.clone(), "urgent", message, vec![id], region.clone())
                    .await?;
                self.warn_by_email(
                    key,
                    WarningCause::Urgent {
                        ticket: facts.clone(),
                    },
                )
                .await?;
            }
            Some("collective") => {
                let workers = ticket["workers"].as_i64().unwrap_or(0);
                let message =
                    format!("群体性工单 {number}（{topic}，涉及{workers}人，{employer_name}）");
                let key = format!("collective:{id}");
                self.raise(key.clone(), "collective", message, vec![id], region.clone())
                    .await?;
                let cause = WarningCause::Collective {
                    ticket: facts.clone(),
                    workers_involved: u32::try_from(workers).ok(),
                };
                self.warn_by_email(key, cause).await?;
            }
            _ => {}
        }
        let uscc = text(&ticket["employer"]["uscc"]);
        let key = hotline_workflow::employer::employer_key(&uscc, &employer_name);
        if key.is_empty() {
            return Ok(());
        }
        let created_at = ticket["created_at"].as_i64().unwrap_or(event.at_ms);
        let since = created_at - self.cluster_window_ms;
        let window_key = key.clone();
        let recent = self
            .with_state(move |s| s.employer_tickets(&window_key, id, created_at, since))
            .await?;
        if recent.len() < self.cluster_threshold {
            return Ok(());
        }
        let days = self.cluster_window_ms / DAY_MS;
        let message = format!(
            "{days}日内关于「{employer_name}」的来电已达{}件，请关注是否存在群体性风险",
            recent.len()
        );
        // Keyed by the window's first ticket: one alert per cluster, not one per call.
        let alert_key = format!("employer_cluster:{key}:{}", recent[0]);
        self.raise(
            alert_key.clone(),
            "employer_cluster",
            message,
            recent.clone(),
            region,
        )
        .await?;
        let mut numbers = Vec::new();
        let mut topics: Vec<String> = Vec::new();
        for ticket_id in recent {
            let t = self.get_ticket(ticket_id).await?;
            numbers.push(t.number);
            if !topics.contains(&t.topic) {
                topics.push(t.topic);
            }
        }
        let cause = WarningCause::EmployerCluster(EmployerCluster {
            employer_name,
            uscc: (!uscc.is_empty()).then_some(uscc),
            region_name: facts.region_name,
            window_days: days as u32,
            ticket_numbers: numbers,
            topics: topics.join("、"),
        });
        self.warn_by_email(alert_key, cause).await
    }

    /// Emails an early warning to the province's contacts, once per alert key.
    async fn warn_by_email(&self, alert_key: String, cause: WarningCause) -> Result<(), Failure> {
        let Some(outbox) = &self.outbox else {
            return Ok(());
        };
        let to = self.contacts.emails(&self.province_code).to_vec();
        if to.is_empty() {
            return Ok(());
        }
        let now = (self.now)();
        let email = notify::render_early_warning(&EarlyWarning {
            to,
            cause,
            raised_at: china_time(now),
            hotline_name: self.hotline_name.clone(),
        });
        let at = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
        notify::enqueue(outbox, email, format!("warning:{alert_key}"), at)
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        Ok(())
    }
}
