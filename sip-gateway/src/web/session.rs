//! Signed-in browser pages: a random 128-bit token in an HttpOnly cookie, kept in
//! memory only (a restart signs everyone out, and the page signs in again).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

/// A session unused this long is forgotten.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(12 * 60 * 60);

/// Sessions kept per user; the oldest goes when one more signs in (a seat that
/// reloads its page many times does not grow memory).
const SESSIONS_PER_USER: usize = 8;

/// The cookie's name.
pub const COOKIE: &str = "hotline_session";

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub username: String,
    pub role: String,
}

struct Entry {
    who: SignedIn,
    last_used: Instant,
    /// Dropped with the entry, which ends the session's event streams.
    alive: watch::Sender<()>,
}

/// The session table. Cheap to clone: clones share it.
#[derive(Clone, Default)]
pub struct Sessions {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl Sessions {
    /// Starts a session for `who`; returns its token (32 hex digits).
    pub fn create(&self, who: SignedIn, now: Instant) -> String {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes);
        let token = hex::encode(bytes);
        let mut entries = self.entries.lock();
        purge(&mut entries, now);
        let mut own: Vec<(Instant, String)> = entries
            .iter()
            .filter(|(_, entry)| entry.who.username == who.username)
            .map(|(token, entry)| (entry.last_used, token.clone()))
            .collect();
        own.sort();
        let surplus = (own.len() + 1).saturating_sub(SESSIONS_PER_USER);
        for (_, old) in own.into_iter().take(surplus) {
            entries.remove(&old);
        }
        let (alive, _) = watch::channel(());
        entries.insert(
            token.clone(),
            Entry {
                who,
                last_used: now,
                alive,
            },
        );
        token
    }

    /// The session of `token`, if it is live; using it restarts its idle time.
    pub fn get(&self, token: &str, now: Instant) -> Option<SignedIn> {
        let mut entries = self.entries.lock();
        purge(&mut entries, now);
        let entry = entries.get_mut(token)?;
        entry.last_used = now;
        Some(entry.who.clone())
    }

    /// Something that ends when the session does (signed out or expired).
    pub fn ended(&self, token: &str) -> Option<watch::Receiver<()>> {
        self.entries
            .lock()
            .get(token)
            .map(|entry| entry.alive.subscribe())
    }

    /// Forgets the session; `false` if there was none.
    pub fn remove(&self, token: &str) -> bool {
        self.entries.lock().remove(token).is_some()
    }

    /// Live sessions.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets sessions idle past [`IDLE_EXPIRY`].
    pub fn purge(&self, now: Instant) {
        purge(&mut self.entries.lock(), now);
    }
}

fn purge(entries: &mut HashMap<String, Entry>, now: Instant) {
    entries.retain(|_, entry| now.saturating_duration_since(entry.last_used) < IDLE_EXPIRY);
}

/// The session token in a `Cookie` header, if any.
pub fn token_from_cookies(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(value)
    })
}

/// The `Set-Cookie` value for a new session: HttpOnly, SameSite=Strict, and Secure
/// when the page came over https.
pub fn set_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        IDLE_EXPIRY.as_secs()
    )
}

/// The `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str) -> SignedIn {
        SignedIn {
            username: name.into(),
            role: "agent".into(),
        }
    }

    #[test]
    fn tokens_are_random_and_expire_when_idle() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let first = sessions.create(agent("agent01"), start);
        let second = sessions.create(agent("agent01"), start);
        assert_ne!(first, second);
        assert_eq!(first.len(), 32);
        let later = start + IDLE_EXPIRY - Duration::from_secs(1);
        assert_eq!(sessions.get(&first, later), Some(agent("agent01")));
        // Used just now: good for another twelve hours, while the unused one expires.
        let much_later = later + Duration::from_secs(2);
        assert_eq!(sessions.get(&first, much_later), Some(agent("agent01")));
        assert_eq!(sessions.get(&second, much_later), None);
        assert_eq!(sessions.len(), 1);
        assert!(sessions.remove(&first));
        assert_eq!(sessions.get(&first, much_later), None);
    }

    #[test]
    fn sessions_per_user_are_capped_oldest_first() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let tokens: Vec<String> = (0..10)
            .map(|n| sessions.create(agent("agent01"), start + Duration::from_secs(n)))
            .collect();
        let other = sessions.create(agent("agent02"), start);
        let now = start + Duration::from_secs(20);
        assert_eq!(sessions.get(&tokens[0], now), None);
        assert_eq!(sessions.get(&tokens[1], now), None);
        assert!(sessions.get(&tokens[9], now).is_some());
        assert!(sessions.get(&other, now).is_some());
        assert_eq!(sessions.len(), SESSIONS_PER_USER + 1);
    }

    #[test]
    fn an_ended_session_closes_its_watchers() {
        let sessions = Sessions::default();
        let token = sessions.create(agent("agent01"), Instant::now());
        let ended = sessions.ended(&token).expect("live");
        sessions.remove(&token);
        assert!(ended.has_changed().is_err(), "the sender is gone");
    }

    #[test]
    fn the_cookie_is_read_back_and_flagged() {
        let token = "0123456789abcdef0123456789abcdef";
        let header = format!("theme=dark; {COOKIE}={token}; other=1");
        assert_eq!(token_from_cookies(&header), Some(token));
        assert_eq!(token_from_cookies(&format!("{COOKIE}=short")), None);
        let cookie = set_cookie(token, true);
        for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        assert!(!set_cookie(token, false).contains("Secure"));
    }
}
