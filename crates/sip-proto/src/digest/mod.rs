//! HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617, RFC 7616,
//! RFC 8760): the header syntax, the response computation, a client that answers a
//! challenge ([`answer_challenge`]) and a server that issues and checks nonces
//! ([`DigestServer`]).
//!
//! Only `qop=auth` (and the legacy form without qop) is supported: `auth-int` needs the
//! body hash and no SIP peer we talk to asks for it.

mod server;

use std::fmt;

use md5::Md5;
use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::header::{HeaderName, Headers};
use crate::message::Method;
use crate::text::{is_lws, is_token, quote, split_top_level, take_quoted_string, trim_lws};

pub use server::{DigestServer, VerifyError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DigestError {
    #[error("authentication scheme {0:?} is not Digest")]
    NotDigest(String),
    #[error("malformed digest parameters {value:?}: {reason}")]
    Malformed { value: String, reason: &'static str },
    #[error("digest parameter {0} is missing")]
    MissingParam(&'static str),
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    #[error("challenge offers no supported qop (offered {0:?})")]
    UnsupportedQop(String),
    #[error("nonce count {0:?} is not eight hex digits")]
    InvalidNonceCount(String),
}

/// Hash algorithm, optionally in its `-sess` variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl DigestAlgorithm {
    pub fn parse(name: &str) -> Result<DigestAlgorithm, DigestError> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Ok(DigestAlgorithm::Md5),
            "MD5-SESS" => Ok(DigestAlgorithm::Md5Sess),
            "SHA-256" => Ok(DigestAlgorithm::Sha256),
            "SHA-256-SESS" => Ok(DigestAlgorithm::Sha256Sess),
            _ => Err(DigestError::UnsupportedAlgorithm(name.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_session(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// Lower-case hex digest of `data`.
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => hex::encode(Md5::digest(data)),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => {
                hex::encode(Sha256::digest(data))
            }
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `H(username:realm:password)`: what a user store keeps instead of the password.
pub fn compute_ha1(
    algorithm: DigestAlgorithm,
    username: &str,
    realm: &str,
    password: &str,
) -> String {
    algorithm.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// The inputs of a response beyond HA1 and the request.
#[derive(Debug, Clone, Copy)]
pub struct ResponseInputs<'a> {
    pub algorithm: DigestAlgorithm,
    pub nonce: &'a str,
    /// `Some((cnonce, nc))` with `qop=auth`; `None` for the RFC 2069 form.
    pub qop_auth: Option<(&'a str, u32)>,
    pub method: &'a str,
    pub uri: &'a str,
}

/// The `response` value (RFC 7616 §3.4.1) from a stored HA1.
pub fn compute_response(ha1: &str, inputs: &ResponseInputs<'_>) -> String {
    let algorithm = inputs.algorithm;
    let ha1 = match (algorithm.is_session(), inputs.qop_auth) {
        (true, Some((cnonce, _))) => {
            algorithm.hash_hex(format!("{ha1}:{}:{cnonce}", inputs.nonce).as_bytes())
        }
        _ => ha1.to_owned(),
    };
    let ha2 = algorithm.hash_hex(format!("{}:{}", inputs.method, inputs.uri).as_bytes());
    let data = match inputs.qop_auth {
        Some((cnonce, nc)) => format!("{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}", inputs.nonce),
        None => format!("{ha1}:{}:{ha2}", inputs.nonce),
    };
    algorithm.hash_hex(data.as_bytes())
}

/// A `WWW-Authenticate` or `Proxy-Authenticate` Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: DigestAlgorithm,
    /// Offered qop values (`auth`, `auth-int`); empty for the RFC 2069 form.
    pub qop: Vec<String>,
    /// The nonce was valid but expired: retry with the new one, without asking the user.
    pub stale: bool,
    pub domain: Option<String>,
}

impl Challenge {
    pub fn parse(value: &str) -> Result<Challenge, DigestError> {
        let params = parse_digest_params(value)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let algorithm = match get("algorithm") {
            Some(name) => DigestAlgorithm::parse(&name)?,
            None => DigestAlgorithm::Md5,
        };
        Ok(Challenge {
            realm: get("realm").ok_or(DigestError::MissingParam("realm"))?,
            nonce: get("nonce").ok_or(DigestError::MissingParam("nonce"))?,
            opaque: get("opaque"),
            algorithm,
            qop: get("qop")
                .map(|qop| {
                    qop.split(',')
                        .map(|q| trim_lws(q).to_owned())
                        .filter(|q| !q.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            stale: get("stale").is_some_and(|stale| stale.eq_ignore_ascii_case("true")),
            domain: get("domain"),
        })
    }

    pub fn offers_auth(&self) -> bool {
        self.qop.iter().any(|qop| qop.eq_ignore_ascii_case("auth"))
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest realm={}", quote(&self.realm))?;
        if let Some(domain) = &self.domain {
            write!(f, ", domain={}", quote(domain))?;
        }
        write!(f, ", nonce={}", quote(&self.nonce))?;
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque={}", quote(opaque))?;
        }
        write!(f, ", algorithm={}", self.algorithm)?;
        if !self.qop.is_empty() {
            write!(f, ", qop={}", quote(&self.qop.join(",")))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// An `Authorization` or `Proxy-Authorization` Digest answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: DigestAlgorithm,
    pub opaque: Option<String>,
    /// `Some((cnonce, nc))` when `qop=auth` was used.
    pub qop_auth: Option<(String, u32)>,
}

impl Credentials {
    pub fn parse(value: &str) -> Result<Credentials, DigestError> {
        let params = parse_digest_params(value)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let required = |name: &'static str| get(name).ok_or(DigestError::MissingParam(name));
        let algorithm = match get("algorithm") {
            Some(name) => DigestAlgorithm::parse(&name)?,
            None => DigestAlgorithm::Md5,
        };
        let qop_auth = match get("qop") {
            None => None,
            Some(qop) if qop.eq_ignore_ascii_case("auth") => {
                let nc_text = required("nc")?;
                let nc = (nc_text.len() == 8)
                    .then(|| u32::from_str_radix(&nc_text, 16).ok())
                    .flatten()
                    .ok_or(DigestError::InvalidNonceCount(nc_text))?;
                Some((required("cnonce")?, nc))
            }
            Some(other) => return Err(DigestError::UnsupportedQop(other)),
        };
        Ok(Credentials {
            username: required("username")?,
            realm: required("realm")?,
            nonce: required("nonce")?,
            uri: required("uri")?,
            response: required("response")?,
            algorithm,
            opaque: get("opaque"),
            qop_auth,
        })
    }

    fn response_inputs<'a>(&'a self, method: &'a str) -> ResponseInputs<'a> {
        ResponseInputs {
            algorithm: self.algorithm,
            nonce: &self.nonce,
            qop_auth: self
                .qop_auth
                .as_ref()
                .map(|(cnonce, nc)| (cnonce.as_str(), *nc)),
            method,
            uri: &self.uri,
        }
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm
        )?;
        if let Some((cnonce, nc)) = &self.qop_auth {
            write!(f, ", cnonce={}, qop=auth, nc={nc:08x}", quote(cnonce))?;
        }
        if let Some(opaque) = &self.opaque {
            write!(f, ", opaque={}", quote(opaque))?;
        }
        Ok(())
    }
}

/// Splits `Digest a="b", c=d` into unquoted name/value pairs.
fn parse_digest_params(value: &str) -> Result<Vec<(String, String)>, DigestError> {
    let malformed = |reason| DigestError::Malformed {
        value: value.to_owned(),
        reason,
    };
    let value = trim_lws(value);
    let scheme_end = value.find(is_lws).unwrap_or(value.len());
    let scheme = &value[..scheme_end];
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest(scheme.to_owned()));
    }
    let mut params = Vec::new();
    for piece in split_top_level(&value[scheme_end..], ',').map_err(malformed)? {
        let piece = trim_lws(piece);
        if piece.is_empty() {
            continue;
        }
        let (name, raw) = piece
            .split_once('=')
            .ok_or_else(|| malformed("parameter without ="))?;
        let (name, raw) = (trim_lws(name), trim_lws(raw));
        if !is_token(name) {
            return Err(malformed("parameter name is not a token"));
        }
        let unquoted = if raw.starts_with('"') {
            let (content, rest) = take_quoted_string(raw).map_err(malformed)?;
            if !trim_lws(rest).is_empty() {
                return Err(malformed("text after quoted value"));
            }
            content
        } else if is_token(raw) {
            raw.to_owned()
        } else {
            return Err(malformed("value is neither a token nor a quoted string"));
        };
        params.push((name.to_owned(), unquoted));
    }
    Ok(params)
}

/// What a client needs to answer a challenge.
#[derive(Debug, Clone, Copy)]
pub struct ClientSecret<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

/// Answers a challenge for a request (RFC 3261 §22.2). `cnonce` must be unpredictable
/// (the caller supplies randomness, keeping this crate deterministic) and `nc` counts
/// the requests made with this nonce, starting at 1.
pub fn answer_challenge(
    challenge: &Challenge,
    secret: ClientSecret<'_>,
    method: &Method,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<Credentials, DigestError> {
    let qop_auth = if challenge.qop.is_empty() {
        None
    } else if challenge.offers_auth() {
        Some((cnonce.to_owned(), nc))
    } else {
        return Err(DigestError::UnsupportedQop(challenge.qop.join(",")));
    };
    let ha1 = compute_ha1(
        challenge.algorithm,
        secret.username,
        &challenge.realm,
        secret.password,
    );
    let mut credentials = Credentials {
        username: secret.username.to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: String::new(),
        algorithm: challenge.algorithm,
        opaque: challenge.opaque.clone(),
        qop_auth,
    };
    credentials.response = compute_response(&ha1, &credentials.response_inputs(method.as_str()));
    Ok(credentials)
}

/// The first challenge of a list whose algorithm and qop we can answer. Servers list
/// their preferred algorithm first (RFC 8760 §2.4), so taking the first one honours it.
pub fn pick_challenge(challenges: &[Challenge]) -> Option<&Challenge> {
    challenges
        .iter()
        .find(|challenge| challenge.qop.is_empty() || challenge.offers_auth())
}

impl Headers {
    /// Digest challenges from `WWW-Authenticate` (or `Proxy-Authenticate` if `proxy`).
    /// Challenges of other schemes or algorithms are skipped.
    pub fn digest_challenges(&self, proxy: bool) -> Vec<Challenge> {
        let name = if proxy {
            HeaderName::ProxyAuthenticate
        } else {
            HeaderName::WwwAuthenticate
        };
        self.get_all(&name)
            .filter_map(|value| Challenge::parse(value).ok())
            .collect()
    }

    /// Digest credentials from `Authorization` (or `Proxy-Authorization`) for `realm`.
    pub fn digest_credentials(
        &self,
        proxy: bool,
        realm: &str,
    ) -> Option<Result<Credentials, DigestError>> {
        let name = if proxy {
            HeaderName::ProxyAuthorization
        } else {
            HeaderName::Authorization
        };
        self.get_all(&name).map(Credentials::parse).find(|parsed| {
            parsed
                .as_ref()
                .map_or(true, |credentials| credentials.realm == realm)
        })
    }
}

/// Compares two strings in time independent of where they differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests;
