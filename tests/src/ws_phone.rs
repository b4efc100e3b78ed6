//! A browser-like SIP user agent on one WebSocket (RFC 7118), as JsSIP speaks it:
//! registration with digest auth and hand-made answers to the gateway's requests.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use sip_proto::digest::{ClientSecret, answer_challenge, pick_challenge};
use sip_proto::{Message, Method, Request, Response, parse_message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::gateway::SIP_PASSWORD;

/// A browser-like SIP user agent on one WebSocket.
pub struct WsPhone<S> {
    socket: WebSocketStream<S>,
    sequence: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsPhone<S> {
    pub async fn connect(stream: S, url: &str) -> anyhow::Result<WsPhone<S>> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "sip".parse()?);
        let (socket, response) = tokio_tungstenite::client_async(request, stream).await?;
        assert_eq!(
            response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .map(|v| v.to_str().unwrap_or("")),
            Some("sip"),
            "the gateway agrees on the sip subprotocol"
        );
        Ok(WsPhone {
            socket,
            sequence: 0,
        })
    }

    pub async fn send(&mut self, text: String) -> anyhow::Result<()> {
        self.socket.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    /// The next SIP message, within `limit`.
    pub async fn receive(&mut self, limit: Duration) -> anyhow::Result<Message> {
        loop {
            let next = tokio::time::timeout(limit, self.socket.next())
                .await
                .map_err(|_| anyhow::anyhow!("no SIP message within {limit:?}"))?
                .ok_or_else(|| anyhow::anyhow!("the WebSocket closed"))??;
            if let WsMessage::Text(text) = next {
                return Ok(parse_message(text.as_bytes())?);
            }
        }
    }

    pub async fn receive_request(
        &mut self,
        method: Method,
        limit: Duration,
    ) -> anyhow::Result<Request> {
        loop {
            if let Message::Request(request) = self.receive(limit).await?
                && request.method == method
            {
                return Ok(request);
            }
        }
    }

    pub async fn receive_response(&mut self, limit: Duration) -> anyhow::Result<Response> {
        loop {
            if let Message::Response(response) = self.receive(limit).await? {
                return Ok(response);
            }
        }
    }

    pub fn register_text(&mut self, user: &str, authorization: Option<String>) -> String {
        self.sequence += 1;
        let n = self.sequence;
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws{n};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:{user}@127.0.0.1>;tag=wsphone\r\n\
             To: <sip:{user}@127.0.0.1>\r\n\
             Call-ID: ws-register-{user}\r\n\
             CSeq: {n} REGISTER\r\n\
             Contact: <sip:{user}@df7jal23ls0d.invalid;transport=ws>;expires=600\r\n\
             {authorization}Content-Length: 0\r\n\r\n"
        )
    }

    /// Registers with digest auth: 401, then 200.
    pub async fn register(&mut self, user: &str) -> anyhow::Result<()> {
        let first = self.register_text(user, None);
        self.send(first).await?;
        let challenge = self.receive_response(Duration::from_secs(5)).await?;
        assert_eq!(challenge.status.as_u16(), 401);
        let challenges = challenge.headers.digest_challenges(false);
        let chosen =
            pick_challenge(&challenges).ok_or_else(|| anyhow::anyhow!("no usable challenge"))?;
        let credentials = answer_challenge(
            chosen,
            ClientSecret {
                username: user,
                password: SIP_PASSWORD,
            },
            &Method::Register,
            "sip:127.0.0.1",
            "0a4f113b",
            1,
        )?;
        let second = self.register_text(user, Some(credentials.to_string()));
        self.send(second).await?;
        let accepted = self.receive_response(Duration::from_secs(5)).await?;
        assert_eq!(accepted.status.as_u16(), 200, "{accepted:?}");
        Ok(())
    }
}

pub fn response_text(
    request: &Request,
    code: u16,
    reason: &str,
    to_tag: &str,
    body: &str,
) -> String {
    let mut response = Response::for_request(
        request,
        sip_proto::StatusCode::new(code).expect("a status code"),
        Some(to_tag),
    );
    response.reason = reason.to_owned();
    if !body.is_empty() {
        response.headers.push(
            sip_proto::HeaderName::Contact,
            "<sip:agent01@df7jal23ls0d.invalid;transport=ws>",
        );
        response
            .headers
            .push(sip_proto::HeaderName::ContentType, "application/sdp");
        response.body = body.as_bytes().to_vec();
    }
    String::from_utf8(response.to_bytes()).expect("SIP is text")
}
