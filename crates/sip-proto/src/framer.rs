//! Cutting messages out of a byte stream (TCP, TLS) by Content-Length (RFC 3261 §18.3).
//!
//! WebSocket needs no framer: each WebSocket message carries exactly one SIP message
//! (RFC 7118 §5.2), so it goes to [`crate::parse_message`] like a datagram.

use crate::error::ParseError;
use crate::message::Message;
use crate::parse::{find_head_end, parse_head};

/// What the framer found at the front of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    Message(Message),
    /// A double CRLF: an RFC 5626 §4.4.1 keep-alive ping. Answer with a single CRLF.
    KeepAlivePing,
    /// A single CRLF: the pong to a ping we sent.
    KeepAlivePong,
}

/// Accumulates bytes from a stream and yields complete messages.
///
/// After an error the stream position is lost (there is no way to find the next message
/// boundary), so the connection should be closed.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    max_head_len: usize,
    max_body_len: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        StreamFramer::new(64 * 1024, 1024 * 1024)
    }
}

impl StreamFramer {
    /// Limits protect memory from a peer that never ends its headers or declares a
    /// huge body.
    pub fn new(max_head_len: usize, max_body_len: usize) -> Self {
        StreamFramer {
            buffer: Vec::new(),
            max_head_len,
            max_body_len,
        }
    }

    /// Appends bytes as they arrive from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Returns the next complete item, `Ok(None)` if more bytes are needed.
    pub fn next_item(&mut self) -> Result<Option<StreamItem>, ParseError> {
        if let Some(item) = self.take_keep_alive() {
            return Ok(Some(item));
        }
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let Some(head_end) = find_head_end(&self.buffer) else {
            if self.buffer.len() > self.max_head_len {
                return Err(ParseError::HeadersTooLarge {
                    limit: self.max_head_len,
                });
            }
            return Ok(None);
        };
        if head_end > self.max_head_len {
            return Err(ParseError::HeadersTooLarge {
                limit: self.max_head_len,
            });
        }
        let head = parse_head(&self.buffer[..head_end])?;
        let body_len = head
            .content_length
            .ok_or(ParseError::MissingContentLength)?;
        if body_len > self.max_body_len {
            return Err(ParseError::BodyTooLarge {
                declared: body_len,
                limit: self.max_body_len,
            });
        }
        let total = head_end + body_len;
        if self.buffer.len() < total {
            return Ok(None);
        }
        let body = self.buffer[head_end..total].to_vec();
        self.buffer.drain(..total);
        Ok(Some(StreamItem::Message(head.into_message(body))))
    }

    /// CRLFs between messages are keep-alives. A lone CRLF at the very end of the
    /// buffer is taken as a pong rather than waiting for a possible second CRLF: pings
    /// are four bytes and in practice arrive in one segment.
    fn take_keep_alive(&mut self) -> Option<StreamItem> {
        // A stray LF carries no meaning; drop any before looking for CRLF.
        let stray_lf = self
            .buffer
            .iter()
            .take_while(|&&byte| byte == b'\n')
            .count();
        self.buffer.drain(..stray_lf);
        if self.buffer.starts_with(b"\r\n\r\n") {
            self.buffer.drain(..4);
            return Some(StreamItem::KeepAlivePing);
        }
        if self.buffer.starts_with(b"\r\n") {
            self.buffer.drain(..2);
            return Some(StreamItem::KeepAlivePong);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] =
        b"OPTIONS sip:a@example.com SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn yields_messages_byte_by_byte() {
        let mut framer = StreamFramer::default();
        let mut stream = Vec::new();
        stream.extend_from_slice(OPTIONS);
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(OPTIONS);
        let mut items = Vec::new();
        for byte in &stream {
            framer.push(std::slice::from_ref(byte));
            while let Some(item) = framer.next_item().unwrap() {
                items.push(item);
            }
        }
        // Byte by byte, the ping arrives as two CRLFs: each reads as a pong.
        assert_eq!(items.len(), 4);
        assert!(matches!(&items[0], StreamItem::Message(m) if m.body() == b"hello"));
        assert_eq!(items[1], StreamItem::KeepAlivePong);
        assert_eq!(items[2], StreamItem::KeepAlivePong);
        assert!(matches!(&items[3], StreamItem::Message(m) if m.body() == b"hello"));
        assert_eq!(framer.buffered_len(), 0);
    }

    #[test]
    fn keep_alive_ping_in_one_segment() {
        let mut framer = StreamFramer::default();
        framer.push(b"\r\n\r\n");
        framer.push(OPTIONS);
        assert_eq!(framer.next_item().unwrap(), Some(StreamItem::KeepAlivePing));
        assert!(matches!(
            framer.next_item().unwrap(),
            Some(StreamItem::Message(_))
        ));
        assert_eq!(framer.next_item().unwrap(), None);
    }

    #[test]
    fn two_messages_in_one_segment() {
        let mut framer = StreamFramer::default();
        framer.push(&[OPTIONS, OPTIONS].concat());
        assert!(matches!(
            framer.next_item().unwrap(),
            Some(StreamItem::Message(_))
        ));
        assert!(matches!(
            framer.next_item().unwrap(),
            Some(StreamItem::Message(_))
        ));
        assert_eq!(framer.next_item().unwrap(), None);
    }

    #[test]
    fn many_stray_line_feeds_are_dropped_without_recursion() {
        let mut framer = StreamFramer::default();
        framer.push(&vec![b'\n'; 1_000_000]);
        framer.push(OPTIONS);
        assert!(matches!(
            framer.next_item().unwrap(),
            Some(StreamItem::Message(_))
        ));
    }

    #[test]
    fn stream_requires_content_length() {
        let mut framer = StreamFramer::default();
        framer.push(b"SIP/2.0 200 OK\r\nCall-ID: 1\r\n\r\n");
        assert_eq!(framer.next_item(), Err(ParseError::MissingContentLength));
    }

    #[test]
    fn limits_are_enforced() {
        let mut framer = StreamFramer::new(32, 4);
        framer.push(&[b'A'; 40]);
        assert_eq!(
            framer.next_item(),
            Err(ParseError::HeadersTooLarge { limit: 32 })
        );
        let mut framer = StreamFramer::new(1024, 4);
        framer.push(OPTIONS);
        assert_eq!(
            framer.next_item(),
            Err(ParseError::BodyTooLarge {
                declared: 5,
                limit: 4
            })
        );
    }
}
