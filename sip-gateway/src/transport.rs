//! SIP transports: one UDP socket and one TCP listener on the same address.
//!
//! The transport only moves bytes. Every received message, parsed and with its top
//! Via stamped with `received`/`rport` (RFC 3261 §18.2.1, RFC 3581), goes to the
//! signalling core as an [`Inbound`]; the core answers with `(Peer, bytes)` through a
//! [`TransportHandle`]. A [`Peer`] says how to reach the other side again: a UDP
//! address, or the TCP connection the request came on (responses over TCP must use the
//! same connection, §18.2.2). Unparseable datagrams are dropped (there is nobody to
//! answer reliably), except a request cut shorter than its Content-Length, whose head
//! still says whom to answer (400); an unparseable request on a stream gets a 400 and
//! the connection is closed, since the framing position is lost.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use sip_proto::{
    HeaderName, Message, ParseError, Response, StatusCode, StreamFramer, StreamItem, parse_message,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// Datagrams larger than this are not SIP we want (RFC 3261 §18.1.1 keeps UDP under
/// the path MTU; 64 KiB is the hard UDP ceiling).
const MAX_DATAGRAM: usize = 65_535;

/// How a message reaches the other side again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    Udp(SocketAddr),
    Tcp {
        connection: u64,
        remote: SocketAddr,
    },
    /// SIP over WebSocket (RFC 7118), `secure` for wss.
    Ws {
        connection: u64,
        remote: SocketAddr,
        secure: bool,
    },
}

impl Peer {
    pub fn address(&self) -> SocketAddr {
        match *self {
            Peer::Udp(address) => address,
            Peer::Tcp { remote, .. } | Peer::Ws { remote, .. } => remote,
        }
    }

    /// Reliable transports get no retransmissions from the transaction layer.
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Peer::Udp(_))
    }

    /// The connection a connection-oriented peer is reached on.
    pub fn connection(&self) -> Option<u64> {
        match *self {
            Peer::Udp(_) => None,
            Peer::Tcp { connection, .. } | Peer::Ws { connection, .. } => Some(connection),
        }
    }

    /// The Via transport token for requests we send to this peer.
    pub fn via_transport(&self) -> sip_proto::Transport {
        match self {
            Peer::Udp(_) => sip_proto::Transport::Udp,
            Peer::Tcp { .. } => sip_proto::Transport::Tcp,
            Peer::Ws { secure: false, .. } => sip_proto::Transport::Ws,
            Peer::Ws { secure: true, .. } => sip_proto::Transport::Wss,
        }
    }

    pub fn transport_name(&self) -> &'static str {
        match self {
            Peer::Udp(_) => "UDP",
            Peer::Tcp { .. } => "TCP",
            Peer::Ws { secure: false, .. } => "WS",
            Peer::Ws { secure: true, .. } => "WSS",
        }
    }
}

/// A message from the network, parsed, with its source.
#[derive(Debug)]
pub struct Inbound {
    pub message: Message,
    pub peer: Peer,
}

/// Sends bytes to peers. Cheap to clone.
#[derive(Clone)]
pub struct TransportHandle {
    udp: Arc<UdpSocket>,
    connections: Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Vec<u8>>>>>,
    local: SocketAddr,
}

impl TransportHandle {
    /// The address both transports listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends without waiting: UDP `try_send_to` (a full socket buffer drops the packet,
    /// as the network could; the transaction layer retransmits), TCP through the
    /// connection's writer task. A closed connection is reported as `false`.
    pub fn send(&self, peer: Peer, bytes: Vec<u8>) -> bool {
        match peer {
            Peer::Udp(address) => match self.udp.try_send_to(&bytes, address) {
                Ok(_) => true,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => true,
                Err(error) => {
                    tracing::debug!(%address, %error, "udp send failed");
                    false
                }
            },
            Peer::Tcp { connection, .. } | Peer::Ws { connection, .. } => {
                let writer = self.connections.lock().get(&connection).cloned();
                writer.is_some_and(|writer| writer.send(bytes).is_ok())
            }
        }
    }

    /// A connection's writer, so `send` reaches it (TCP, WebSocket).
    pub(crate) fn register_connection(
        &self,
        connection: u64,
        writer: mpsc::UnboundedSender<Vec<u8>>,
    ) {
        self.connections.lock().insert(connection, writer);
    }

    pub(crate) fn forget_connection(&self, connection: u64) {
        self.connections.lock().remove(&connection);
    }
}

/// Binds UDP and TCP on `listen` (port 0: one free port for both, found by binding UDP
/// first) and starts the receive tasks. Parsed messages go to `inbound`.
pub async fn start(
    listen: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
) -> std::io::Result<TransportHandle> {
    let (udp, tcp) = bind_pair(listen).await?;
    let local = udp.local_addr()?;
    let udp = Arc::new(udp);
    let handle = TransportHandle {
        udp: udp.clone(),
        connections: Arc::new(Mutex::new(HashMap::new())),
        local,
    };
    tokio::spawn(receive_udp(udp, inbound.clone()));
    tokio::spawn(accept_tcp(tcp, handle.clone(), inbound));
    Ok(handle)
}

/// UDP and TCP on one port. With port 0 the UDP port the system picks may be taken
/// for TCP (another program's connection, say): pick again a few times.
async fn bind_pair(listen: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let attempts = if listen.port() == 0 { 20 } else { 1 };
    let mut last_error = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(listen).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no port for UDP and TCP")))
}

async fn receive_udp(socket: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            // ICMP port unreachable from an earlier send shows up here on Linux; the
            // socket itself is fine.
            Err(error) => {
                tracing::trace!(%error, "udp receive error");
                continue;
            }
        };
        let datagram = &buffer[..len];
        if datagram.iter().all(|&b| b == b'\r' || b == b'\n' || b == 0) {
            continue; // keep-alive (RFC 5626 §4.4.2 uses STUN; many phones send CRLF)
        }
        let mut message = match parse_message(datagram) {
            Ok(message) => message,
            Err(ParseError::BodyTooShort {
                declared,
                available,
            }) => {
                if let Some(reply) = reply_to_truncated(datagram, declared, available) {
                    let _ = socket.try_send_to(&reply, source);
                }
                continue;
            }
            Err(_) => {
                tracing::debug!(%source, len, "dropped an unparseable datagram");
                continue;
            }
        };
        stamp_via(&mut message, source);
        let peer = Peer::Udp(source);
        // A full queue means the core is overloaded: dropping here is what UDP would
        // do anyway, and the sender retransmits.
        if inbound.try_send(Inbound { message, peer }).is_err() {
            tracing::debug!(%source, "core busy: dropped a datagram");
        }
    }
}

pub(crate) static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

async fn accept_tcp(
    listener: TcpListener,
    handle: TransportHandle,
    inbound: mpsc::Sender<Inbound>,
) {
    loop {
        let Ok((stream, remote)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve_tcp(
            stream,
            remote,
            connection,
            handle.clone(),
            inbound.clone(),
        ));
    }
}

/// Opens a TCP connection to `remote` for requests the gateway starts (an INVITE to
/// a softphone registered over TCP whose connection has gone). Returns the peer.
pub async fn connect_tcp(
    handle: &TransportHandle,
    remote: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
) -> std::io::Result<Peer> {
    let stream = TcpStream::connect(remote).await?;
    let _ = stream.set_nodelay(true);
    let connection = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    handle.connections.lock().insert(connection, tx);
    tokio::spawn(run_tcp(
        stream,
        remote,
        connection,
        handle.clone(),
        inbound,
        rx,
    ));
    Ok(Peer::Tcp { connection, remote })
}

async fn serve_tcp(
    stream: TcpStream,
    remote: SocketAddr,
    connection: u64,
    handle: TransportHandle,
    inbound: mpsc::Sender<Inbound>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    handle.connections.lock().insert(connection, tx);
    run_tcp(stream, remote, connection, handle, inbound, rx).await;
}

async fn run_tcp(
    stream: TcpStream,
    remote: SocketAddr,
    connection: u64,
    handle: TransportHandle,
    inbound: mpsc::Sender<Inbound>,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let peer = Peer::Tcp { connection, remote };
    let mut framer = StreamFramer::default();
    let mut buffer = vec![0u8; 16 * 1024];
    'read: loop {
        let len = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(len) => len,
        };
        framer.push(&buffer[..len]);
        loop {
            match framer.next_item() {
                Ok(None) => break,
                Ok(Some(StreamItem::Message(mut message))) => {
                    stamp_via(&mut message, remote);
                    if inbound.send(Inbound { message, peer }).await.is_err() {
                        break 'read;
                    }
                }
                Ok(Some(StreamItem::KeepAlivePing)) => {
                    handle.send(peer, b"\r\n".to_vec());
                }
                Ok(Some(StreamItem::KeepAlivePong)) => {}
                Err(error) => {
                    tracing::debug!(%remote, %error, "closing a TCP connection after a framing error");
                    let reply = format!(
                        "SIP/2.0 400 Bad Request\r\nWarning: 399 gateway \"{}\"\r\nContent-Length: 0\r\n\r\n",
                        error.to_string().replace('"', "'")
                    );
                    handle.send(peer, reply.into_bytes());
                    break 'read;
                }
            }
        }
    }
    handle.connections.lock().remove(&connection);
    // Let the writer flush what is queued (the 400 above), then stop it.
    drop(handle);
    let _ = writer_task.await;
}

/// The 400 for a request whose datagram is shorter than its Content-Length (RFC 3261
/// §18.3, RFC 4475 §3.1.2.7): its head is intact, so the sender can be told. The head
/// is read again without the Content-Length to address the answer; a response, or a
/// head that does not parse either, gets nothing.
fn reply_to_truncated(datagram: &[u8], declared: usize, available: usize) -> Option<Vec<u8>> {
    let head_end = datagram.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&datagram[..head_end]).ok()?;
    let without_length: String = head
        .split_inclusive("\r\n")
        .filter(|line| {
            let name = line.split(':').next().unwrap_or_default().trim();
            !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("l")
        })
        .collect();
    let Ok(Message::Request(request)) = parse_message(without_length.as_bytes()) else {
        return None;
    };
    let mut tag = [0u8; 6];
    rand::fill(&mut tag[..]);
    let mut response =
        Response::for_request(&request, StatusCode::BAD_REQUEST, Some(&hex::encode(tag)));
    response.headers.push(
        HeaderName::Warning,
        format!(
            "399 gateway \"Content-Length {declared} exceeds the {available} body bytes received\""
        ),
    );
    Some(response.to_bytes())
}

/// Stamps `received`/`rport` on the top Via of a request, so responses go back to
/// where the request really came from.
pub(crate) fn stamp_via(message: &mut Message, source: SocketAddr) {
    let Message::Request(request) = message else {
        return;
    };
    let Ok(mut via) = request.headers.top_via() else {
        return;
    };
    via.stamp_source(source.ip(), source.port());
    let Some(first) = request.headers.remove_first(&HeaderName::Via) else {
        return;
    };
    // A first Via line can carry several comma-separated values: keep the others.
    let rest = split_first_value(&first).map(str::to_owned);
    if let Some(rest) = rest {
        request.headers.push_front(HeaderName::Via, rest);
    }
    request.headers.push_front(HeaderName::Via, via.to_string());
}

/// The values after the first in a comma-separated Via line, if any. Commas inside
/// quoted strings do not occur in Via (no quoted params), so a plain split is exact.
fn split_first_value(line: &str) -> Option<&str> {
    let comma = line.find(',')?;
    let rest = line[comma + 1..].trim();
    (!rest.is_empty()).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_shorter_than_its_content_length_is_answered_400() {
        let request = b"INVITE sip:12351@gw SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKa\r\n\
            From: <sip:a@b>;tag=1\r\nTo: <sip:12351@gw>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\
            Max-Forwards: 70\r\nContent-Length: 9999\r\n\r\nv=0\r\n";
        let reply = reply_to_truncated(request, 9999, 5).expect("a 400");
        let Ok(Message::Response(response)) = parse_message(&reply) else {
            panic!("not a response: {}", String::from_utf8_lossy(&reply));
        };
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.headers.call_id().unwrap(), "x");
        assert!(response.headers.to().unwrap().tag().is_some());
        let warning = response.headers.get(&HeaderName::Warning).unwrap();
        assert!(warning.contains("Content-Length 9999"), "{warning}");

        let truncated_response = b"SIP/2.0 200 OK\r\nContent-Length: 50\r\n\r\n";
        assert_eq!(reply_to_truncated(truncated_response, 50, 0), None);
    }

    #[test]
    fn stamping_keeps_the_other_vias_of_a_combined_line() {
        let bytes = b"OPTIONS sip:12351@gw SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKa;rport, SIP/2.0/UDP 10.2.2.2;branch=z9hG4bKb\r\n\
            From: <sip:a@b>;tag=1\r\nTo: <sip:12351@gw>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\
            Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let mut message = parse_message(bytes).unwrap();
        stamp_via(&mut message, "192.0.2.9:40000".parse().unwrap());
        let request = message.as_request().unwrap();
        let vias = request.headers.vias().unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].received(), Some("192.0.2.9".parse().unwrap()));
        assert_eq!(
            vias[0].rport(),
            Some(sip_proto::Rport::Filled(40000)),
            "rport filled with the source port"
        );
        assert_eq!(vias[1].branch(), Some("z9hG4bKb"));
    }
}
