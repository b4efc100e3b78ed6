//! A small HTTP/1.1 client (hyper, rustls) for the gateway's softphone page and API:
//! one connection per request, plain for `ws_listen` and TLS with the gateway's
//! self-signed certificate for `wss_listen`, and a reader for Server-Sent Events.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// How long one request may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);

/// Where the gateway's page is served: plain or over TLS.
#[derive(Clone)]
pub struct WebClient {
    addr: SocketAddr,
    tls: Option<TlsConnector>,
    /// The session cookie (`name=value`) once signed in.
    pub cookie: Option<String>,
}

/// A complete response.
#[derive(Debug)]
pub struct WebResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl WebResponse {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "status {} with a body that is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl WebClient {
    /// Plain HTTP to `ws_listen`.
    pub fn plain(addr: SocketAddr) -> WebClient {
        WebClient {
            addr,
            tls: None,
            cookie: None,
        }
    }

    /// HTTPS to `wss_listen`, trusting the certificate in `cert_pem` only.
    pub fn tls(addr: SocketAddr, cert_pem: &Path) -> anyhow::Result<WebClient> {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(cert_pem)? {
            roots.add(cert?)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(WebClient {
            addr,
            tls: Some(TlsConnector::from(Arc::new(config))),
            cookie: None,
        })
    }

    /// Sends one request and returns the response with its body unread.
    pub async fn open(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> anyhow::Result<hyper::Response<Incoming>> {
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        match &self.tls {
            None => self.send(tcp, method, path, body).await,
            Some(connector) => {
                let name = rustls_pki_types::ServerName::try_from("localhost")?;
                let tls = connector.connect(name, tcp).await?;
                self.send(tls, method, path, body).await
            }
        }
    }

    async fn send<S>(
        &self,
        stream: S,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> anyhow::Result<hyper::Response<Incoming>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let host = match self.tls {
            Some(_) => format!("localhost:{}", self.addr.port()),
            None => self.addr.to_string(),
        };
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", host);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))?;
        Ok(
            tokio::time::timeout(REQUEST_LIMIT, sender.send_request(request))
                .await
                .context("no response in time")??,
        )
    }

    /// Sends one request and reads the whole response.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> anyhow::Result<WebResponse> {
        let response = self.open(method, path, body).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(REQUEST_LIMIT, response.into_body().collect())
            .await
            .context("the body did not finish in time")??
            .to_bytes()
            .to_vec();
        Ok(WebResponse {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<WebResponse> {
        self.request("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<WebResponse> {
        self.request("POST", path, Some(&body.to_string())).await
    }

    /// Signs in and keeps the session cookie.
    pub async fn sign_in(&mut self, user: &str, password: &str) -> anyhow::Result<WebResponse> {
        let response = self
            .post(
                "/api/session",
                &serde_json::json!({"username": user, "password": password}),
            )
            .await?;
        if response.status == 200 {
            let cookie = response.header("set-cookie");
            let pair = cookie.split(';').next().unwrap_or_default().to_owned();
            self.cookie = Some(pair);
        }
        Ok(response)
    }

    /// Opens the event stream at `path`.
    pub async fn events(&self, path: &str) -> anyhow::Result<EventStream> {
        let response = self.open("GET", path, None).await?;
        if response.status() != 200 {
            bail!("the event stream answered {}", response.status());
        }
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        anyhow::ensure!(
            content_type.starts_with("text/event-stream"),
            "content type {content_type}"
        );
        Ok(EventStream {
            body: response.into_body(),
            buffer: String::new(),
        })
    }
}

/// A Server-Sent Events stream being read.
pub struct EventStream {
    body: Incoming,
    buffer: String,
}

/// One event: its name and its data as JSON.
#[derive(Debug, Clone)]
pub struct ServerEvent {
    pub name: String,
    pub data: serde_json::Value,
}

impl EventStream {
    /// The next event (keep-alive comments skipped), within `limit`; `None` when the
    /// stream ended.
    pub async fn next(&mut self, limit: Duration) -> anyhow::Result<Option<ServerEvent>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let data = serde_json::from_str(&data)
                    .with_context(|| format!("event {name} with data {data}"))?;
                return Ok(Some(ServerEvent { name, data }));
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .map_err(|_| anyhow::anyhow!("no event within {limit:?}"))?;
            match frame {
                None => return Ok(None),
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                    }
                }
            }
        }
    }

    /// The next event named `name`, skipping others.
    pub async fn next_named(&mut self, name: &str, limit: Duration) -> anyhow::Result<ServerEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Some(event) if event.name == name => return Ok(event),
                Some(_) => {}
                None => bail!("the event stream ended before a {name} event"),
            }
        }
    }
}
