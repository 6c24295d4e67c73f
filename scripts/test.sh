#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine: installs what is missing,
# makes sure dockerd runs, checks the house rules (rustfmt, clippy with
# `-D warnings`, the dependency policy of deny.toml), checks the committed
# plugin components, then runs every test target of the workspace. Safe to
# re-run.
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

# Formatting first: it takes a second and needs nothing built.
phase "cargo fmt --check (workspace and plugins)"
cargo fmt --all --check
cargo fmt --all --check --manifest-path plugins/Cargo.toml

# Clippy runs inside the one build instead of beside it: cargo hands each
# workspace member to clippy-driver, which lints it and then compiles it as
# rustc would, and every dependency to plain rustc. That is what
# `cargo clippy --all-targets -- -D warnings` checks, without compiling the
# world a second time in check mode. Exported for every cargo command
# below, so that none of them rebuilds the members without it. (xtask's
# plugin builds drop both variables: the components' bytes must not depend
# on them.)
clippy_driver="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
[ -x "$clippy_driver" ] || ops_die "clippy-driver not found: rustup component add clippy"
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
# cargo-clippy's encoding of `-- -D warnings`.
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

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
# the same the quick start's `cargo build` uses, every target (benches
# included, so clippy sees them). xtask first: the plugin check and the
# dependency policy below run its binary while the rest builds. Selected
# with --workspace, its dependencies get the features the whole workspace
# unifies to, the ones the test build uses: built once, not twice.
target_dir="${CARGO_TARGET_DIR:-$OPS_REPO_ROOT/target}"
phase "building the workspace in the background (log: $work/build.log)"
(
	cargo build --quiet --workspace --bin xtask
	: >"$work/xtask.ready"
	cargo test --workspace --all-targets --no-run
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

# The committed .wasm plugins must match their sources. This and the
# plugins' clippy and tests below run at the lowest CPU priority: the
# workspace build beside them is what the tests wait for, and on two cores
# an equal share would stretch it by most of their time. At nice 19 they
# take what the build leaves idle (its single-crate and link steps) and
# both cores once it is done.
wait_build "$work/xtask.ready"
phase "xtask plugins --check"
nice -n 19 "$target_dir/debug/xtask" plugins --check

# Licenses, banned crates and sources of both workspaces, as deny.toml says.
# `xtask deps` reads the same keys `cargo deny check bans licenses sources`
# would, over `cargo metadata`: installing cargo-deny on a fresh machine
# costs far more build time than this suite can spare.
phase "dependency policy (xtask deps, deny.toml)"
"$target_dir/debug/xtask" deps

# The plugins' clippy in check mode: natively their libraries are cdylibs
# that cannot link (their exports are named for the component model), so
# only a check sees them without cfg(test). It shares the proc macros with
# the test build below and costs seconds. Then the plugins' own unit tests
# (argument building, config checks), natively, with plain rustc.
phase "cargo clippy and cargo test (plugins workspace)"
(
	unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
	nice -n 19 cargo clippy --quiet --manifest-path plugins/Cargo.toml --workspace --all-targets -- -D warnings
	nice -n 19 cargo test --manifest-path plugins/Cargo.toml --workspace --lib
)

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
