use std::time::{Duration, Instant};

use super::*;

fn get() -> Method {
    Method::from_token("GET").unwrap()
}

/// RFC 2617 §3.5.
#[test]
fn rfc2617_example() {
    let challenge = Challenge::parse(
        r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#
            // As the message parser delivers it: folded lines joined.
            .replace('\n', " ")
            .as_str(),
    )
    .unwrap();
    assert_eq!(challenge.qop, vec!["auth", "auth-int"]);
    assert_eq!(challenge.algorithm, DigestAlgorithm::Md5);
    let secret = ClientSecret {
        username: "Mufasa",
        password: "Circle Of Life",
    };
    let credentials =
        answer_challenge(&challenge, secret, &get(), "/dir/index.html", "0a4f113b", 1).unwrap();
    assert_eq!(credentials.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(
        credentials.opaque.as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
    let written = credentials.to_string();
    assert!(written.contains("nc=00000001"));
    assert_eq!(Credentials::parse(&written).unwrap(), credentials);
}

/// RFC 7616 §3.9.1, with both algorithms.
#[test]
fn rfc7616_examples() {
    let secret = ClientSecret {
        username: "Mufasa",
        password: "Circle of Life",
    };
    for (algorithm, expected) in [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let challenge = Challenge::parse(&format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm},
               nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
               opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        )
        .replace('\n', " "))
        .unwrap();
        let credentials = answer_challenge(
            &challenge,
            secret,
            &get(),
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            1,
        )
        .unwrap();
        assert_eq!(credentials.response, expected, "{algorithm}");
    }
}

#[test]
fn legacy_challenge_without_qop() {
    let challenge = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
    let secret = ClientSecret {
        username: "u",
        password: "p",
    };
    let credentials =
        answer_challenge(&challenge, secret, &Method::Register, "sip:r", "c", 1).unwrap();
    assert_eq!(credentials.qop_auth, None);
    let ha1 = compute_ha1(DigestAlgorithm::Md5, "u", "r", "p");
    let ha2 = DigestAlgorithm::Md5.hash_hex(b"REGISTER:sip:r");
    assert_eq!(
        credentials.response,
        DigestAlgorithm::Md5.hash_hex(format!("{ha1}:n:{ha2}").as_bytes())
    );
}

#[test]
fn rejects_malformed_headers() {
    assert_eq!(
        Challenge::parse(r#"Basic realm="x""#),
        Err(DigestError::NotDigest("Basic".into()))
    );
    assert_eq!(
        Challenge::parse(r#"Digest nonce="x""#),
        Err(DigestError::MissingParam("realm"))
    );
    assert!(matches!(
        Challenge::parse(r#"Digest realm="x, nonce=y"#),
        Err(DigestError::Malformed { .. })
    ));
    assert_eq!(
        Challenge::parse(r#"Digest realm="x", nonce="y", algorithm=SHA-512-256"#),
        Err(DigestError::UnsupportedAlgorithm("SHA-512-256".into()))
    );
    assert!(matches!(
        Credentials::parse(
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=1, cnonce="c""#
        ),
        Err(DigestError::InvalidNonceCount(_))
    ));
}

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn register_with(server: &DigestServer, now: Instant, password: &str, nc: u32) -> Credentials {
    let challenges = server.challenges(now, false);
    let challenge = pick_challenge(&challenges).unwrap();
    let secret = ClientSecret {
        username: "agent7",
        password,
    };
    answer_challenge(
        challenge,
        secret,
        &Method::Register,
        "sip:12351.example.cn",
        "cn0nce",
        nc,
    )
    .unwrap()
}

#[test]
fn server_round_trip_prefers_sha256() {
    let start = Instant::now();
    let mut server = DigestServer::new("12351.example.cn", SECRET, start);
    let challenges = server.challenges(start, false);
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0].algorithm, DigestAlgorithm::Sha256);
    assert_eq!(
        Challenge::parse(&challenges[0].to_string()).unwrap(),
        challenges[0]
    );

    let credentials = register_with(&server, start, "secret", 1);
    assert_eq!(credentials.algorithm, DigestAlgorithm::Sha256);
    let ha1 = compute_ha1(
        DigestAlgorithm::Sha256,
        "agent7",
        "12351.example.cn",
        "secret",
    );
    let parsed = Credentials::parse(&credentials.to_string()).unwrap();
    assert_eq!(
        server.verify(&parsed, &Method::Register, &ha1, start),
        Ok(())
    );
}

#[test]
fn server_refuses_wrong_password_forged_nonce_and_replay() {
    let start = Instant::now();
    let mut server = DigestServer::new("12351.example.cn", SECRET, start);
    let ha1 = compute_ha1(
        DigestAlgorithm::Sha256,
        "agent7",
        "12351.example.cn",
        "secret",
    );

    let wrong = register_with(&server, start, "guess", 1);
    assert_eq!(
        server.verify(&wrong, &Method::Register, &ha1, start),
        Err(VerifyError::WrongResponse)
    );

    let mut forged = register_with(&server, start, "secret", 1);
    forged.nonce = format!("{:016x}{}", 5, "0".repeat(32));
    assert_eq!(
        server.verify(&forged, &Method::Register, &ha1, start),
        Err(VerifyError::UnknownNonce)
    );

    let good = register_with(&server, start, "secret", 1);
    assert_eq!(server.verify(&good, &Method::Register, &ha1, start), Ok(()));
    assert_eq!(
        server.verify(&good, &Method::Register, &ha1, start),
        Err(VerifyError::ReplayedNonceCount(1))
    );
    // The next request with the same nonce and a higher count is fine.
    let mut next = good.clone();
    next.qop_auth = Some(("cn0nce".into(), 2));
    next.response = compute_response(&ha1, &next.response_inputs("REGISTER"));
    assert_eq!(server.verify(&next, &Method::Register, &ha1, start), Ok(()));
    // A different method invalidates the response.
    let mut other = next.clone();
    other.qop_auth = Some(("cn0nce".into(), 3));
    assert_eq!(
        server.verify(&other, &Method::Invite, &ha1, start),
        Err(VerifyError::WrongResponse)
    );
}

#[test]
fn server_reports_stale_nonce_only_with_right_password() {
    let start = Instant::now();
    let mut server = DigestServer::new("12351.example.cn", SECRET, start)
        .with_nonce_lifetime(Duration::from_secs(60));
    let ha1 = compute_ha1(
        DigestAlgorithm::Sha256,
        "agent7",
        "12351.example.cn",
        "secret",
    );
    let credentials = register_with(&server, start, "secret", 1);
    let later = start + Duration::from_secs(61);
    assert_eq!(
        server.verify(&credentials, &Method::Register, &ha1, later),
        Err(VerifyError::StaleNonce)
    );
    let wrong = register_with(&server, start, "guess", 1);
    assert_eq!(
        server.verify(&wrong, &Method::Register, &ha1, later),
        Err(VerifyError::WrongResponse)
    );
    let fresh = server.challenges(later, true);
    assert!(fresh[0].stale);
    assert!(fresh[0].to_string().contains("stale=true"));
}

#[test]
fn server_refuses_other_realm_and_unoffered_algorithm() {
    let start = Instant::now();
    let mut server = DigestServer::new("12351.example.cn", SECRET, start)
        .with_algorithms(&[DigestAlgorithm::Sha256]);
    let mut credentials = register_with(&server, start, "secret", 1);
    credentials.algorithm = DigestAlgorithm::Md5;
    assert_eq!(
        server.verify(&credentials, &Method::Register, "x", start),
        Err(VerifyError::AlgorithmNotOffered(DigestAlgorithm::Md5))
    );
    credentials.realm = "elsewhere".into();
    assert_eq!(
        server.verify(&credentials, &Method::Register, "x", start),
        Err(VerifyError::WrongRealm("elsewhere".into()))
    );
}

#[test]
fn headers_accessors() {
    let mut headers = Headers::new();
    headers.push(
        HeaderName::WwwAuthenticate,
        r#"Digest realm="a", nonce="1", algorithm=SHA-256, qop="auth""#,
    );
    headers.push(
        HeaderName::WwwAuthenticate,
        r#"Digest realm="a", nonce="1", qop="auth""#,
    );
    headers.push(HeaderName::WwwAuthenticate, r#"Basic realm="a""#);
    let challenges = headers.digest_challenges(false);
    assert_eq!(challenges.len(), 2);
    assert!(headers.digest_challenges(true).is_empty());
    headers.push(
        HeaderName::Authorization,
        r#"Digest username="u", realm="a", nonce="1", uri="sip:a", response="00""#,
    );
    assert!(headers.digest_credentials(false, "a").unwrap().is_ok());
    assert!(headers.digest_credentials(false, "b").is_none());
}
