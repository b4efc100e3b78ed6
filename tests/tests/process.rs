//! The `hotline` process when things are not as they should be: a bad settings file, a
//! restart on an existing data directory, an organisation file that does not validate.

use std::ffi::OsStr;
use std::time::Duration;

use anyhow::ensure;
use hotline_api::ticket::v1::directory_service_client::DirectoryServiceClient;
use hotline_api::ticket::v1::{GetOrganisationRequest, ListOrganisationsRequest, WhoAmIRequest};
use hotline_tests::{AuthedChannel, HotlineServer, issue_token, run_hotline};

/// `hotline serve` exits with EX_USAGE when its configuration cannot be used.
const EXIT_CONFIG: i32 = 64;
/// Limit for commands that finish on their own in well under a second.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The users of the sample province, each printed with a token on first start.
const SAMPLE_USERS: [&str; 9] = [
    "admin",
    "agent01",
    "lawyer01",
    "dispatcher01",
    "supervisor01",
    "tianhe01",
    "haizhu01",
    "gateway",
    "dispatcher-service",
];

#[tokio::test]
async fn an_invalid_setting_exits_64_and_names_the_key() -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let config = scratch.path().join("hotline.toml");
    std::fs::write(&config, "[ticket_core]\ncollective_threshold = 0\n")?;
    let data_dir = scratch.path().join("data");
    let output = run_hotline(
        [
            OsStr::new("serve"),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--data-dir"),
            data_dir.as_os_str(),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
        ],
        COMMAND_TIMEOUT,
    )
    .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.code() == Some(EXIT_CONFIG),
        "expected exit {EXIT_CONFIG}, got {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    ensure!(
        stderr.contains("collective_threshold"),
        "stderr does not name the bad key:\n{stderr}"
    );
    ensure!(
        !stdout.contains("listening on"),
        "a server with bad settings must not listen:\n{stdout}"
    );
    // Settings are validated before anything is touched.
    ensure!(
        !data_dir.exists(),
        "bad settings still created the data directory {}",
        data_dir.display()
    );
    Ok(())
}

#[tokio::test]
async fn tokens_are_shown_on_the_first_start_only() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut first = HotlineServer::start(data.path()).await?;
    let printed: Vec<&str> = first.tokens().keys().map(String::as_str).collect();
    let mut expected = SAMPLE_USERS.to_vec();
    expected.sort_unstable();
    ensure!(
        printed == expected,
        "the first start printed tokens for {printed:?}, expected {expected:?}"
    );
    let agent_token = first.token("agent01")?;
    let who = whoami(&first, &agent_token).await?;
    ensure!(who == "agent01", "agent01's token belongs to {who}");
    // SIGKILL rather than SIGTERM: this test is about tokens, and a SIGTERM this soon
    // after start meets the race `sigterm_right_after_listening_drains_and_exits_0` shows.
    first.kill().await?;

    let second = HotlineServer::start(data.path()).await?;
    ensure!(
        second.tokens().is_empty(),
        "the second start printed tokens again: {:?}",
        second.startup_output()
    );
    let leaked: Vec<&String> = first
        .tokens()
        .values()
        .filter(|token| {
            second
                .startup_output()
                .iter()
                .any(|line| line.contains(*token))
        })
        .collect();
    ensure!(
        leaked.is_empty(),
        "the second start printed a first-start token"
    );

    // The tokens shown once keep working, and the admin command issues more.
    let who = whoami(&second, &agent_token).await?;
    ensure!(
        who == "agent01",
        "agent01's first token now belongs to {who}"
    );
    let fresh = issue_token(data.path(), "lawyer01").await?;
    let who = whoami(&second, &fresh).await?;
    ensure!(
        who == "lawyer01",
        "an issued lawyer01 token belongs to {who}"
    );
    Ok(())
}

/// `listening on` tells supervisors and scripts the server is up, so a SIGTERM sent
/// right after it must already get the graceful drain and exit 0.
#[tokio::test]
async fn sigterm_right_after_listening_drains_and_exits_0() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut server = HotlineServer::start(data.path()).await?;
    let status = server.terminate().await?;
    ensure!(
        status.success(),
        "SIGTERM right after `listening on` should drain and exit 0, got {status}"
    );
    Ok(())
}

async fn whoami(server: &HotlineServer, token: &str) -> anyhow::Result<String> {
    let mut directory = server.directory_client(token).await?;
    Ok(directory
        .who_am_i(WhoAmIRequest {})
        .await?
        .into_inner()
        .name)
}

/// A valid industry union, listed before the invalid entry to show that nothing of the
/// file is kept when any part of it is wrong.
const CONSTRUCTION_UNION: &str = r#"
[[organisation]]
code = "GZ-BUILD"
name = "广州市建筑业工会"
kind = "industry"
parent = "440100"
region_code = "440100"
industry_scope = ["E"]
"#;

/// 999999 is not a GB/T 2260 region.
const UNKNOWN_REGION_UNION: &str = r#"
[[organisation]]
code = "999999"
name = "不存在区总工会"
kind = "county"
parent = "440100"
region_code = "999999"
"#;

#[tokio::test]
async fn an_import_with_an_unknown_region_changes_nothing() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let files = tempfile::tempdir()?;
    let server = HotlineServer::start(data.path()).await?;
    let mut directory = server.directory_client(&server.token("admin")?).await?;
    let before = organisation_count(&mut directory).await?;
    ensure!(before > 0, "the sample province has no organisations");

    let bad_file = files.path().join("bad.toml");
    std::fs::write(
        &bad_file,
        format!("{CONSTRUCTION_UNION}{UNKNOWN_REGION_UNION}"),
    )?;
    let output = import_orgs(&bad_file, data.path()).await?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        !output.status.success(),
        "importing an unknown region succeeded:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    ensure!(
        stderr.contains("region_code") && stderr.contains("999999"),
        "the error does not name the entry and field:\n{stderr}"
    );
    let after = organisation_count(&mut directory).await?;
    ensure!(
        after == before,
        "a failed import changed the organisations: {before} before, {after} after"
    );
    let kept = directory
        .get_organisation(GetOrganisationRequest {
            code: "GZ-BUILD".to_owned(),
        })
        .await;
    ensure!(
        kept.as_ref()
            .is_err_and(|status| status.code() == tonic::Code::NotFound),
        "the valid part of a failed import was kept: {kept:?}"
    );

    // The same valid entry alone imports: the count above would have seen a change.
    let good_file = files.path().join("good.toml");
    std::fs::write(&good_file, CONSTRUCTION_UNION)?;
    let output = import_orgs(&good_file, data.path()).await?;
    ensure!(
        output.status.success(),
        "importing a valid organisation failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after_good = organisation_count(&mut directory).await?;
    ensure!(
        after_good == before + 1,
        "a valid import of one organisation went from {before} to {after_good}"
    );
    Ok(())
}

async fn import_orgs(
    file: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<std::process::Output> {
    run_hotline(
        [
            OsStr::new("admin"),
            OsStr::new("import-orgs"),
            file.as_os_str(),
            OsStr::new("--data-dir"),
            data_dir.as_os_str(),
        ],
        COMMAND_TIMEOUT,
    )
    .await
}

async fn organisation_count(
    directory: &mut DirectoryServiceClient<AuthedChannel>,
) -> anyhow::Result<usize> {
    let all = directory
        .list_organisations(ListOrganisationsRequest::default())
        .await?
        .into_inner();
    Ok(all.organisations.len())
}
