//! The browser softphone page and its API, on the gateway's WebSocket listeners: the
//! page and its assets (JsSIP built in) over http and https, signing in with the SIP
//! password (and the failed-auth throttle it shares with REGISTER), Ready and pause,
//! the event stream, and a trunk call from SIPp ringing the page with the caller's
//! history while the agent's SIP side registers over the same port.

use std::time::{Duration, Instant};

use hotline_api::ticket::v1::ticket_service_client::TicketServiceClient;
use hotline_tests::gateway::{
    GatewayWorld, SIP_PASSWORD, peer_available, run_sipp, sipp_caller_args, write_ulaw_tone,
};
use hotline_tests::http::WebClient;
use hotline_tests::sample::unpaid_wages_ticket;
use hotline_tests::ws_phone::{WsPhone, response_text};
use serde_json::json;
use sip_gateway::registrar::SipRole;
use sip_proto::Method;

const CALLER: &str = "13800138000";

fn committed_bundle() -> anyhow::Result<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sip-gateway/web/dist/jssip.min.js");
    Ok(std::fs::read(path)?)
}

async fn ws_world() -> anyhow::Result<GatewayWorld> {
    GatewayWorld::start(|config| {
        config.ws_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await
}

async fn check_assets(client: &WebClient) -> anyhow::Result<()> {
    let page = client.get("/").await?;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-cache");
    let html = page.text();
    for id in [
        "signin-form",
        "signin-user",
        "signin-password",
        "signin-button",
        "signin-error",
        "seat",
        "seat-user",
        "sip-status",
        "agent-state",
        "ready-button",
        "pause-button",
        "pause-reason",
        "signout-button",
        "incoming",
        "caller-number",
        "caller-history",
        "caller-history-empty",
        "answer-button",
        "hangup-button",
        "call-state",
        "transfer-lawyers-button",
        "dtmf-pad",
        "remote-audio",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "the page has #{id}");
    }
    for digit in ["0", "1", "5", "9", "*", "#"] {
        assert!(html.contains(&format!("data-digit=\"{digit}\"")));
    }
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "nothing is loaded from another site"
    );
    for (path, content_type) in [
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/jssip.min.js", "text/javascript; charset=utf-8"),
    ] {
        let asset = client.get(path).await?;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), content_type, "{path}");
        assert_eq!(asset.header("cache-control"), "no-cache", "{path}");
        assert!(!asset.body.is_empty(), "{path}");
    }
    let bundle = client.get("/jssip.min.js").await?;
    assert_eq!(
        bundle.body,
        committed_bundle()?,
        "the committed bundle is served"
    );
    let text = bundle.text();
    assert!(
        text.contains("\nvar JsSIP=(()=>"),
        "it defines the global JsSIP"
    );
    let package: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip-gateway/web/package.json"),
    )?)?;
    let version = package["devDependencies"]["jssip"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with(&format!("/* JsSIP {version} ")),
        "the bundle is of the pinned jssip {version}"
    );
    assert!(bundle.text().contains("WebSocketInterface"));
    assert!(client.get("/app.js").await?.text().contains("renegotiate"));
    let missing = client.get("/api/nothing").await?;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()?["field"], "path");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_assets_are_served_over_ws_and_wss_listeners() -> anyhow::Result<()> {
    let world = GatewayWorld::start(|config| {
        config.ws_listen = Some("127.0.0.1:0".parse().expect("an address"));
        config.wss_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    let plain = WebClient::plain(world.ws.expect("ws is on"));
    check_assets(&plain).await?;
    let cert = world.dir.path().join("gateway/tls/self-signed-cert.pem");
    let mut secure = WebClient::tls(world.wss.expect("wss is on"), &cert)?;
    check_assets(&secure).await?;

    // Over https the session cookie is Secure too.
    let signed_in = secure.sign_in("agent01", SIP_PASSWORD).await?;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let cookie = signed_in.header("set-cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let state = secure.get("/api/agent").await?.json()?;
    assert_eq!(state["state"], "paused", "a seat starts paused: {state}");
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_names_the_field_and_never_tells_which_user_exists() -> anyhow::Result<()> {
    let world = ws_world().await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    let client = WebClient::plain(world.ws.expect("ws is on"));

    let wrong = client
        .post(
            "/api/session",
            &json!({"username": "agent01", "password": "not-the-password"}),
        )
        .await?;
    assert_eq!(wrong.status, 401);
    let wrong = wrong.json()?;
    assert_eq!(wrong["field"], "password");
    assert!(wrong["error"].as_str().is_some_and(|e| !e.is_empty()));

    let unknown = client
        .post(
            "/api/session",
            &json!({"username": "nobody07", "password": SIP_PASSWORD}),
        )
        .await?;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.json()?,
        wrong,
        "the same answer for an unknown user"
    );

    for (body, field) in [
        (json!({"username": "agent01"}), "password"),
        (json!({"password": SIP_PASSWORD}), "username"),
        (
            json!({"username": "", "password": SIP_PASSWORD}),
            "username",
        ),
        (json!({"username": 7, "password": SIP_PASSWORD}), "username"),
        (
            json!({"username": "Agent 01", "password": SIP_PASSWORD}),
            "username",
        ),
    ] {
        let refused = client.post("/api/session", &body).await?;
        assert_eq!(refused.status, 400, "{body}");
        assert_eq!(refused.json()?["field"], field, "{body}");
    }
    let not_json = client
        .request("POST", "/api/session", Some("{username: agent01"))
        .await?;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.json()?["field"], "body");

    for (method, path) in [
        ("GET", "/api/agent"),
        ("POST", "/api/agent/ready"),
        ("GET", "/api/agent/events"),
        ("DELETE", "/api/session"),
    ] {
        let refused = client.request(method, path, None).await?;
        assert_eq!(refused.status, 401, "{method} {path}");
        assert_eq!(
            refused.json()?,
            json!({"error": "sign in first", "field": "session"})
        );
    }
    let mut forged = client.clone();
    forged.cookie = Some(format!("hotline_session={}", "ab".repeat(16)));
    assert_eq!(forged.get("/api/agent").await?.status, 401);
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_are_throttled_with_register() -> anyhow::Result<()> {
    let world = ws_world().await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    let ws = world.ws.expect("ws is on");
    let client = WebClient::plain(ws);
    let guess = json!({"username": "agent01", "password": "guess-number-n"});
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(client.post("/api/session", &guess).await?.status, 401);
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "not slowed yet"
        );
    }
    let started = Instant::now();
    assert_eq!(client.post("/api/session", &guess).await?.status, 401);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the sixth failure within a minute is answered late"
    );

    // Enough guesses at once to pass the block threshold (20 failures).
    let guesses: Vec<_> = (0..16)
        .map(|_| {
            let (client, guess) = (client.clone(), guess.clone());
            tokio::spawn(async move { client.post("/api/session", &guess).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await??.status);
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );

    // Now even the right password is refused from this address, with Retry-After…
    let mut honest = client.clone();
    let blocked = honest.sign_in("agent01", SIP_PASSWORD).await?;
    assert_eq!(blocked.status, 429, "{}", blocked.text());
    assert_eq!(blocked.json()?["field"], "password");
    let retry: u64 = blocked.header("retry-after").parse()?;
    assert!((800..=901).contains(&retry), "about 15 minutes: {retry}");

    // …and so is a REGISTER over the WebSocket on the same port: one throttle.
    let stream = tokio::net::TcpStream::connect(ws).await?;
    let mut phone = WsPhone::connect(stream, &format!("ws://{ws}/ws")).await?;
    let register = phone.register_text("agent01", None);
    phone.send(register).await?;
    assert!(
        phone
            .receive_response(Duration::from_secs(2))
            .await
            .is_err(),
        "a blocked source gets no answer to REGISTER"
    );
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_agent_goes_ready_and_pauses_and_the_event_stream_follows() -> anyhow::Result<()>
{
    let world = ws_world().await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    world.set_sip_password("lawyer01", SipRole::Lawyer).await?;
    let ws = world.ws.expect("ws is on");
    let mut client = WebClient::plain(ws);

    let signed_in = client.sign_in("agent01", SIP_PASSWORD).await?;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    let cookie = signed_in.header("set-cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let token = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, token)| token.to_owned())
        .unwrap_or_default();
    assert_eq!(token.len(), 32, "128 random bits in hex");
    let body = signed_in.json()?;
    assert_eq!(body["username"], "agent01");
    assert_eq!(body["role"], "agent");
    assert_eq!(body["sip"]["uri"], "sip:agent01@127.0.0.1");
    assert_eq!(body["sip"]["realm"], "12351.hotline");
    // Signing in logs in, paused until the person presses Ready.
    assert_eq!(body["state"]["state"], "paused", "{body}");
    assert_eq!(body["state"]["pause_reason"], "signed_in", "{body}");

    let state = client.get("/api/agent").await?.json()?;
    assert_eq!(state["state"], "paused");
    assert_eq!(state["queues"], json!(["agents", "hardship"]));

    let mut events = client.events("/api/agent/events").await?;
    let first = events.next_named("state", Duration::from_secs(5)).await?;
    assert_eq!(first.data["state"], "paused");
    let ready = client.post("/api/agent/ready", &json!({})).await?;
    assert_eq!(ready.json()?["state"], "ready");
    let event = events.next_named("state", Duration::from_secs(5)).await?;
    assert_eq!(event.data["state"], "ready");

    let paused = client
        .post("/api/agent/pause", &json!({"reason": "training"}))
        .await?;
    assert_eq!(paused.status, 200, "{}", paused.text());
    assert_eq!(paused.json()?["state"], "paused");
    let event = events.next_named("state", Duration::from_secs(5)).await?;
    assert_eq!(event.data["state"], "paused");
    assert_eq!(event.data["pause_reason"], "training");

    let no_reason = client.post("/api/agent/pause", &json!({})).await?;
    assert_eq!(no_reason.status, 400);
    assert_eq!(no_reason.json()?["field"], "reason");

    let ready = client.post("/api/agent/ready", &json!({})).await?;
    assert_eq!(ready.json()?["state"], "ready");
    let event = events.next_named("state", Duration::from_secs(5)).await?;
    assert_eq!(event.data["state"], "ready");

    // Signing in again (a reloaded page) keeps the state and is a new session.
    let mut again = WebClient::plain(ws);
    let second = again.sign_in("agent01", SIP_PASSWORD).await?;
    assert_eq!(second.json()?["state"]["state"], "ready");

    // A lawyer joins the lawyers' queue.
    let mut lawyer = WebClient::plain(ws);
    let lawyer_in = lawyer.sign_in("lawyer01", SIP_PASSWORD).await?.json()?;
    assert_eq!(lawyer_in["role"], "lawyer");
    assert_eq!(lawyer_in["state"]["queues"], json!(["lawyers"]));

    // Signing out logs out, forgets the session and ends its event stream.
    let out = client.request("DELETE", "/api/session", None).await?;
    assert_eq!(out.status, 200, "{}", out.text());
    assert_eq!(out.json()?["state"], "logged_out");
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(client.get("/api/agent").await?.status, 401);
    loop {
        match events.next(Duration::from_secs(5)).await? {
            None => break,
            Some(event) => assert_eq!(event.name, "state", "{event:?}"),
        }
    }
    assert_eq!(
        again.get("/api/agent").await?.json()?["state"],
        "logged_out",
        "the other session still works and sees the agent logged out"
    );
    world.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_call_rings_the_page_with_the_callers_history() -> anyhow::Result<()> {
    if !peer_available("sipp") {
        return Ok(());
    }
    let world = ws_world().await?;
    world.set_sip_password("agent01", SipRole::Agent).await?;
    let ws = world.ws.expect("ws is on");

    // A past ticket of this caller, as an agent registered it.
    let channel = hotline_tests::connect(world.core_addr).await?;
    let token = hotline_tests::BearerToken::new(&world.tokens["agent01"])?;
    let mut tickets = TicketServiceClient::with_interceptor(channel, token);
    let past = tickets
        .create_ticket(unpaid_wages_ticket("web-history-1", CALLER))
        .await?
        .into_inner();

    // The page signs in; its SIP side registers over the WebSocket on the same port.
    let mut client = WebClient::plain(ws);
    assert_eq!(client.sign_in("agent01", SIP_PASSWORD).await?.status, 200);
    let ready = client.post("/api/agent/ready", &json!({})).await?;
    assert_eq!(ready.json()?["state"], "ready");
    let mut events = client.events("/api/agent/events").await?;
    let stream = tokio::net::TcpStream::connect(ws).await?;
    let mut phone = WsPhone::connect(stream, &format!("ws://{ws}/ws")).await?;
    phone.register("agent01").await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get("/api/agent").await?.json()?["registered"] != true {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the page's phone never registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let work = world.dir.path().join("caller");
    std::fs::create_dir_all(&work)?;
    write_ulaw_tone(&work.join("tone.ulaw"), 1000.0, 30.0)?;
    let args = sipp_caller_args(&world, '0', 3000)?;
    let caller = tokio::spawn(async move { run_sipp(&work, &args, Duration::from_secs(60)).await });

    let ringing = events
        .next_named("ringing", Duration::from_secs(20))
        .await?;
    assert_eq!(ringing.data["caller_number"], CALLER);
    assert_eq!(ringing.data["queue"], "agents");
    assert_eq!(ringing.data["history_error"], "", "{:?}", ringing.data);
    let history = ringing.data["history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["number"], past.number.as_str());
    assert_eq!(history[0]["topic"], "欠薪");
    assert_eq!(history[0]["kind"], "request");
    assert_eq!(history[0]["summary"], "工地拖欠工资三个月");
    assert_eq!(history[0]["date"].as_str().map(str::len), Some(10));
    let call = ringing.data["call"].as_str().unwrap_or_default().to_owned();
    assert!(!call.is_empty());
    let state = client.get("/api/agent").await?.json()?;
    assert_eq!(state["state"], "ringing");

    // The browser answers; the page hears it connected, then ended.
    let invite = phone
        .receive_request(Method::Invite, Duration::from_secs(20))
        .await?;
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let sdp = format!(
        "v=0\r\no=- 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        rtp.local_addr()?.port()
    );
    phone
        .send(response_text(&invite, 200, "OK", "page1", &sdp))
        .await?;
    phone
        .receive_request(Method::Ack, Duration::from_secs(5))
        .await?;
    let connected = events
        .next_named("connected", Duration::from_secs(10))
        .await?;
    assert_eq!(connected.data["call"], call.as_str());
    let bye = phone
        .receive_request(Method::Bye, Duration::from_secs(20))
        .await?;
    phone
        .send(response_text(&bye, 200, "OK", "page1", ""))
        .await?;
    // The agent's state follows the call: talking, then free again.
    let mut seen = Vec::new();
    loop {
        let state = events.next_named("state", Duration::from_secs(10)).await?;
        let word = state.data["state"].as_str().unwrap_or_default().to_owned();
        seen.push(word.clone());
        if seen.iter().any(|w| w == "talking") && (word == "ready" || word == "wrap_up") {
            break;
        }
    }
    let (status, output) = caller.await??;
    assert!(status.success(), "SIPp caller failed:\n{output}");
    world.stop().await;
    Ok(())
}
