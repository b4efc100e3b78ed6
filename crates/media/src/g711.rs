//! G.711 (ITU-T G.711, 1988): μ-law (PCMU, payload type 0) and A-law (PCMA, 8).
//!
//! Samples are 16-bit linear PCM. Encoding follows the segment arithmetic of the
//! ITU reference (the same as the widely used Sun `g711.c`); decoding is a lookup in
//! tables built at compile time from the same formulas, because the relay and the
//! recorder decode every packet and a load is cheaper than the bit fiddling.
//!
//! Every decoded value encodes back to its own code, except μ-law's negative zero
//! (0x7F): both 0x7F and 0xFF decode to 0, and 0 encodes as 0xFF.

/// μ-law bias added before finding the segment (G.711 Table 2a, scaled to 16 bits).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude μ-law can represent once the bias is added without overflow.
const ULAW_CLIP: i32 = 32635;

const ULAW_DECODE: [i16; 256] = build_ulaw_table();
const ALAW_DECODE: [i16; 256] = build_alaw_table();

const fn ulaw_decode_formula(code: u8) -> i16 {
    // Codes are transmitted inverted so that silence has many one bits.
    let code = !code;
    let exponent = (code >> 4) & 0x07;
    let mantissa = (code & 0x0f) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if code & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_decode_formula(code: u8) -> i16 {
    // Even bits are inverted on the line (0x55) to keep clock recovery busy.
    let code = code ^ 0x55;
    let mantissa = ((code & 0x0f) as i32) << 4;
    let segment = (code & 0x70) >> 4;
    let magnitude = match segment {
        0 => mantissa + 8,
        _ => (mantissa + 0x108) << (segment - 1),
    };
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_ulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = ulaw_decode_formula(code as u8);
        code += 1;
    }
    table
}

const fn build_alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = alaw_decode_formula(code as u8);
        code += 1;
    }
    table
}

/// Encodes one linear sample as μ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // biased is in 132..=32767, so its top bit is bit 7 (segment 0) to bit 14 (7).
    let exponent = (31 - biased.leading_zeros()) - 7;
    let mantissa = (biased >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// Decodes one μ-law code.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes one linear sample as A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes.
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xd5
    } else {
        // One's complement keeps -1 and 0 in the same (lowest) step as G.711 wants.
        value = -value - 1;
        0x55
    };
    if value > 0x0fff {
        return 0x7f ^ mask;
    }
    // Segment 0 and 1 share the step size; from segment 2 on each doubles it.
    let segment = if value < 0x20 {
        0
    } else {
        (31 - (value as u32).leading_zeros()) - 4
    };
    let shift = if segment < 2 { 1 } else { segment };
    let mantissa = (value >> shift) & 0x0f;
    ((segment << 4) as u8 | mantissa as u8) ^ mask
}

/// Decodes one A-law code.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// The two G.711 laws as RTP payload formats (RFC 3551 §4.5.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum G711 {
    /// μ-law, payload type 0: North America and Japan, and most SIP trunks' default.
    Pcmu,
    /// A-law, payload type 8: the law of China's PSTN, so trunks from Chinese
    /// carriers usually offer it first.
    Pcma,
}

impl G711 {
    /// The static RTP payload type.
    pub fn payload_type(&self) -> u8 {
        match self {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        }
    }

    /// The law for a static payload type, `None` for anything else (including
    /// dynamic types, which SDP would have to map first).
    pub fn from_payload_type(payload_type: u8) -> Option<G711> {
        match payload_type {
            0 => Some(G711::Pcmu),
            8 => Some(G711::Pcma),
            _ => None,
        }
    }

    /// The encoding name used in SDP `a=rtpmap` lines.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            G711::Pcmu => "PCMU",
            G711::Pcma => "PCMA",
        }
    }

    /// Decodes a payload, appending one sample per byte to `out`.
    pub fn decode(&self, payload: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            G711::Pcmu => &ULAW_DECODE,
            G711::Pcma => &ALAW_DECODE,
        };
        out.extend(payload.iter().map(|&code| table[usize::from(code)]));
    }

    /// Encodes samples, appending one byte per sample to `out`.
    pub fn encode(&self, samples: &[i16], out: &mut Vec<u8>) {
        let encode = match self {
            G711::Pcmu => ulaw_encode,
            G711::Pcma => alaw_encode,
        };
        out.extend(samples.iter().map(|&sample| encode(sample)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_values() {
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_encode(-1), 0x7f);
        assert_eq!(ulaw_encode(1000), 0xce);
        assert_eq!(ulaw_encode(-1000), 0x4e);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_decode(0xce), 988);
        assert_eq!(ulaw_decode(0xfe), 8);
        assert_eq!(ulaw_decode(0x7e), -8);
    }

    #[test]
    fn alaw_known_values() {
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
        assert_eq!(alaw_encode(i16::MIN), 0x2a);
        assert_eq!(alaw_encode(1000), 0xfa);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
        assert_eq!(alaw_decode(0xfa), 1008);
    }

    #[test]
    fn every_ulaw_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            let expected = if code == 0x7f { 0xff } else { code };
            assert_eq!(ulaw_encode(ulaw_decode(code)), expected, "code {code:#04x}");
        }
    }

    #[test]
    fn every_alaw_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "code {code:#04x}");
        }
    }

    #[test]
    fn decoded_values_are_monotonic_in_the_magnitude_bits() {
        // Within one sign, a larger (uninverted) code means a larger magnitude: a
        // broken segment shift would show up as a step backwards.
        let ulaw: Vec<i16> = (0x80..=0xffu8).rev().map(ulaw_decode).collect();
        assert!(ulaw.windows(2).all(|w| w[0] < w[1]), "{ulaw:?}");
        let alaw: Vec<i16> = (0x80..=0xffu8).map(|c| alaw_decode(c ^ 0x55)).collect();
        assert!(alaw.windows(2).all(|w| w[0] < w[1]), "{alaw:?}");
    }

    /// Half a quantisation step: G.711 steps are about 1/16 of the segment's lower
    /// edge, so the error stays under roughly 1/32 of the magnitude, with a floor in
    /// the smallest segments, until the input clips beyond the largest code.
    #[test]
    fn quantisation_error_is_bounded() {
        for sample in i16::MIN..=i16::MAX {
            let x = i32::from(sample);
            let ulaw_error = (i32::from(ulaw_decode(ulaw_encode(sample))) - x).abs();
            let alaw_error = (i32::from(alaw_decode(alaw_encode(sample))) - x).abs();
            if x.abs() <= 32124 {
                assert!(
                    ulaw_error <= (x.abs() + 132) / 32 + 1,
                    "μ-law {sample}: {ulaw_error}"
                );
            } else {
                assert!(ulaw_error <= 32768 - 32124, "μ-law {sample}: {ulaw_error}");
            }
            if x.abs() <= 32256 {
                assert!(
                    alaw_error <= (x.abs() / 32).max(8) + 1,
                    "A-law {sample}: {alaw_error}"
                );
            } else {
                assert!(alaw_error <= 32768 - 32256, "A-law {sample}: {alaw_error}");
            }
        }
    }

    #[test]
    fn codec_enum_maps_payload_types_and_appends() {
        assert_eq!(G711::Pcmu.payload_type(), 0);
        assert_eq!(G711::Pcma.payload_type(), 8);
        assert_eq!(G711::from_payload_type(0), Some(G711::Pcmu));
        assert_eq!(G711::from_payload_type(8), Some(G711::Pcma));
        assert_eq!(G711::from_payload_type(101), None);
        assert_eq!(G711::from_payload_type(18), None);

        for law in [G711::Pcmu, G711::Pcma] {
            let samples = [0i16, 1000, -1000, 20000, -20000];
            let mut bytes = vec![0x42];
            law.encode(&samples, &mut bytes);
            assert_eq!(bytes.len(), 6, "{law:?} must append");
            assert_eq!(bytes[0], 0x42);
            let mut decoded = vec![7i16];
            law.decode(&bytes[1..], &mut decoded);
            assert_eq!(decoded.len(), 6, "{law:?} must append");
            assert_eq!(decoded[0], 7);
            for (original, roundtrip) in samples.iter().zip(&decoded[1..]) {
                assert!(
                    (original - roundtrip).abs() <= 700,
                    "{law:?} {original} -> {roundtrip}"
                );
            }
        }
    }
}
