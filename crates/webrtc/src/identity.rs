//! The process-wide DTLS certificate and the per-leg ICE credentials.

use std::fmt;
use std::sync::Arc;

use rand::Rng;
use rtc_dtls::crypto::Certificate;
use rtc_dtls::crypto_provider::providers::RingProvider;
use rtc_dtls::crypto_provider::{HashAlgorithm, RTCCryptoProvider};

use crate::WebRtcError;

/// The algorithm name of [`Fingerprint`] as SDP writes it (RFC 8122).
pub(crate) const SHA_256: &str = "sha-256";

/// One per process: the DTLS certificate (self-signed ECDSA P-256) and its SHA-256
/// fingerprint. Cloning shares the certificate; a fresh key per call would cost an
/// ECDSA key generation per call for no gain, since the fingerprint travels in
/// signalled SDP anyway (as browsers do, RFC 8827 §6.5).
#[derive(Clone)]
pub struct DtlsIdentity {
    inner: Arc<IdentityInner>,
}

struct IdentityInner {
    certificate: Certificate,
    fingerprint: Fingerprint,
    crypto: Arc<dyn RTCCryptoProvider>,
}

impl DtlsIdentity {
    pub fn generate() -> Result<Self, WebRtcError> {
        let crypto: Arc<dyn RTCCryptoProvider> = Arc::new(RingProvider::new());
        let certificate = Certificate::generate_self_signed_with_alg(
            vec!["hotline-webrtc".to_owned()],
            &rcgen::PKCS_ECDSA_P256_SHA256,
            crypto.crypto(),
        )
        .map_err(|error| WebRtcError::Certificate(error.to_string()))?;
        let der = certificate
            .certificate
            .first()
            .ok_or_else(|| WebRtcError::Certificate("no certificate generated".to_owned()))?;
        let fingerprint = Fingerprint::sha256_of(der.as_ref(), crypto.as_ref())?;
        Ok(DtlsIdentity {
            inner: Arc::new(IdentityInner {
                certificate,
                fingerprint,
                crypto,
            }),
        })
    }

    pub fn fingerprint(&self) -> &Fingerprint {
        &self.inner.fingerprint
    }

    pub(crate) fn certificate(&self) -> &Certificate {
        &self.inner.certificate
    }

    pub(crate) fn crypto(&self) -> &Arc<dyn RTCCryptoProvider> {
        &self.inner.crypto
    }
}

impl fmt::Debug for DtlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsIdentity")
            .field("fingerprint", &self.inner.fingerprint)
            .finish_non_exhaustive()
    }
}

/// `a=fingerprint:<algorithm> <value>` (RFC 8122).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Lowercase hash name, `sha-256`.
    pub algorithm: String,
    /// Uppercase hex bytes separated by colons, `AB:CD:...`.
    pub value: String,
}

impl Fingerprint {
    pub(crate) fn sha256_of(
        der: &[u8],
        crypto: &dyn RTCCryptoProvider,
    ) -> Result<Fingerprint, WebRtcError> {
        let digest = crypto
            .crypto()
            .hash(HashAlgorithm::Sha256, der)
            .map_err(|error| WebRtcError::Certificate(error.to_string()))?;
        Ok(Fingerprint {
            algorithm: SHA_256.to_owned(),
            value: colon_hex(&digest),
        })
    }

    /// Whether this fingerprint names the certificate `der`. SDP hex may be in either
    /// case (RFC 8122 §5), so the comparison ignores it.
    pub(crate) fn matches(&self, der: &[u8], crypto: &dyn RTCCryptoProvider) -> bool {
        self.algorithm.eq_ignore_ascii_case(SHA_256)
            && Fingerprint::sha256_of(der, crypto)
                .is_ok_and(|actual| actual.value.eq_ignore_ascii_case(self.value.trim()))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.value)
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 {
            text.push(':');
        }
        text.push_str(&format!("{byte:02X}"));
    }
    text
}

/// `a=ice-ufrag` and `a=ice-pwd` (RFC 8839 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    pub ufrag: String,
    pub pwd: String,
}

/// `ice-char` of RFC 8839: ALPHA / DIGIT / "+" / "/".
const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl IceCredentials {
    /// An 8-character ufrag and a 24-character password: above the RFC minimums
    /// (4 and 22) and short enough to keep STUN USERNAME small.
    pub fn random() -> IceCredentials {
        IceCredentials {
            ufrag: random_ice_chars(8),
            pwd: random_ice_chars(24),
        }
    }
}

fn random_ice_chars(count: usize) -> String {
    let mut rng = rand::rng();
    (0..count)
        .map(|_| ICE_CHARS[rng.random_range(0..ICE_CHARS.len())] as char)
        .collect()
}
