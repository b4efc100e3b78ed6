//! Admission limits for new calls: token buckets per trunk and for the whole gateway.
//!
//! A flood of INVITEs beyond the configured rate is answered 503 with Retry-After
//! before any call state exists, so memory stays bounded whatever the flood's size.

use std::time::Instant;

/// A token bucket refilled at `rate` per second holding at most `rate` tokens (a burst
/// of one second's worth).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    pub fn new(rate_per_second: u32, now: Instant) -> Self {
        let rate = f64::from(rate_per_second.max(1));
        TokenBucket {
            rate,
            tokens: rate,
            updated: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now.max(self.updated);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Gives a token back: the call was refused for another reason after taking it.
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, t0);
        let taken = (0..25).filter(|_| bucket.try_take(t0)).count();
        assert_eq!(taken, 10, "the burst is one second's worth");
        assert!(!bucket.try_take(t0 + Duration::from_millis(50)));
        assert!(
            bucket.try_take(t0 + Duration::from_millis(100)),
            "one token per 100 ms"
        );
        assert!(!bucket.try_take(t0 + Duration::from_millis(150)));
        let later = t0 + Duration::from_secs(60);
        let taken = (0..25).filter(|_| bucket.try_take(later)).count();
        assert_eq!(taken, 10, "an idle minute does not build a bigger burst");
    }
}
