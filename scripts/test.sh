#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine: installs what is missing,
# makes sure dockerd runs, checks the committed plugin components, then runs
# every test target of the workspace. Safe to re-run.
#
#   scripts/test.sh [extra cargo test arguments, e.g. -- --nocapture]
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OPS_REPO_ROOT"

ops_require_cargo
ops_install_packages
ops_install_wasm_toolchain
ops_ensure_dockerd
# BuildKit's client and a base image for the image-builder tests.
ops_install_buildx
ops_make_base_image

# The committed .wasm plugins must match their sources.
ops_log "cargo xtask plugins --check"
cargo xtask plugins --check

# The plugins' own unit tests (argument building, config checks), natively.
ops_log "cargo test (plugins workspace)"
cargo test --manifest-path plugins/Cargo.toml --workspace --lib

# One build of the world: the default (dev) profile and default features,
# the same the quick start's `cargo build` uses.
ops_log "cargo test --workspace"
cargo test --workspace "$@"
ops_log "all tests passed"
