//! `hotline report` against the real binary: a server on a fresh data directory, a few
//! tickets created over gRPC, then the monthly report exported as CSV and as XLSX and
//! read back, and the command's answers to a bad argument and a bad token.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use calamine::{Data, Reader, Xlsx, open_workbook};
use hotline_api::BearerToken;
use hotline_api::ticket::v1 as pb;
use pb::ticket_service_client::TicketServiceClient;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const HOTLINE: &str = env!("CARGO_BIN_EXE_hotline");
/// The first start loads the segmentation dictionary and seeds the database.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const TICKETS: usize = 3;

struct Server {
    _child: Child,
    address: String,
    tokens: HashMap<String, String>,
}

/// Starts `hotline serve` and reads the sample users' tokens and the bound address from
/// its first-start output.
async fn start(data_dir: &Path) -> Server {
    let mut child = Command::new(HOTLINE)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--sip-listen",
            "127.0.0.1:0",
            "--agent-api-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("HOTLINE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("hotline serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut tokens = HashMap::new();
    let address = tokio::time::timeout(START_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(address) = line.strip_prefix("listening on ") {
                return address.trim().to_owned();
            }
            // "  <user> <role> <token>"
            let fields: Vec<&str> = line.split_whitespace().collect();
            if line.starts_with("  ") && fields.len() == 3 && fields[2].starts_with("hl_") {
                tokens.insert(fields[0].to_owned(), fields[2].to_owned());
            }
        }
        panic!("hotline serve ended before it was listening");
    })
    .await
    .expect("hotline serve listening in time");
    // Keep reading, so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        _child: child,
        address,
        tokens,
    }
}

impl Server {
    fn token(&self, user: &str) -> &str {
        self.tokens
            .get(user)
            .unwrap_or_else(|| panic!("no first-start token for {user}: {:?}", self.tokens))
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

fn wage_ticket(phone: &str) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        channel: pb::Channel::Phone as i32,
        kind: pb::TicketKind::Request as i32,
        topic: "欠薪".into(),
        caller: Some(pb::Caller {
            phone: phone.into(),
            name: "王师傅".into(),
            ..Default::default()
        }),
        employer: Some(pb::Employer {
            name: "广州某某建筑劳务有限公司".into(),
            region_code: "440106".into(),
            industry_code: "47".into(),
            ..Default::default()
        }),
        place_region_code: "440106".into(),
        place_detail: "天河区某工地".into(),
        workers: 1,
        description: "工地老板拖欠工资三个月，共欠薪两万元".into(),
        ..Default::default()
    }
}

async fn create_tickets(server: &Server) {
    let channel = tonic::transport::Endpoint::from_shared(server.url())
        .expect("address")
        .connect()
        .await
        .expect("connect");
    let bearer = BearerToken::new(server.token("agent01")).expect("a valid token");
    let mut tickets = TicketServiceClient::with_interceptor(channel, bearer);
    for i in 0..TICKETS {
        tickets
            .create_ticket(wage_ticket(&format!("1380013800{i}")))
            .await
            .expect("ticket created");
    }
}

/// Runs `hotline report ARGS` with the server and token in the environment.
async fn report(server: &Server, token: &str, args: &[&str]) -> Output {
    let child = Command::new(HOTLINE)
        .arg("report")
        .args(args)
        .env("HOTLINE_SERVER", server.url())
        .env("HOTLINE_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("hotline report starts");
    tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .expect("hotline report ends in time")
        .expect("hotline report output")
}

fn today_in_china() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn monthly_report_as_csv_and_xlsx() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(&dir.path().join("data")).await;
    create_tickets(&server).await;
    let supervisor = server.token("supervisor01");
    let today = today_in_china();

    let csv_path = dir.path().join("月报.csv");
    let csv_out = csv_path.to_str().expect("utf-8 path");
    let output = report(
        &server,
        supervisor,
        &[
            "--period", "month", "--date", &today, "--format", "csv", "--out", csv_out,
        ],
    )
    .await;
    assert!(output.status.success(), "csv export: {}", stderr(&output));
    let bytes = std::fs::read(&csv_path).expect("csv written");
    assert!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "UTF-8 byte-order mark"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"项目,数值,分子,分母,口径"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("单位代码,单位名称,交办件数,按期办结率")),
        "{text}"
    );
    let count_line = lines
        .iter()
        .find(|l| l.starts_with("工单总数,"))
        .unwrap_or_else(|| panic!("no 工单总数 row: {text}"));
    assert_eq!(
        count_line.split(',').nth(1),
        Some(TICKETS.to_string().as_str())
    );
    assert!(lines.contains(&"诉求,工单数,占比"), "{text}");
    assert!(
        lines.contains(&format!("欠薪,{TICKETS},100.0%").as_str()),
        "{text}"
    );
    assert!(text.contains("\r\n\r\n"), "a blank line between sections");

    let xlsx_path = dir.path().join("月报.xlsx");
    let output = report(
        &server,
        supervisor,
        &[
            "--period",
            "month",
            "--date",
            &today,
            "--format",
            "xlsx",
            "--out",
            xlsx_path.to_str().expect("utf-8 path"),
        ],
    )
    .await;
    assert!(output.status.success(), "xlsx export: {}", stderr(&output));
    let mut workbook: Xlsx<_> = open_workbook(&xlsx_path).expect("the workbook opens");
    let names = workbook.sheet_names();
    for sheet in [
        "汇总",
        "各单位",
        "按渠道",
        "按诉求",
        "按用人单位",
        "超期工单",
    ] {
        assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
    }
    let summary = workbook.worksheet_range("汇总").expect("summary sheet");
    let tickets = summary
        .rows()
        .find(|row| row.first() == Some(&Data::String("工单总数".into())))
        .and_then(|row| row.get(1).cloned());
    assert_eq!(tickets, Some(Data::Float(TICKETS as f64)));
}

#[tokio::test]
async fn bad_arguments_and_tokens_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(&dir.path().join("data")).await;
    let out = dir.path().join("r.csv");
    let out = out.to_str().expect("utf-8 path");

    let week = report(
        &server,
        server.token("supervisor01"),
        &["--period", "week", "--out", out],
    )
    .await;
    assert_eq!(week.status.code(), Some(64), "{}", stderr(&week));
    assert!(stderr(&week).contains("--period"), "{}", stderr(&week));

    let date = report(
        &server,
        server.token("supervisor01"),
        &["--period", "day", "--date", "23/11/2026"],
    )
    .await;
    assert_eq!(date.status.code(), Some(64), "{}", stderr(&date));
    assert!(stderr(&date).contains("--date"), "{}", stderr(&date));

    let refused = report(
        &server,
        "hl_not-a-token",
        &["--period", "month", "--out", out],
    )
    .await;
    assert!(!refused.status.success());
    assert_ne!(
        refused.status.code(),
        Some(64),
        "a refused token is not a usage error"
    );
    assert!(stderr(&refused).contains("token"), "{}", stderr(&refused));
    assert!(!Path::new(out).exists(), "nothing written on failure");
}
