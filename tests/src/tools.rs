//! Running external programs (the hotline binary's admin commands, grpcurl) with a limit.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

/// The first executable called `name` on `PATH`, as `command -v` would find it.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs a command to completion with its output captured; a command still running after
/// `limit` is killed and reported as an error.
pub async fn run_with_limit(mut command: Command, limit: Duration) -> anyhow::Result<Output> {
    let program = format!("{:?}", command.as_std().get_program());
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(output) => output.with_context(|| format!("cannot wait for {program}")),
        // Dropping the child on timeout kills it (kill_on_drop).
        Err(_) => bail!("{program} did not finish within {limit:?}"),
    }
}
