//! SRTP/SRTCP for a leg whose keys came out of the DTLS handshake (RFC 5764 §4.2).

use std::sync::Arc;

use bytes::BytesMut;
use rtc_dtls::crypto_provider::RTCCryptoProvider;
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc_dtls::state::State;
use rtc_srtp::config::{Config, LABEL_EXTRACTOR_DTLS_SRTP};
use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

/// What we offer (client) and accept (server) in `use_srtp`: the two Chromium offers,
/// the AEAD one first since it authenticates the header at no extra cost.
pub(crate) const SRTP_PROFILES: [SrtpProtectionProfile; 2] = [
    SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
    SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
];

/// Replay windows: wide for RTP, which browsers may send reordered across a network
/// change; RTCP is sparse.
const RTP_REPLAY_WINDOW: usize = 1024;
const RTCP_REPLAY_WINDOW: usize = 128;
/// How many peer SSRCs a leg keeps state for. A browser sends audio on one SSRC (two
/// after a track change); the bound keeps forged SSRCs from growing the contexts.
const MAX_REMOTE_SSRCS: usize = 8;

pub(crate) struct SrtpSession {
    profile: ProtectionProfile,
    outgoing: Context,
    incoming: Context,
    remote_master_key: Vec<u8>,
    remote_master_salt: Vec<u8>,
    crypto: Arc<dyn RTCCryptoProvider>,
    /// SSRCs that have authenticated on RTP and on RTCP: only these reach `incoming`,
    /// whose per-SSRC state rtc-srtp creates before it authenticates a packet.
    known_rtp_ssrcs: Vec<u32>,
    known_rtcp_ssrcs: Vec<u32>,
}

impl SrtpSession {
    /// Keys from the DTLS exporter: client write key, server write key, client salt,
    /// server salt, each side sending with its own.
    pub(crate) fn from_dtls(
        state: &State,
        crypto: &Arc<dyn RTCCryptoProvider>,
    ) -> Result<SrtpSession, String> {
        let profile = match state.srtp_protection_profile() {
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm => ProtectionProfile::AeadAes128Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80 => {
                ProtectionProfile::Aes128CmHmacSha1_80
            }
            other => {
                return Err(format!(
                    "peer chose an SRTP profile we did not offer: {other:?}"
                ));
            }
        };
        let mut config = Config {
            profile,
            ..Default::default()
        };
        let keying_material = state
            .export_keying_material(LABEL_EXTRACTOR_DTLS_SRTP, &[], config.keying_material_len())
            .map_err(|error| format!("SRTP key export: {error}"))?;
        config
            .set_session_keys_from_keying_material(keying_material.as_ref(), state.is_client())
            .map_err(|error| format!("SRTP keys: {error}"))?;
        let keys = config.keys;
        SrtpSession::new(
            profile,
            (&keys.local_master_key, &keys.local_master_salt),
            (&keys.remote_master_key, &keys.remote_master_salt),
            crypto,
        )
    }

    pub(crate) fn new(
        profile: ProtectionProfile,
        (local_key, local_salt): (&[u8], &[u8]),
        (remote_key, remote_salt): (&[u8], &[u8]),
        crypto: &Arc<dyn RTCCryptoProvider>,
    ) -> Result<SrtpSession, String> {
        let outgoing = Context::new(local_key, local_salt, profile, None, None, crypto.crypto())
            .map_err(|error| format!("SRTP context: {error}"))?;
        let incoming = incoming_context(profile, remote_key, remote_salt, crypto)?;
        Ok(SrtpSession {
            profile,
            outgoing,
            incoming,
            remote_master_key: remote_key.to_vec(),
            remote_master_salt: remote_salt.to_vec(),
            crypto: crypto.clone(),
            known_rtp_ssrcs: Vec::new(),
            known_rtcp_ssrcs: Vec::new(),
        })
    }

    pub(crate) fn profile_name(&self) -> &'static str {
        match self.profile {
            ProtectionProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            ProtectionProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
            _ => "other",
        }
    }

    pub(crate) fn protect_rtp(&mut self, rtp: &[u8]) -> Option<BytesMut> {
        self.outgoing.encrypt_rtp(rtp).ok()
    }

    pub(crate) fn protect_rtcp(&mut self, rtcp: &[u8]) -> Option<BytesMut> {
        self.outgoing.encrypt_rtcp(rtcp).ok()
    }

    pub(crate) fn unprotect_rtp(&mut self, srtp: &[u8]) -> Option<BytesMut> {
        let ssrc = u32::from_be_bytes(srtp.get(8..12)?.try_into().ok()?);
        if !self.known_rtp_ssrcs.contains(&ssrc) {
            if self.known_rtp_ssrcs.len() == MAX_REMOTE_SSRCS {
                return None;
            }
            self.probe()?.decrypt_rtp(srtp).ok()?;
            self.known_rtp_ssrcs.push(ssrc);
        }
        self.incoming.decrypt_rtp(srtp).ok()
    }

    pub(crate) fn unprotect_rtcp(&mut self, srtcp: &[u8]) -> Option<BytesMut> {
        let ssrc = u32::from_be_bytes(srtcp.get(4..8)?.try_into().ok()?);
        if !self.known_rtcp_ssrcs.contains(&ssrc) {
            if self.known_rtcp_ssrcs.len() == MAX_REMOTE_SSRCS {
                return None;
            }
            self.probe()?.decrypt_rtcp(srtcp).ok()?;
            self.known_rtcp_ssrcs.push(ssrc);
        }
        self.incoming.decrypt_rtcp(srtcp).ok()
    }

    /// A throwaway context with the peer's keys, to authenticate the first packet of
    /// an SSRC without leaving state behind when it is forged.
    fn probe(&self) -> Option<Context> {
        incoming_context(
            self.profile,
            &self.remote_master_key,
            &self.remote_master_salt,
            &self.crypto,
        )
        .ok()
    }
}

fn incoming_context(
    profile: ProtectionProfile,
    key: &[u8],
    salt: &[u8],
    crypto: &Arc<dyn RTCCryptoProvider>,
) -> Result<Context, String> {
    Context::new(
        key,
        salt,
        profile,
        Some(srtp_replay_protection(RTP_REPLAY_WINDOW)),
        Some(srtcp_replay_protection(RTCP_REPLAY_WINDOW)),
        crypto.crypto(),
    )
    .map_err(|error| format!("SRTP context: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_dtls::crypto_provider::providers::RingProvider;

    fn pair(profile: ProtectionProfile) -> (SrtpSession, SrtpSession) {
        let crypto: Arc<dyn RTCCryptoProvider> = Arc::new(RingProvider::new());
        let a = (vec![1u8; profile.key_len()], vec![2u8; profile.salt_len()]);
        let b = (vec![3u8; profile.key_len()], vec![4u8; profile.salt_len()]);
        let left = SrtpSession::new(profile, (&a.0, &a.1), (&b.0, &b.1), &crypto).unwrap();
        let right = SrtpSession::new(profile, (&b.0, &b.1), (&a.0, &a.1), &crypto).unwrap();
        (left, right)
    }

    fn rtp(sequence: u16, ssrc: u32) -> Vec<u8> {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&sequence.to_be_bytes());
        packet.extend_from_slice(&(u32::from(sequence) * 160).to_be_bytes());
        packet.extend_from_slice(&ssrc.to_be_bytes());
        packet.extend(std::iter::repeat_n(0xD5, 160));
        packet
    }

    #[test]
    fn both_profiles_round_trip_and_reject_replays_and_forgeries() {
        for profile in [
            ProtectionProfile::AeadAes128Gcm,
            ProtectionProfile::Aes128CmHmacSha1_80,
        ] {
            let (mut left, mut right) = pair(profile);
            let plain = rtp(1, 0x1234);
            let protected = left.protect_rtp(&plain).unwrap();
            assert_ne!(&protected[12..], &plain[12..]);
            assert_eq!(&right.unprotect_rtp(&protected).unwrap()[..], &plain[..]);
            assert!(right.unprotect_rtp(&protected).is_none(), "replay accepted");

            let mut forged = left.protect_rtp(&rtp(2, 0x9999)).unwrap().to_vec();
            let last = forged.len() - 1;
            forged[last] ^= 1;
            assert!(right.unprotect_rtp(&forged).is_none());
            assert_eq!(right.known_rtp_ssrcs, vec![0x1234], "forged SSRC kept");
        }
    }

    #[test]
    fn forged_ssrcs_leave_no_state() {
        let (mut left, mut right) = pair(ProtectionProfile::Aes128CmHmacSha1_80);
        for ssrc in 0..100u32 {
            let mut packet = left.protect_rtp(&rtp(1, ssrc)).unwrap().to_vec();
            packet[20] ^= 0xFF;
            assert!(right.unprotect_rtp(&packet).is_none());
        }
        assert!(right.known_rtp_ssrcs.is_empty());
    }
}
