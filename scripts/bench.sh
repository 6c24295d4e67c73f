#!/usr/bin/env bash
# The speed benchmark (bench/bench.py): ops against a hand-written OpenSSH
# script at round trip 0 and 50 ms, -j 1 against -j 5 of five 2-second image
# builds, the push sync against plain rsync (bench/push_sync.sh) and plugin
# load (cargo bench --bench plugin_load), on the quick start's throwaway
# node; one markdown table of medians and ratios at the end.
#
#   scripts/bench.sh [--rounds N] [--skip-five] [--skip-push-sync]
#                    [--push-files N] [--skip-plugin-load] [--keep-node]
#   OPS_BIN=... measures another ops binary; OPS_QUICKSTART_DIR=... its own node
#
# Not part of CI (it takes minutes); tests/e2e covers the proxy it uses.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec python3 "$ROOT/bench/bench.py" "$@"
