#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine: installs what is missing,
# makes sure dockerd runs, checks the committed plugin components, then runs
# every test target of the workspace. Safe to re-run.
#
#   scripts/test.sh                  everything (cargo-nextest when installed)
#   scripts/test.sh ARGS...          ARGS go to the test runner, e.g.
#                                    `scripts/test.sh e2e::build_spec` (nextest filter)
#   OPS_TEST_RUNNER=cargo scripts/test.sh -- --nocapture   with `cargo test`
#
# The host's build needs none of the packages installed below (the machine
# comes with gcc), so it starts first and runs while they install and while
# the plugins are checked: on two cores that overlap is minutes.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OPS_REPO_ROOT"

ops_require_cargo
started=$SECONDS
phase() { ops_log "[$((SECONDS - started))s] $*"; }

runner="${OPS_TEST_RUNNER:-}"
if [ -z "$runner" ]; then
	if cargo nextest --version >/dev/null 2>&1; then runner=nextest; else runner=cargo; fi
fi

work="$(mktemp -d)"
build_pid=
cleanup() {
	[ -z "$build_pid" ] || kill "$build_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# One build of the world: the default (dev) profile and default features,
# the same the quick start's `cargo build` uses. xtask first: the plugin
# check below runs its binary while the rest builds.
target_dir="${CARGO_TARGET_DIR:-$OPS_REPO_ROOT/target}"
phase "building the workspace in the background (log: $work/build.log)"
(
	cargo build --quiet -p xtask
	: >"$work/xtask.ready"
	cargo test --workspace --no-run
) >"$work/build.log" 2>&1 &
build_pid=$!

# Waits for the background build to reach marker $1, or to end (0 or not).
wait_build() {
	while [ -n "$1" ] && [ ! -e "$1" ] && kill -0 "$build_pid" 2>/dev/null; do
		sleep 1
	done
	if [ -n "$1" ] && [ -e "$1" ]; then return 0; fi
	local rc=0
	wait "$build_pid" || rc=$?
	build_pid=
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$work/build.log" >&2
		ops_die "the workspace build failed (exit $rc)"
	fi
}

ops_install_packages
ops_install_wasm_toolchain
ops_ensure_dockerd
# BuildKit's client and a base image for the image-builder tests.
ops_install_buildx
ops_make_base_image
phase "machine ready"

# The committed .wasm plugins must match their sources.
wait_build "$work/xtask.ready"
phase "xtask plugins --check"
"$target_dir/debug/xtask" plugins --check

# The plugins' own unit tests (argument building, config checks), natively.
phase "cargo test (plugins workspace)"
cargo test --manifest-path plugins/Cargo.toml --workspace --lib

phase "waiting for the workspace build"
wait_build ""
phase "running the tests with $runner"
if [ "$runner" = nextest ]; then
	# Every test binary in one pool: the end-to-end tests mostly wait on
	# sshd, dockerd and the registry, so the pool keeps both cores busy.
	cargo nextest run --workspace --no-fail-fast "$@"
	# nextest does not run doc tests.
	cargo test --workspace --doc --quiet
else
	cargo test --workspace "$@"
fi
phase "all tests passed"
