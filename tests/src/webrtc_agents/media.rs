//! One call's media as a browser runs it: ICE (controlling), the DTLS client, SRTP,
//! all on one UDP socket, and every RTP packet from the gateway sent straight back.
//!
//! The task sleeps on the socket and on the transport's next timer only, so an idle
//! call costs nothing and a talking one costs one wake-up per packet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hotline_webrtc::{Received, RemoteParameters, TransportState, WebRtcTransport};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use super::Totals;

/// What one call counted, reported when it ends.
#[derive(Debug, Default, Clone)]
pub struct CallCounters {
    /// SRTP packets decrypted (RTP).
    pub received: u64,
    /// SRTCP packets decrypted.
    pub rtcp_received: u64,
    /// Datagrams the transport dropped: failed authentication, malformed, unexpected.
    pub dropped: u64,
    /// RTP packets echoed back, encrypted.
    pub sent: u64,
    /// Echoes that could not be encrypted or sent.
    pub send_failed: u64,
    /// From the answer to SRTP keyed, in milliseconds (`None`: never connected).
    pub connect_ms: Option<u64>,
    /// From SRTP keyed to the end, in milliseconds.
    pub media_ms: u64,
    /// Why the transport failed, if it did.
    pub failure: Option<String>,
}

impl CallCounters {
    /// Packets expected at 50 per second while connected (20 ms ptime).
    pub fn expected(&self) -> u64 {
        self.media_ms / 20
    }
}

/// A running call: stop it to get its counters.
pub struct CallMedia {
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<CallCounters>,
}

impl CallMedia {
    /// Starts the transport on `socket` towards the gateway's `remote` parameters.
    pub fn start(
        socket: UdpSocket,
        mut transport: WebRtcTransport,
        remote: RemoteParameters,
        totals: Arc<Totals>,
    ) -> anyhow::Result<CallMedia> {
        transport.set_remote(remote, Instant::now())?;
        let (stop, stopped) = oneshot::channel();
        let done = tokio::spawn(run(socket, transport, stopped, totals));
        Ok(CallMedia {
            stop: Some(stop),
            done,
        })
    }

    /// Ends the call (DTLS close_notify is sent) and returns what it counted.
    pub async fn finish(mut self) -> CallCounters {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.done.await.unwrap_or_default()
    }
}

async fn run(
    socket: UdpSocket,
    mut transport: WebRtcTransport,
    mut stopped: oneshot::Receiver<()>,
    totals: Arc<Totals>,
) -> CallCounters {
    let started = Instant::now();
    let mut connected_at: Option<Instant> = None;
    let mut counters = CallCounters::default();
    let mut datagram = vec![0u8; 2048];
    let mut plain = Vec::with_capacity(1500);
    let mut protected = Vec::with_capacity(1500);
    let far_future = tokio::time::Instant::now() + Duration::from_secs(86_400);
    let timer = tokio::time::sleep_until(far_future);
    tokio::pin!(timer);
    let mut armed_for: Option<Instant> = None;
    let mut dropped_before = 0;
    loop {
        flush(&socket, &mut transport).await;
        let next = transport.poll_timeout();
        if next != armed_for {
            armed_for = next;
            let at = next.map_or(far_future, tokio::time::Instant::from_std);
            timer.as_mut().reset(at);
        }
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            received = socket.recv_from(&mut datagram) => {
                let Ok((length, from)) = received else { continue };
                match transport.handle_datagram(Instant::now(), from, &datagram[..length]) {
                    Received::Rtp(packet) => {
                        plain.clear();
                        plain.extend_from_slice(packet);
                        counters.received += 1;
                        totals.received.fetch_add(1, Ordering::Relaxed);
                        if echo(&socket, &mut transport, &plain, &mut protected).await {
                            counters.sent += 1;
                            totals.sent.fetch_add(1, Ordering::Relaxed);
                        } else {
                            counters.send_failed += 1;
                            totals.send_failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Received::Rtcp(_) => counters.rtcp_received += 1,
                    Received::Nothing => {}
                }
                let dropped = transport.dropped_datagrams();
                if dropped != dropped_before {
                    totals.dropped.fetch_add(dropped - dropped_before, Ordering::Relaxed);
                    dropped_before = dropped;
                }
            }
            _ = &mut timer, if armed_for.is_some() => {
                transport.handle_timeout(Instant::now());
                armed_for = None;
            }
        }
        match transport.state() {
            TransportState::Connected if connected_at.is_none() => {
                let now = Instant::now();
                connected_at = Some(now);
                counters.connect_ms = Some(now.duration_since(started).as_millis() as u64);
                totals.connected.fetch_add(1, Ordering::Relaxed);
            }
            TransportState::Failed(reason) if counters.failure.is_none() => {
                counters.failure = Some(reason.clone());
                totals.failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
    if let Some(at) = connected_at {
        counters.media_ms = at.elapsed().as_millis() as u64;
        totals.connected.fetch_sub(1, Ordering::Relaxed);
    }
    transport.close();
    flush(&socket, &mut transport).await;
    counters.dropped = transport.dropped_datagrams();
    counters
}

/// Encrypts one decrypted packet again and sends it back; false if it could not be.
async fn echo(
    socket: &UdpSocket,
    transport: &mut WebRtcTransport,
    plain: &[u8],
    protected: &mut Vec<u8>,
) -> bool {
    let Some(destination) = transport.protect_rtp(plain, protected) else {
        return false;
    };
    send(socket, destination, protected).await
}

async fn flush(socket: &UdpSocket, transport: &mut WebRtcTransport) {
    while let Some((destination, datagram)) = transport.poll_transmit() {
        send(socket, destination, &datagram).await;
    }
}

async fn send(socket: &UdpSocket, destination: SocketAddr, datagram: &[u8]) -> bool {
    // A UDP send on loopback does not wait; try first and fall back to the await only
    // if the socket's buffer is full.
    match socket.try_send_to(datagram, destination) {
        Ok(_) => true,
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
            socket.send_to(datagram, destination).await.is_ok()
        }
        Err(_) => false,
    }
}
