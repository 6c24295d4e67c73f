#!/bin/sh
# Installs what `cargo xtask plugins` needs to build the wasm plugins.
#
# With rustup's wasm32-unknown-unknown target installed there is nothing to
# do. Otherwise (rustup cannot always reach its server) Debian's rustc-web,
# cargo-web and rust-web-src provide a compiler and the std sources, and the
# plugins build std themselves with -Zbuild-std. The linker is the rust-lld
# that ships with every rustup toolchain, else Debian's lld (wasm-ld).
# Idempotent: installs only what is missing.
set -eu

if command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "rustup's wasm32-unknown-unknown target is installed; nothing to do"
    exit 0
fi

missing=""
[ -x /usr/bin/rustc ] || missing="$missing rustc-web"
[ -x /usr/bin/cargo ] || missing="$missing cargo-web"
[ -d /usr/lib/rustlib/src/rust/library/std ] || missing="$missing rust-web-src"

have_linker=no
if command -v rustc >/dev/null 2>&1; then
    sysroot=$(rustc --print sysroot 2>/dev/null || true)
    [ -n "$sysroot" ] && [ -x "$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld" ] && have_linker=yes
fi
if [ "$have_linker" = no ] && ! command -v rust-lld >/dev/null 2>&1 && ! command -v wasm-ld >/dev/null 2>&1; then
    missing="$missing lld"
fi

if [ -z "$missing" ]; then
    echo "wasm toolchain present: $(/usr/bin/rustc --version)"
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
echo "wasm toolchain installed: $(/usr/bin/rustc --version)"
