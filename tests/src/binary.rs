//! Finds the `hotline` binary, building it first so the tests always run the code in
//! the tree rather than a stale build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root: the parent of this package's directory.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives inside the workspace")
}

/// Where cargo puts its output: `CARGO_TARGET_DIR` when set, as cargo itself does.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            // cargo resolves a relative target dir against the directory it runs in,
            // which for the build below is the workspace root.
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Builds `hotline` once per test process and returns the path of the debug binary.
///
/// Panics with cargo's own output when the build fails: no test can say anything
/// useful about a binary that does not build.
pub fn hotline_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // `CARGO` is set when tests run under cargo; it is the same toolchain that built
        // the tests, so the binary is built with matching settings.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args(["build", "-p", "hotline", "--bin", "hotline"])
            .current_dir(workspace_root())
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "`cargo build -p hotline --bin hotline` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let binary = target_dir().join("debug").join("hotline");
        assert!(
            binary.is_file(),
            "cargo reported success but {} does not exist",
            binary.display()
        );
        binary
    })
}
