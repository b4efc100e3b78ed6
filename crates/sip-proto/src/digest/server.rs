//! The server side: stateless nonces that carry their own issue time and MAC, plus a
//! record of nonce counts to refuse replays.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use thiserror::Error;

use super::{Challenge, Credentials, DigestAlgorithm, compute_response, constant_time_eq};
use crate::message::Method;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("credentials are for realm {0:?}")]
    WrongRealm(String),
    #[error("nonce was not issued by this server")]
    UnknownNonce,
    /// Challenge again with `stale=true`: the client retries without asking its user.
    #[error("nonce has expired")]
    StaleNonce,
    #[error("nonce count {0} was already used")]
    ReplayedNonceCount(u32),
    #[error("algorithm {0} was not offered")]
    AlgorithmNotOffered(DigestAlgorithm),
    #[error("response does not match: wrong password or altered request")]
    WrongResponse,
}

/// Issues challenges and verifies credentials for one realm.
///
/// Nonces are `hex(issued_ms) || hex(mac)` where the MAC is SHA-256 over a secret, the
/// issue time and the realm, so the server needs no table of issued nonces and can tell
/// a forged nonce (refuse) from an old one of its own (stale, re-challenge). Issue times
/// are milliseconds since the `now` given to [`DigestServer::new`]; nonces from before
/// a restart therefore fail their MAC or read as stale, and clients simply retry.
#[derive(Debug)]
pub struct DigestServer {
    realm: String,
    secret: Vec<u8>,
    epoch: Instant,
    nonce_lifetime: Duration,
    algorithms: Vec<DigestAlgorithm>,
    /// Highest nonce count seen per nonce, to refuse replays (RFC 7616 §3.4.4).
    nonce_counts: HashMap<String, (u32, Instant)>,
}

const MAC_HEX_LEN: usize = 32;
const TIME_HEX_LEN: usize = 16;

impl DigestServer {
    /// `secret` should be random and at least 16 bytes; the caller provides it so this
    /// crate stays free of randomness.
    pub fn new(realm: &str, secret: &[u8], now: Instant) -> Self {
        DigestServer {
            realm: realm.to_owned(),
            secret: secret.to_vec(),
            epoch: now,
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            nonce_counts: HashMap::new(),
        }
    }

    pub fn with_nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// Algorithms to offer, preferred first. The default offers SHA-256 then MD5, as
    /// RFC 8760 §2.4 recommends; the user store must hold an HA1 for each.
    pub fn with_algorithms(mut self, algorithms: &[DigestAlgorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// One challenge per algorithm, sharing a fresh nonce; put each in its own
    /// WWW-Authenticate (401) or Proxy-Authenticate (407) header.
    pub fn challenges(&self, now: Instant, stale: bool) -> Vec<Challenge> {
        let nonce = self.make_nonce(now);
        self.algorithms
            .iter()
            .map(|&algorithm| Challenge {
                realm: self.realm.clone(),
                nonce: nonce.clone(),
                opaque: None,
                algorithm,
                qop: vec!["auth".to_owned()],
                stale,
                domain: None,
            })
            .collect()
    }

    /// Checks credentials against the HA1 stored for `credentials.username` and
    /// `credentials.algorithm` (see [`super::compute_ha1`]).
    ///
    /// The `uri` parameter is not compared with the Request-URI: proxies may rewrite
    /// the Request-URI, and replays are refused through the nonce count instead.
    pub fn verify(
        &mut self,
        credentials: &Credentials,
        method: &Method,
        stored_ha1: &str,
        now: Instant,
    ) -> Result<(), VerifyError> {
        if credentials.realm != self.realm {
            return Err(VerifyError::WrongRealm(credentials.realm.clone()));
        }
        if !self.algorithms.contains(&credentials.algorithm) {
            return Err(VerifyError::AlgorithmNotOffered(credentials.algorithm));
        }
        let issued = self.check_nonce(&credentials.nonce)?;
        let expected = compute_response(stored_ha1, &credentials.response_inputs(method.as_str()));
        if !constant_time_eq(&expected, &credentials.response.to_ascii_lowercase()) {
            return Err(VerifyError::WrongResponse);
        }
        // Staleness is reported only for a correct response, so a client with the wrong
        // password is not told to retry silently.
        if now.saturating_duration_since(issued) > self.nonce_lifetime {
            return Err(VerifyError::StaleNonce);
        }
        if let Some((_, nc)) = credentials.qop_auth {
            self.forget_expired(now);
            let entry = self
                .nonce_counts
                .entry(credentials.nonce.clone())
                .or_insert((0, issued));
            if nc <= entry.0 {
                return Err(VerifyError::ReplayedNonceCount(nc));
            }
            entry.0 = nc;
        }
        Ok(())
    }

    fn make_nonce(&self, now: Instant) -> String {
        let issued_ms = now.saturating_duration_since(self.epoch).as_millis() as u64;
        format!("{issued_ms:016x}{}", self.mac(issued_ms))
    }

    fn mac(&self, issued_ms: u64) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.secret);
        hasher.update(issued_ms.to_be_bytes());
        hasher.update(self.realm.as_bytes());
        hex::encode(hasher.finalize())[..MAC_HEX_LEN].to_owned()
    }

    /// Returns when the nonce was issued, if it is ours.
    fn check_nonce(&self, nonce: &str) -> Result<Instant, VerifyError> {
        if nonce.len() != TIME_HEX_LEN + MAC_HEX_LEN || !nonce.is_ascii() {
            return Err(VerifyError::UnknownNonce);
        }
        let (time_hex, mac) = nonce.split_at(TIME_HEX_LEN);
        let issued_ms = u64::from_str_radix(time_hex, 16).map_err(|_| VerifyError::UnknownNonce)?;
        if !constant_time_eq(&self.mac(issued_ms), mac) {
            return Err(VerifyError::UnknownNonce);
        }
        Ok(self.epoch + Duration::from_millis(issued_ms))
    }

    fn forget_expired(&mut self, now: Instant) {
        let lifetime = self.nonce_lifetime;
        self.nonce_counts
            .retain(|_, (_, issued)| now.saturating_duration_since(*issued) <= lifetime);
    }
}
