//! Timer values of RFC 3261 §17 and Table 4, and a small deadline helper.

use std::time::{Duration, Instant};

/// Base timer values. Every named timer derives from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Round-trip time estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// Timers B, F, H, J, L and M: 64*T1, the transaction timeout.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: at least 32 s on unreliable transports, zero on reliable ones.
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32).max(self.transaction_timeout() / 2)
        }
    }

    /// Timers I and K: T4 on unreliable transports, zero on reliable ones.
    pub fn wait_for_retransmissions(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer J: 64*T1 on unreliable transports, zero on reliable ones.
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.transaction_timeout()
        }
    }
}

/// How long a server INVITE transaction waits for the TU's first response before it
/// sends `100 Trying` itself (RFC 3261 §17.2.1).
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

/// An optional point in time at which something must happen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub(crate) fn start(&mut self, now: Instant, after: Duration) {
        self.0 = Some(now + after);
    }

    pub(crate) fn stop(&mut self) {
        self.0 = None;
    }

    pub(crate) fn at(self) -> Option<Instant> {
        self.0
    }

    /// True once if the deadline has passed; the deadline is cleared.
    pub(crate) fn fire(&mut self, now: Instant) -> bool {
        match self.0 {
            Some(at) if at <= now => {
                self.0 = None;
                true
            }
            _ => false,
        }
    }
}

/// The earliest of several deadlines.
pub(crate) fn earliest(deadlines: &[Deadline]) -> Option<Instant> {
    deadlines.iter().filter_map(|deadline| deadline.at()).min()
}
