//! The page's JSON API: sign in and out, Ready and pause, the agent's state, and a
//! Server-Sent Events stream of what the agent's screen must show.
//!
//! Errors are `{"error": "...", "field": "..."}`, naming the field and the rule.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use hotline_api::ticket::v1::{LookupCallerResponse, Ticket, TicketKind};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::session::{self, SignedIn};
use super::{Origin, WebApp};
use crate::acd::{AcdError, AgentState};
use crate::agent_feed::{self, FeedNotice};
use crate::core::{AgentCommand, AgentStatusView, CommandError, CommandReply, Input};
use crate::registrar::{PasswordCheck, validate_username};

/// The pause a seat starts in after signing in on the page (see `sign_in`).
const SIGNED_IN_PAUSE: &str = "signed_in";

/// A refused request: its status and the JSON body naming the field.
pub(super) struct ApiError {
    status: StatusCode,
    error: String,
    field: &'static str,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, field: &'static str, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field,
            retry_after: None,
        }
    }

    fn shutting_down() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "gateway",
            "the gateway is shutting down",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "field": self.field});
        let mut response = (self.status, json_body(&body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

fn json_body(value: &Value) -> ([(header::HeaderName, &'static str); 2], String) {
    (
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        value.to_string(),
    )
}

fn sign_in_first() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "session", "sign in first")
}

/// The session of the request's cookie, and its token.
fn session_of(app: &WebApp, headers: &HeaderMap) -> Result<(SignedIn, String), ApiError> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(session::token_from_cookies)
        .ok_or_else(sign_in_first)?;
    let who = app
        .sessions
        .get(token, Instant::now())
        .ok_or_else(sign_in_first)?;
    Ok((who, token.to_owned()))
}

/// The JSON object of a request body.
fn object(body: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body",
            "must be a JSON object",
        )),
        Err(error) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body",
            format!("must be a JSON object: {error}"),
        )),
    }
}

/// A required, non-empty string field.
fn text_field<'a>(
    map: &'a serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, ApiError> {
    match map.get(field) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            field,
            "required: a non-empty string",
        )),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            field,
            "must be a string",
        )),
    }
}

/// The core's answer to `command`; the outer error only when the core is gone.
async fn core_command(
    app: &WebApp,
    command: AgentCommand,
) -> Result<Result<CommandReply, CommandError>, ApiError> {
    let (reply, answer) = oneshot::channel();
    app.core
        .send(Input::Command(command, reply))
        .await
        .map_err(|_| ApiError::shutting_down())?;
    answer.await.map_err(|_| ApiError::shutting_down())
}

async fn command(app: &WebApp, command: AgentCommand) -> Result<CommandReply, ApiError> {
    core_command(app, command).await?.map_err(command_error)
}

fn command_error(error: CommandError) -> ApiError {
    let field = match &error {
        CommandError::Acd(AcdError::UnknownQueue { .. }) | CommandError::UnknownQueue(_) => "queue",
        _ => "agent",
    };
    ApiError::new(StatusCode::CONFLICT, field, error.to_string())
}

async fn status(app: &WebApp, command_: AgentCommand) -> Result<AgentStatusView, ApiError> {
    match command(app, command_).await? {
        CommandReply::Status(view) => Ok(view),
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "agent",
            "unexpected reply from the core",
        )),
    }
}

/// The agent's state as the page shows it; `state` is a stable machine word.
fn status_json(view: &AgentStatusView) -> Value {
    let (state, pause_reason) = match &view.state {
        AgentState::LoggedOut => ("logged_out", ""),
        AgentState::Ready => ("ready", ""),
        AgentState::Paused { reason } => ("paused", reason.as_str()),
        AgentState::Ringing { .. } => ("ringing", ""),
        AgentState::Talking { .. } => ("talking", ""),
        AgentState::WrapUp => ("wrap_up", ""),
    };
    json!({
        "agent": view.agent,
        "state": state,
        "pause_reason": pause_reason,
        "call": view.call_uuid,
        "queues": view.queues,
        "registered": view.registered,
    })
}

fn state_response(view: &AgentStatusView) -> Response {
    json_body(&status_json(view)).into_response()
}

/// The host part of the request's `Host` header, for the SIP URI the page registers.
fn request_host(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    let host = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().map(|ip| format!("[{ip}]"))
    } else {
        host.split(':').next().map(str::to_owned)
    };
    host.filter(|h| !h.is_empty() && h.len() <= 253)
        .unwrap_or_else(|| "localhost".into())
}

/// `POST /api/session {username, password}`: the SIP password is the seat's one
/// credential. Failures count in the registrar's throttle, keyed by source IP.
pub(super) async fn sign_in(
    State(app): State<WebApp>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let map = object(&body)?;
    let username = text_field(&map, "username")?;
    let password = text_field(&map, "password")?;
    validate_username(username).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "username",
            "must be 1 to 32 characters of a-z, 0-9, '_', '.' or '-'",
        )
    })?;
    let (reply, answer) = oneshot::channel();
    app.core
        .send(Input::CheckPassword {
            source: origin.remote,
            username: username.to_owned(),
            password: password.to_owned(),
            reply,
        })
        .await
        .map_err(|_| ApiError::shutting_down())?;
    let credential = match answer.await.map_err(|_| ApiError::shutting_down())? {
        PasswordCheck::Accepted(credential) => credential,
        PasswordCheck::Refused { not_before } => {
            if let Some(at) = not_before {
                tokio::time::sleep_until(at.into()).await;
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "password",
                "wrong user name or password",
            ));
        }
        PasswordCheck::Blocked { until } => {
            let seconds = until.saturating_duration_since(Instant::now()).as_secs() + 1;
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "password",
                "too many failed sign-ins from this address; try again later",
            );
            error.retry_after = Some(seconds);
            return Err(error);
        }
    };
    let role = credential.role.as_str().to_owned();
    let agent = credential.username.clone();
    let login = AgentCommand::Login {
        agent: agent.clone(),
        queues: agent_feed::default_queues(&role),
    };
    let view = match status(&app, login).await {
        // A seat that signs in starts paused: the browser still has to register its
        // softphone, and the person presses Ready when the headset is on. A call
        // offered before that would ring nowhere and pause the agent anyway.
        Ok(_) => {
            status(
                &app,
                AgentCommand::Pause {
                    agent: agent.clone(),
                    reason: SIGNED_IN_PAUSE.to_owned(),
                },
            )
            .await?
        }
        // A page reloaded, or a second screen: the agent keeps its state.
        Err(_) => {
            status(
                &app,
                AgentCommand::Status {
                    agent: agent.clone(),
                },
            )
            .await?
        }
    };
    let token = app.sessions.create(
        SignedIn {
            username: agent.clone(),
            role: role.clone(),
        },
        Instant::now(),
    );
    tracing::info!(agent, remote = %origin.remote, "signed in on the web page");
    let host = request_host(&headers);
    let body = json!({
        "username": agent,
        "role": role,
        "sip": {"uri": format!("sip:{agent}@{host}"), "realm": app.realm},
        "state": status_json(&view),
    });
    let mut response = json_body(&body).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::set_cookie(&token, origin.secure)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET /api/session`: who is signed in, so a reloaded page can resume.
pub(super) async fn whoami(
    State(app): State<WebApp>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (who, _) = session_of(&app, &headers)?;
    let host = request_host(&headers);
    let body = json!({
        "username": who.username,
        "role": who.role,
        "sip": {"uri": format!("sip:{}@{host}", who.username), "realm": app.realm},
    });
    Ok(json_body(&body).into_response())
}

/// `DELETE /api/session`: logs the agent out and forgets the session. Refused during
/// a call (hang up or transfer first).
pub(super) async fn sign_out(
    State(app): State<WebApp>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (who, token) = session_of(&app, &headers)?;
    let agent = who.username.clone();
    let view = match core_command(&app, AgentCommand::Logout { agent }).await? {
        Ok(CommandReply::Status(view)) => Some(view),
        Ok(_) | Err(CommandError::Acd(AcdError::NotLoggedIn { .. })) => None,
        Err(error) => return Err(command_error(error)),
    };
    app.sessions.remove(&token);
    let body = match view {
        Some(view) => status_json(&view),
        None => json!({"agent": who.username, "state": "logged_out"}),
    };
    let mut response = json_body(&body).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session::clear_cookie(origin.secure)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET /api/agent`.
pub(super) async fn agent_state(
    State(app): State<WebApp>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (who, _) = session_of(&app, &headers)?;
    let agent = who.username;
    Ok(state_response(
        &status(&app, AgentCommand::Status { agent }).await?,
    ))
}

/// `POST /api/agent/ready`.
pub(super) async fn ready(
    State(app): State<WebApp>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (who, _) = session_of(&app, &headers)?;
    let agent = who.username;
    Ok(state_response(
        &status(&app, AgentCommand::Ready { agent }).await?,
    ))
}

/// `POST /api/agent/pause {reason}`.
pub(super) async fn pause(
    State(app): State<WebApp>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (who, _) = session_of(&app, &headers)?;
    let map = object(&body)?;
    let reason = text_field(&map, "reason")?;
    if reason.chars().count() > 64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "reason",
            "must be at most 64 characters",
        ));
    }
    let command_ = AgentCommand::Pause {
        agent: who.username,
        reason: reason.to_owned(),
    };
    Ok(state_response(&status(&app, command_).await?))
}

/// `GET /api/agent/events`: the agent's state changes, and each ring with the
/// caller's history, as Server-Sent Events (`state`, `ringing`, `connected`,
/// `ended`). The stream ends when the session does.
pub(super) async fn events(
    State(app): State<WebApp>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (who, token) = session_of(&app, &headers)?;
    let mut ended = app.sessions.ended(&token).ok_or_else(sign_in_first)?;
    let feed = agent_feed::watch(&app.core, app.history.clone(), who.username)
        .await
        .map_err(|_| ApiError::shutting_down())?;
    let session_over = async move {
        let _ = ended.changed().await;
    };
    let stream = tokio_stream::wrappers::ReceiverStream::new(feed)
        .map(|notice| Ok(event_of(notice)))
        .take_until(session_over);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn event_of(notice: FeedNotice) -> Event {
    let (name, data) = match notice {
        FeedNotice::Status(view) => ("state", status_json(&view)),
        FeedNotice::Ringing {
            call_uuid,
            caller_phone,
            queue,
            service,
            history,
            history_error,
        } => (
            "ringing",
            json!({
                "call": call_uuid,
                "caller_number": caller_phone,
                "queue": queue,
                "service": service,
                "history": history.as_ref().map(history_json).unwrap_or_default(),
                "open_tickets": history.as_ref().map_or(0, |h| h.open_tickets),
                "history_error": history_error,
            }),
        ),
        FeedNotice::Connected { call_uuid } => ("connected", json!({"call": call_uuid})),
        FeedNotice::Ended { call_uuid, reason } => {
            ("ended", json!({"call": call_uuid, "reason": reason}))
        }
    };
    Event::default().event(name).data(data.to_string())
}

/// Summary characters shown per past ticket.
const SUMMARY_CHARS: usize = 60;

/// One line per past ticket: number, date (China time), kind, topic, status, summary.
fn history_json(history: &LookupCallerResponse) -> Vec<Value> {
    history.tickets.iter().map(ticket_json).collect()
}

fn ticket_json(ticket: &Ticket) -> Value {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let date = chrono::DateTime::from_timestamp_millis(ticket.created_at_ms)
        .map(|at| at.with_timezone(&china).format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let kind = TicketKind::try_from(ticket.kind)
        .map(|kind| {
            kind.as_str_name()
                .trim_start_matches("TICKET_KIND_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let mut summary: String = ticket.description.chars().take(SUMMARY_CHARS).collect();
    if ticket.description.chars().count() > SUMMARY_CHARS {
        summary.push('…');
    }
    json!({
        "id": ticket.id,
        "number": ticket.number,
        "date": date,
        "kind": kind,
        "topic": ticket.topic,
        "status": ticket.state,
        "urgent": ticket.urgent,
        "summary": summary,
    })
}

/// Anything else: JSON under `/api/`, plain text elsewhere.
pub(super) async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(StatusCode::NOT_FOUND, "path", "no such API route").into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_header_gives_the_sip_domain() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_host(&headers), "localhost");
        headers.insert(header::HOST, HeaderValue::from_static("10.1.2.3:7443"));
        assert_eq!(request_host(&headers), "10.1.2.3");
        headers.insert(header::HOST, HeaderValue::from_static("[::1]:7443"));
        assert_eq!(request_host(&headers), "[::1]");
        headers.insert(header::HOST, HeaderValue::from_static("hotline.example.cn"));
        assert_eq!(request_host(&headers), "hotline.example.cn");
    }

    #[test]
    fn a_past_ticket_is_summarised_in_china_time() {
        let ticket = Ticket {
            number: "GD20261122000001".into(),
            kind: TicketKind::Request as i32,
            topic: "欠薪".into(),
            state: "dispatched".into(),
            description: "工地".repeat(40),
            // 2026-11-21 20:00 UTC is the 22nd in Beijing.
            created_at_ms: 1_795_291_200_000,
            ..Ticket::default()
        };
        let line = ticket_json(&ticket);
        assert_eq!(line["date"], "2026-11-22");
        assert_eq!(line["kind"], "request");
        assert_eq!(line["status"], "dispatched");
        assert_eq!(
            line["summary"].as_str().map(|s| s.chars().count()),
            Some(SUMMARY_CHARS + 1)
        );
    }
}
