#!/usr/bin/env bash
# Long runs of the mutation fuzzers of the config, ssh_config and
# known_hosts readers (the test suite runs 4,000 executions of each).
#
#   scripts/fuzz.sh [EXECUTIONS per reader, default 1000000] [SEED]
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$OPS_REPO_ROOT"

export OPS_FUZZ_EXECS="${1:-1000000}"
[ -n "${2:-}" ] && export OPS_FUZZ_SEED="$2"
ops_log "fuzzing each reader for $OPS_FUZZ_EXECS executions"
cargo test -p ops --lib fuzz -- --nocapture --test-threads 3 2>&1 | grep -E '^fuzz |^test |panicked|input'
