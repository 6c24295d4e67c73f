#!/usr/bin/env bash
# The speed benchmark (bench/bench.py): ops against a hand-written OpenSSH
# script at round trip 0 and 50 ms, on the quick start's throwaway node.
#
#   scripts/bench.sh [--rounds N]        OPS_BIN=... measures another ops binary
#
# Not part of CI (it takes minutes); tests/e2e covers the proxy it uses.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec python3 "$ROOT/bench/bench.py" "$@"
