//! Hand-built SIP over raw sockets, for tests that must send what no well-behaved
//! peer would: garbage, requests missing headers, bad framing, password guesses.
//!
//! Every receive is bounded by a limit and returns on the first matching message,
//! so a test waits for an answer, never for a fixed time.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use sip_proto::digest::{ClientSecret, answer_challenge, pick_challenge};
use sip_proto::{HeaderName, Message, Method, Response, StreamFramer, StreamItem, parse_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A token unique within this test process (branches, tags, Call-IDs).
pub fn unique_token() -> String {
    let count = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{count:x}", std::process::id())
}

/// One request as text, with every header a UAS needs unless the test removes it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// A complete request from `local` (Via, From, To, Call-ID, CSeq, Max-Forwards);
    /// Content-Length is added by [`RawRequest::to_bytes`].
    pub fn new(method: &str, uri: &str, local: SocketAddr, transport: &str) -> RawRequest {
        let token = unique_token();
        let headers = vec![
            (
                "Via".to_owned(),
                format!("SIP/2.0/{transport} {local};branch=z9hG4bK{token};rport"),
            ),
            ("Max-Forwards".to_owned(), "70".to_owned()),
            (
                "From".to_owned(),
                format!("<sip:probe@{}>;tag=f{token}", local.ip()),
            ),
            ("To".to_owned(), format!("<{uri}>")),
            ("Call-ID".to_owned(), format!("{token}@probe")),
            ("CSeq".to_owned(), format!("1 {method}")),
        ];
        RawRequest {
            method: method.to_owned(),
            uri: uri.to_owned(),
            headers,
            body: Vec::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn call_id(&self) -> String {
        self.header("Call-ID").unwrap_or_default().to_owned()
    }

    pub fn without(mut self, name: &str) -> RawRequest {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn with(mut self, name: &str, value: &str) -> RawRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The request's bytes; a Content-Length matching the body is added unless the
    /// test set one itself.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = format!("{} {} SIP/2.0\r\n", self.method, self.uri);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.header("Content-Length").is_none() {
            text.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        text.push_str("\r\n");
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A UDP socket on a chosen loopback address, speaking raw SIP to the gateway.
pub struct UdpProbe {
    pub socket: UdpSocket,
    pub local: SocketAddr,
    pub target: SocketAddr,
}

impl UdpProbe {
    /// Binds `ip` (127.0.0.1 is the trunk; any other 127/8 address is a stranger).
    pub async fn bind(ip: [u8; 4], target: SocketAddr) -> anyhow::Result<UdpProbe> {
        let socket = UdpSocket::bind(SocketAddr::new(IpAddr::from(ip), 0)).await?;
        let local = socket.local_addr()?;
        Ok(UdpProbe {
            socket,
            local,
            target,
        })
    }

    pub fn request(&self, method: &str, uri: &str) -> RawRequest {
        RawRequest::new(method, uri, self.local, "UDP")
    }

    pub async fn send(&self, bytes: &[u8]) -> anyhow::Result<()> {
        self.socket.send_to(bytes, self.target).await?;
        Ok(())
    }

    /// The next datagram, parsed; an error if none arrives within `limit`.
    pub async fn recv(&self, limit: Duration) -> anyhow::Result<Message> {
        let mut buffer = vec![0u8; 65_535];
        let (len, _) = tokio::time::timeout(limit, self.socket.recv_from(&mut buffer))
            .await
            .map_err(|_| anyhow::anyhow!("no datagram within {limit:?}"))??;
        parse_message(&buffer[..len]).context("the gateway sent an unparseable datagram")
    }

    /// The first final response for `call_id`, skipping provisional ones and answers
    /// to other requests; `None` if none arrives within `limit`.
    pub async fn final_response(
        &self,
        call_id: &str,
        limit: Duration,
    ) -> anyhow::Result<Option<Response>> {
        self.final_response_where(limit, |response| {
            response.headers.call_id().ok() == Some(call_id)
        })
        .await
    }

    /// The first final response that `wanted` accepts; `None` after `limit`.
    pub async fn final_response_where(
        &self,
        limit: Duration,
        wanted: impl Fn(&Response) -> bool,
    ) -> anyhow::Result<Option<Response>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Ok(message) = self.recv(left).await else {
                return Ok(None);
            };
            if let Message::Response(response) = message
                && response.status.as_u16() >= 200
                && wanted(&response)
            {
                return Ok(Some(response));
            }
        }
    }

    /// Sends `request` and waits for its final response.
    pub async fn ask(&self, request: &RawRequest, limit: Duration) -> anyhow::Result<Response> {
        self.send(&request.to_bytes()).await?;
        self.final_response(&request.call_id(), limit)
            .await?
            .with_context(|| format!("no answer to a {} within {limit:?}", request.method))
    }
}

/// A TCP connection to the gateway that reads whole messages with the SIP framer.
pub struct TcpProbe {
    pub stream: TcpStream,
    pub local: SocketAddr,
    framer: StreamFramer,
}

/// What a TCP read found.
#[derive(Debug)]
pub enum TcpEvent {
    Message(Box<Message>),
    /// The gateway closed the connection.
    Closed,
}

impl TcpProbe {
    pub async fn connect(target: SocketAddr) -> anyhow::Result<TcpProbe> {
        let stream = TcpStream::connect(target).await?;
        let local = stream.local_addr()?;
        Ok(TcpProbe {
            stream,
            local,
            framer: StreamFramer::default(),
        })
    }

    pub fn request(&self, method: &str, uri: &str) -> RawRequest {
        RawRequest::new(method, uri, self.local, "TCP")
    }

    pub async fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// The next message on the connection, or its closing, within `limit`.
    pub async fn next_event(&mut self, limit: Duration) -> anyhow::Result<TcpEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            match self.framer.next_item()? {
                Some(StreamItem::Message(message)) => {
                    return Ok(TcpEvent::Message(Box::new(message)));
                }
                Some(_) => continue,
                None => {}
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut buffer))
                .await
                .map_err(|_| anyhow::anyhow!("nothing on the TCP connection within {limit:?}"))?;
            match read {
                Ok(0) | Err(_) => return Ok(TcpEvent::Closed),
                Ok(len) => self.framer.push(&buffer[..len]),
            }
        }
    }
}

/// A response header's values joined by commas (the parser splits lists such as
/// Allow into one value each), if present.
pub fn header(response: &Response, name: &str) -> Option<String> {
    let values: Vec<&str> = response
        .headers
        .get_all(&HeaderName::from(name))
        .map(str::trim)
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// Whether the response's To header carries a tag (RFC 3261 §8.2.6.2: every final
/// response must).
pub fn has_to_tag(response: &Response) -> bool {
    response
        .headers
        .to()
        .is_ok_and(|to| to.tag().is_some_and(|tag| !tag.is_empty()))
}

/// A REGISTER client with digest auth, like a softphone's: asks, answers the 401
/// challenge with `password`, and returns the final answer to the authenticated
/// request, or `None` if the gateway stayed silent for `limit` at either step.
pub async fn register(
    probe: &UdpProbe,
    user: &str,
    password: &str,
    limit: Duration,
) -> anyhow::Result<Option<Response>> {
    let host = probe.target.ip();
    let uri = format!("sip:{host}");
    let call_id = format!("{}@probe", unique_token());
    let from_tag = unique_token();
    let request = |cseq: u32, authorization: Option<String>| {
        let mut request = probe
            .request("REGISTER", &uri)
            .without("From")
            .without("To")
            .without("Call-ID")
            .without("CSeq")
            .with("From", &format!("<sip:{user}@{host}>;tag={from_tag}"))
            .with("To", &format!("<sip:{user}@{host}>"))
            .with("Call-ID", &call_id)
            .with("CSeq", &format!("{cseq} REGISTER"))
            .with("Contact", &format!("<sip:{user}@{}>", probe.local))
            .with("Expires", "600");
        if let Some(authorization) = authorization {
            request = request.with("Authorization", &authorization);
        }
        request
    };
    probe.send(&request(1, None).to_bytes()).await?;
    let Some(challenge_response) = probe.final_response(&call_id, limit).await? else {
        return Ok(None);
    };
    if challenge_response.status.as_u16() != 401 {
        return Ok(Some(challenge_response));
    }
    let challenges = challenge_response.headers.digest_challenges(false);
    let Some(challenge) = pick_challenge(&challenges) else {
        bail!("a 401 without a usable digest challenge: {challenge_response:?}");
    };
    let credentials = answer_challenge(
        challenge,
        ClientSecret {
            username: user,
            password,
        },
        &Method::Register,
        &uri,
        &unique_token(),
        1,
    )?;
    probe
        .send(&request(2, Some(credentials.to_string())).to_bytes())
        .await?;
    probe
        .final_response_where(limit, |response| {
            response.headers.call_id().ok() == Some(call_id.as_str())
                && response.headers.cseq().is_ok_and(|cseq| cseq.seq == 2)
        })
        .await
}

/// Waits until something has bound UDP `port`: a peer process that was told to listen
/// there has started. Read from the kernel's socket table, so the check never holds
/// the port itself (a test bind could make the peer's own bind fail).
pub async fn wait_udp_bound(port: u16) -> anyhow::Result<()> {
    let needle = format!(":{port:04X}");
    let bound = || {
        std::fs::read_to_string("/proc/net/udp")
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|line| {
                line.split_whitespace()
                    .nth(1)
                    .is_some_and(|local| local.ends_with(&needle))
            })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !bound() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on UDP port {port} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
