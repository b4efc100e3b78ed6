//! Hand-made connectivity checks, to play a peer that gets something wrong.

use rtc_dtls::crypto_provider::RTCCryptoProvider;
use rtc_dtls::crypto_provider::providers::RingProvider;
use rtc_stun::attributes::{
    ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USE_CANDIDATE, ATTR_USERNAME,
};
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{BINDING_REQUEST, Message, Setter, TransactionId};
use rtc_stun::textattrs::TextAttribute;

struct Raw(rtc_stun::attributes::AttrType, Vec<u8>);

impl Setter for Raw {
    fn add_to(&self, message: &mut Message) -> Result<(), rtc_shared::error::Error> {
        message.add(self.0, &self.1);
        Ok(())
    }
}

/// A binding request as a controlling agent sends it, with USE-CANDIDATE.
pub fn check(username: &str, pwd: &str) -> Vec<u8> {
    let provider = RingProvider::new();
    let mut message = Message::new();
    message
        .build(&[
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId::new()),
            Box::new(TextAttribute::new(ATTR_USERNAME, username.to_owned())),
            Box::new(Raw(ATTR_PRIORITY, 1_862_270_975u32.to_be_bytes().to_vec())),
            Box::new(Raw(ATTR_ICE_CONTROLLING, 7u64.to_be_bytes().to_vec())),
            Box::new(Raw(ATTR_USE_CANDIDATE, Vec::new())),
            Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                pwd.to_owned(),
                provider.crypto(),
            )),
            Box::new(FINGERPRINT),
        ])
        .unwrap();
    message.raw
}
