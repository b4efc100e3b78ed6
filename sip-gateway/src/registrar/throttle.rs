//! Slows down and then shuts out sources that keep failing digest authentication.
//!
//! Password guessers (sipvicious' `svcrack`, and the scanners that sweep every public
//! SIP port) send one REGISTER after another from one address. Each failure from an
//! IP counts; past [`ThrottleConfig::slow_after`] failures within
//! [`ThrottleConfig::window`], that IP's answers are held back (longer with each further
//! failure), and past [`ThrottleConfig::block_after`] failures without a quiet spell of
//! [`ThrottleConfig::forget_after`] the IP is ignored for [`ThrottleConfig::block_for`].
//! A successful authentication clears the IP's record.
//!
//! Memory is bounded: at most [`ThrottleConfig::max_tracked`] IPs are remembered. When
//! a new one arrives at the cap, the failing (not yet blocked) IP that would be
//! forgotten soonest goes first; blocked IPs go only when nothing else is left, so a
//! flood of new addresses cannot easily free a blocked one.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures within `window` after which answers are delayed.
    pub slow_after: u32,
    pub window: Duration,
    /// The delay for the first slowed answer; each further failure in the window adds
    /// as much again, up to `max_delay`.
    pub delay_step: Duration,
    /// Kept below the 32 s a UDP client waits for a final answer (Timer F), so a
    /// legitimate phone sharing the address still hears back.
    pub max_delay: Duration,
    /// Failures (with no quiet spell of `forget_after` between them) that block the IP.
    pub block_after: u32,
    pub forget_after: Duration,
    pub block_for: Duration,
    /// How many IPs are remembered at most.
    pub max_tracked: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            slow_after: 5,
            window: Duration::from_secs(60),
            delay_step: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            block_after: 20,
            forget_after: Duration::from_secs(15 * 60),
            block_for: Duration::from_secs(15 * 60),
            max_tracked: 10_000,
        }
    }
}

/// What to do with a request from an IP, before looking at its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Answer, but not before this instant.
    Delay(Instant),
    /// Do not answer at all until this instant.
    Blocked(Instant),
}

#[derive(Debug, Clone)]
struct Tracked {
    failures: u32,
    last_failure: Instant,
    window_start: Instant,
    failures_in_window: u32,
    blocked_until: Option<Instant>,
    /// When this entry stops mattering: its key in [`AuthThrottle::failing`] or
    /// [`AuthThrottle::blocked`].
    expiry: Instant,
}

impl Tracked {
    fn expiry(&self, config: &ThrottleConfig) -> Instant {
        match self.blocked_until {
            Some(until) => until,
            None => self.last_failure + config.forget_after.max(config.window),
        }
    }
}

#[derive(Debug)]
pub struct AuthThrottle {
    config: ThrottleConfig,
    tracked: HashMap<IpAddr, Tracked>,
    /// Entries ordered by when they stop mattering, to purge and evict in O(log n);
    /// blocked ones apart, so eviction can spare them.
    failing: BTreeSet<(Instant, IpAddr)>,
    blocked: BTreeSet<(Instant, IpAddr)>,
}

impl AuthThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        AuthThrottle {
            config,
            tracked: HashMap::new(),
            failing: BTreeSet::new(),
            blocked: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// How many IPs are remembered now.
    pub fn tracked(&self) -> usize {
        self.tracked.len()
    }

    pub fn verdict(&self, ip: IpAddr, now: Instant) -> Verdict {
        let Some(entry) = self.tracked.get(&ip) else {
            return Verdict::Allow;
        };
        if let Some(until) = entry.blocked_until
            && now < until
        {
            return Verdict::Blocked(until);
        }
        let in_window = now.saturating_duration_since(entry.window_start) <= self.config.window;
        if in_window && entry.failures_in_window >= self.config.slow_after {
            let steps = entry.failures_in_window - self.config.slow_after + 1;
            let delay = self
                .config
                .delay_step
                .saturating_mul(steps)
                .min(self.config.max_delay);
            return Verdict::Delay(now + delay);
        }
        Verdict::Allow
    }

    /// Counts a failed authentication. Returns the end of the block if this failure
    /// started one.
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> Option<Instant> {
        self.purge(now);
        let config = self.config.clone();
        let mut entry = match self.remove(ip) {
            Some(entry) => entry,
            None => {
                self.make_room();
                Tracked {
                    failures: 0,
                    last_failure: now,
                    window_start: now,
                    failures_in_window: 0,
                    blocked_until: None,
                    expiry: now,
                }
            }
        };
        if entry.blocked_until.is_some_and(|until| now >= until) {
            entry.blocked_until = None;
            entry.failures = 0;
        }
        if now.saturating_duration_since(entry.last_failure) > config.forget_after {
            entry.failures = 0;
        }
        if now.saturating_duration_since(entry.window_start) > config.window {
            entry.window_start = now;
            entry.failures_in_window = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.failures_in_window = entry.failures_in_window.saturating_add(1);
        entry.last_failure = now;
        let mut started_block = None;
        if entry.blocked_until.is_none() && entry.failures >= config.block_after {
            let until = now + config.block_for;
            entry.blocked_until = Some(until);
            entry.failures = 0;
            entry.failures_in_window = 0;
            started_block = Some(until);
        }
        entry.expiry = entry.expiry(&config);
        self.index_of(&entry).insert((entry.expiry, ip));
        self.tracked.insert(ip, entry);
        started_block
    }

    /// A good password from this IP: forget its failures.
    pub fn record_success(&mut self, ip: IpAddr) {
        self.remove(ip);
    }

    /// Lifts a block by hand (an operator's command).
    pub fn unblock(&mut self, ip: IpAddr) -> bool {
        self.remove(ip).is_some()
    }

    /// Drops entries that no longer matter.
    pub fn purge(&mut self, now: Instant) {
        for blocked in [false, true] {
            loop {
                let index = if blocked {
                    &self.blocked
                } else {
                    &self.failing
                };
                match index.first() {
                    Some(&(expiry, ip)) if expiry <= now => self.remove(ip),
                    _ => break,
                };
            }
        }
    }

    fn index_of(&mut self, entry: &Tracked) -> &mut BTreeSet<(Instant, IpAddr)> {
        if entry.blocked_until.is_some() {
            &mut self.blocked
        } else {
            &mut self.failing
        }
    }

    fn remove(&mut self, ip: IpAddr) -> Option<Tracked> {
        let entry = self.tracked.remove(&ip)?;
        let key = (entry.expiry, ip);
        self.index_of(&entry).remove(&key);
        Some(entry)
    }

    fn make_room(&mut self) {
        while self.tracked.len() >= self.config.max_tracked.max(1) {
            let oldest = self.failing.first().or_else(|| self.blocked.first());
            let Some(&(_, ip)) = oldest else {
                break;
            };
            self.remove(ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([203, 0, 113, last])
    }

    #[test]
    fn slows_then_blocks_then_forgives() {
        let start = Instant::now();
        let mut throttle = AuthThrottle::new(ThrottleConfig::default());
        for n in 0..4 {
            throttle.record_failure(ip(1), start + Duration::from_secs(n));
        }
        let now = start + Duration::from_secs(4);
        assert_eq!(throttle.verdict(ip(1), now), Verdict::Allow);
        throttle.record_failure(ip(1), now);
        assert_eq!(
            throttle.verdict(ip(1), now),
            Verdict::Delay(now + Duration::from_secs(1))
        );
        throttle.record_failure(ip(1), now);
        assert_eq!(
            throttle.verdict(ip(1), now),
            Verdict::Delay(now + Duration::from_secs(2))
        );
        // A quiet minute ends the slowing, but not the count towards a block.
        let later = now + Duration::from_secs(61);
        assert_eq!(throttle.verdict(ip(1), later), Verdict::Allow);
        let mut block = None;
        for n in 6..20 {
            block = throttle.record_failure(ip(1), later + Duration::from_secs(n));
        }
        let blocked_at = later + Duration::from_secs(19);
        assert_eq!(block, Some(blocked_at + Duration::from_secs(15 * 60)));
        assert!(matches!(
            throttle.verdict(ip(1), blocked_at),
            Verdict::Blocked(_)
        ));
        assert_eq!(throttle.verdict(ip(2), blocked_at), Verdict::Allow);
        let after = blocked_at + Duration::from_secs(15 * 60);
        assert_eq!(throttle.verdict(ip(1), after), Verdict::Allow);
        throttle.purge(after);
        assert_eq!(throttle.tracked(), 0);
    }

    #[test]
    fn success_clears_and_quiet_spell_forgets() {
        let start = Instant::now();
        let mut throttle = AuthThrottle::new(ThrottleConfig::default());
        for _ in 0..10 {
            throttle.record_failure(ip(1), start);
        }
        throttle.record_success(ip(1));
        assert_eq!(throttle.verdict(ip(1), start), Verdict::Allow);
        assert_eq!(throttle.tracked(), 0);

        for n in 0..19 {
            throttle.record_failure(ip(1), start + Duration::from_secs(n));
        }
        // Sixteen quiet minutes: the 19 earlier failures no longer count.
        let later = start + Duration::from_secs(19 + 16 * 60);
        assert_eq!(throttle.record_failure(ip(1), later), None);
        assert_eq!(throttle.verdict(ip(1), later), Verdict::Allow);
    }

    #[test]
    fn memory_is_capped_and_blocked_ips_are_evicted_last() {
        let start = Instant::now();
        let mut throttle = AuthThrottle::new(ThrottleConfig {
            max_tracked: 3,
            block_after: 2,
            ..ThrottleConfig::default()
        });
        throttle.record_failure(ip(1), start);
        throttle.record_failure(ip(1), start);
        assert!(matches!(
            throttle.verdict(ip(1), start),
            Verdict::Blocked(_)
        ));
        for last in 2..=200 {
            throttle.record_failure(ip(last), start + Duration::from_millis(u64::from(last)));
            assert!(throttle.tracked() <= 3);
        }
        assert!(matches!(
            throttle.verdict(ip(1), start),
            Verdict::Blocked(_)
        ));
        assert_eq!(throttle.verdict(ip(2), start), Verdict::Allow);
        assert_eq!(throttle.tracked(), 3);
    }
}
