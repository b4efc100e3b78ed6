//! Generates the gRPC code from `proto/` with a vendored protoc, so a build needs
//! nothing from the system.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Edition 2024 marks `set_var("PROTOC")` unsafe and the workspace forbids unsafe,
    // so the vendored protoc is handed to the generator explicitly instead.
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files: Vec<PathBuf> = [
        "common",
        "calls",
        "tickets",
        "work_orders",
        "events",
        "directory",
        "alerts",
        "metrics",
    ]
    .iter()
    .map(|name| proto_root.join(format!("hotline/ticket/v1/{name}.proto")))
    .chain([proto_root.join("hotline/gateway/v1/agents.proto")])
    // Only for the reflection descriptors: see the file's header.
    .chain([proto_root.join("google/rpc/error_details.proto")])
    .collect();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("hotline_descriptor.bin"))
        .compile_with_config(config, &files, std::slice::from_ref(&proto_root))?;
    println!("cargo:rerun-if-changed={}", proto_root.display());
    Ok(())
}
