//! The browser softphone: the page, its assets and its small JSON API, served on the
//! same listeners as SIP over WebSocket (`ws_listen` as http, `wss_listen` as https).
//!
//! One origin for the page, the API and the SIP WebSocket means a browser accepts one
//! certificate, getUserMedia runs in a secure context, and the session cookie can be
//! `SameSite=Strict`. The page is plain JavaScript with JsSIP; everything it needs is
//! built into the binary (`web/`, see its README), nothing is fetched from elsewhere.
//!
//! The handlers are thin adapters, like [`crate::grpc`]: they check the session,
//! hand a command to the signalling core and turn the answer into JSON.

mod api;
pub mod session;

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::mpsc;

use crate::agent_feed::CallerHistory;
use crate::core::Input;
pub use session::Sessions;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct WebApp {
    core: mpsc::Sender<Input>,
    history: CallerHistory,
    sessions: Sessions,
    realm: String,
}

impl WebApp {
    pub fn new(core: mpsc::Sender<Input>, history: CallerHistory, realm: String) -> Self {
        WebApp {
            core,
            history,
            sessions: Sessions::default(),
            realm,
        }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The routes of the page and the API.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(index))
            .route("/index.html", get(index))
            .route("/app.js", get(app_js))
            .route("/style.css", get(style_css))
            .route("/jssip.min.js", get(jssip))
            .route(
                "/api/session",
                post(api::sign_in).delete(api::sign_out).get(api::whoami),
            )
            .route("/api/agent", get(api::agent_state))
            .route("/api/agent/ready", post(api::ready))
            .route("/api/agent/pause", post(api::pause))
            .route("/api/agent/events", get(api::events))
            .fallback(api::not_found)
            .with_state(self.clone())
    }
}

/// Where a request came from, put into each request's extensions by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub remote: SocketAddr,
    /// Came over TLS (`wss_listen`).
    pub secure: bool,
}

/// The page, built into the binary.
const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const STYLE_CSS: &str = include_str!("../../web/style.css");
/// JsSIP, bundled by `web/build.sh` (version in `web/package.json`) and checked in.
pub const JSSIP_BUNDLE: &[u8] = include_bytes!("../../web/dist/jssip.min.js");

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn index() -> Response {
    let mut response = asset("text/html; charset=utf-8", INDEX_HTML);
    // Scripts and styles from this origin only; media and the SIP WebSocket too.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; \
             img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    response
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn jssip() -> Response {
    asset("text/javascript; charset=utf-8", JSSIP_BUNDLE)
}
