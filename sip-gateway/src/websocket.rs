//! SIP over WebSocket (RFC 7118), plain (`ws`) and over TLS (`wss`), for browser
//! softphones; the same listeners serve the softphone page and its API over HTTP
//! ([`crate::web`]), so page, API and SIP share one origin and one certificate.
//!
//! Each connection speaks HTTP/1.1. A GET asking to upgrade to a WebSocket (on any
//! path; JsSIP uses `/ws`) becomes the SIP transport, and must offer the `sip`
//! subprotocol: others are refused with 400, as RFC 7118 §4.1 asks. Every other
//! request goes to the web router.
//!
//! Each WebSocket message carries exactly one SIP message, so there is no framing to
//! do: a message goes to `parse_message` like a UDP datagram. A connection is a
//! [`Peer::Ws`]; the registrar binds a browser to its connection, and requests to it
//! (an INVITE when a call rings) go back down the same connection, which is the only
//! way to reach a browser.
//!
//! TLS uses rustls. Without a configured certificate the gateway makes a self-signed
//! one on first start (`<data-dir>/gateway/tls/`), good for local use and tests; a real
//! site configures its own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use futures::{SinkExt, StreamExt};
use hyper_util::rt::{TokioIo, TokioTimer};
use sip_proto::parse_message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tower::ServiceExt;

use crate::transport::{Inbound, NEXT_CONNECTION, Peer, TransportHandle, stamp_via};
use crate::web::Origin;

/// A SIP message larger than this in one WebSocket message is refused (the
/// connection closes): browsers send a few kilobytes at most.
const MAX_MESSAGE: usize = 256 * 1024;

/// A client that has not sent its request headers by then is disconnected.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// What each connection needs: where SIP goes, and the web router.
#[derive(Clone)]
struct Shared {
    handle: TransportHandle,
    inbound: mpsc::Sender<Inbound>,
    web: axum::Router,
}

/// Listens on `listen` for `ws`/http (no `tls`) or `wss`/https connections; returns
/// the bound address.
pub async fn start(
    listen: SocketAddr,
    tls: Option<TlsAcceptor>,
    handle: TransportHandle,
    inbound: mpsc::Sender<Inbound>,
    web: axum::Router,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let local = listener.local_addr()?;
    let shared = Shared {
        handle,
        inbound,
        web,
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, remote)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (shared, tls) = (shared.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => serve_http(stream, remote, false, shared).await,
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(stream) => serve_http(stream, remote, true, shared).await,
                        Err(error) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                    },
                }
            });
        }
    });
    Ok(local)
}

/// Serves one connection's HTTP requests until it closes or becomes a WebSocket.
async fn serve_http<S>(stream: S, remote: SocketAddr, secure: bool, shared: Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        let shared = shared.clone();
        async move {
            if wants_websocket(&request) {
                return Ok::<_, Infallible>(upgrade_to_sip(request, remote, secure, shared));
            }
            request.extensions_mut().insert(Origin { remote, secure });
            shared.web.oneshot(request).await
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(error) = served {
        tracing::debug!(%remote, %error, "HTTP connection ended with an error");
    }
}

/// A GET with `Upgrade: websocket`.
fn wants_websocket<B>(request: &Request<B>) -> bool {
    request.method() == axum::http::Method::GET
        && request
            .headers()
            .get_all(header::UPGRADE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
}

fn offers_sip<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim().eq_ignore_ascii_case("sip"))
}

fn refuse(reason: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(reason));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// Answers the WebSocket handshake (RFC 6455 §4.2.2) and, once hyper hands over the
/// connection, runs it as a SIP transport. Only the `sip` subprotocol is accepted.
fn upgrade_to_sip(
    request: Request<hyper::body::Incoming>,
    remote: SocketAddr,
    secure: bool,
    shared: Shared,
) -> Response<Body> {
    let headers = request.headers();
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return refuse("Sec-WebSocket-Key is required\n");
    };
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version.as_bytes() != b"13")
    {
        let mut response = refuse("Sec-WebSocket-Version: 13 is required\n");
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return response;
    }
    if !offers_sip(&request) {
        tracing::debug!(%remote, "WebSocket handshake without the sip subprotocol refused");
        return refuse("Sec-WebSocket-Protocol: the \"sip\" subprotocol is required (RFC 7118)\n");
    }
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        match hyper::upgrade::on(request).await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_MESSAGE))
                    .max_frame_size(Some(MAX_MESSAGE));
                let websocket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve_sip(websocket, remote, secure, shared.handle, shared.inbound).await;
            }
            Err(error) => tracing::debug!(%remote, %error, "WebSocket upgrade failed"),
        }
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("sip"),
    );
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

async fn serve_sip<S>(
    websocket: WebSocketStream<S>,
    remote: SocketAddr,
    secure: bool,
    handle: TransportHandle,
    inbound: mpsc::Sender<Inbound>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let peer = Peer::Ws {
        connection,
        remote,
        secure,
    };
    let (mut sink, mut source) = websocket.split();
    let (outgoing, mut to_send) = mpsc::unbounded_channel::<Vec<u8>>();
    handle.register_connection(connection, outgoing);
    let writer = tokio::spawn(async move {
        while let Some(bytes) = to_send.recv().await {
            // SIP is text; a body that is not UTF-8 goes as a binary message.
            let message = match String::from_utf8(bytes) {
                Ok(text) => WsMessage::Text(text.into()),
                Err(error) => WsMessage::Binary(error.into_bytes().into()),
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(message) = source.next().await {
        let bytes = match message {
            Ok(WsMessage::Text(text)) => text.as_bytes().to_vec(),
            Ok(WsMessage::Binary(bytes)) => bytes.to_vec(),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_)) => continue,
            Ok(WsMessage::Close(_)) | Err(_) => break,
        };
        let Ok(mut message) = parse_message(&bytes) else {
            tracing::debug!(%remote, "dropped an unparseable WebSocket message");
            continue;
        };
        stamp_via(&mut message, remote);
        if inbound.send(Inbound { message, peer }).await.is_err() {
            break;
        }
    }
    handle.forget_connection(connection);
    let _ = writer.await;
}

/// The TLS acceptor for `wss`: the configured certificate and key, or a self-signed
/// pair made once in `dir` (for `localhost` and 127.0.0.1).
pub fn tls_acceptor(
    cert: Option<&Path>,
    key: Option<&Path>,
    dir: &Path,
) -> Result<TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (cert_path, key_path) = match (cert, key) {
        (Some(cert), Some(key)) => (cert.to_owned(), key.to_owned()),
        (None, None) => {
            let cert_path = dir.join("self-signed-cert.pem");
            let key_path = dir.join("self-signed-key.pem");
            if !cert_path.exists() || !key_path.exists() {
                make_self_signed(&cert_path, &key_path)?;
            }
            (cert_path, key_path)
        }
        _ => return Err("tls_cert and tls_key: give both or neither".into()),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(Iterator::collect)
        .map_err(|error| format!("tls_cert {}: {error}", cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|error| format!("tls_key {}: {error}", key_path.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| error.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|error| format!("tls_cert/tls_key: {error}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn make_self_signed(cert_path: &Path, key_path: &Path) -> Result<(), String> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|error| error.to_string())?;
    if let Some(dir) = cert_path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    }
    std::fs::write(cert_path, certified.cert.pem())
        .map_err(|error| format!("{}: {error}", cert_path.display()))?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())
        .map_err(|error| format!("{}: {error}", key_path.display()))?;
    tracing::info!(cert = %cert_path.display(), "made a self-signed certificate for wss");
    Ok(())
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}
