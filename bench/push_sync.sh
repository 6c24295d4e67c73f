#!/usr/bin/env bash
# Benchmark: `ops build` with source = "push" (rsync over ops's own SSH
# session) against plain `rsync -az -e ssh` to the same node, in one run.
#
#   bench/push_sync.sh [FILES] [TOTAL_MB]     defaults: 10000 files, 200 MB
#   OPS_BIN=target/release/ops bench/push_sync.sh   measure another ops binary
#
# Uses the quick start's throwaway node (scripts/quickstart.sh --setup-only).
# Three cases, each for both tools: the initial sync, a re-sync with no
# change (median of 5), and a re-sync after changing one file. Prints wall
# times and the bytes rsync reports as sent. Timing is wall clock on a shared
# machine: compare the ratios within one run, not numbers across runs.
# PUSH_SYNC_RESULT=FILE also writes the numbers there as KEY=VALUE lines, so
# that bench/bench.py can put them in its table. PUSH_HOME and PUSH_ALIAS
# name another HOME and ssh_config alias for both tools (bench.py's 50 ms
# node); PUSH_CONTROL_MASTER=1 gives plain rsync a ControlMaster connection
# kept between its runs (set OPS_PERSIST for ops's own).
set -euo pipefail

FILES="${1:-10000}"
TOTAL_MB="${2:-200}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QS_DIR="${OPS_QUICKSTART_DIR:-/tmp/ops-quickstart}"
WORK="${OPS_BENCH_DIR:-/tmp/ops-bench-push}"
ALIAS="${PUSH_ALIAS:-ops-quickstart}"
PUSH_HOME="${PUSH_HOME:-$QS_DIR/home}"

"$ROOT/scripts/quickstart.sh" --setup-only >/dev/null
OPS_BIN="$(realpath "${OPS_BIN:-$ROOT/target/debug/ops}")"
# ops with the quick start's private HOME (its ssh config and known_hosts).
OPS="$WORK/ops"
SSH_CONFIG="$PUSH_HOME/.ssh/config"
SSH_CMD="ssh -F $SSH_CONFIG"
if [ -n "${PUSH_CONTROL_MASTER:-}" ]; then
	SSH_CMD="$SSH_CMD -o ControlMaster=auto -o ControlPath=$WORK/cm-%C -o ControlPersist=600"
fi

rm -rf "$WORK"
mkdir -p "$WORK/tree" "$WORK/node"
printf '#!/bin/sh\nunset SSH_AUTH_SOCK\nHOME=%s exec %s "$@"\n' "$PUSH_HOME" "$OPS_BIN" >"$OPS"
chmod +x "$OPS"
echo "==> ops binary: $OPS_BIN"
echo "==> generating $FILES files, $TOTAL_MB MB in $WORK/tree"
python3 - "$WORK/tree" "$FILES" "$TOTAL_MB" <<'PY'
import os, random, sys
root, files, total_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = total_mb * 1024 * 1024 // files
rng = random.Random(42)
# Half text-like (compressible), half random bytes, like a source tree with
# some binary assets.
words = [b"fn", b"let", b"struct", b"impl", b"return", b"match", b"self", b"pub"]
for i in range(files):
    d = os.path.join(root, f"d{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    if i % 2:
        data = rng.randbytes(size)
    else:
        out = bytearray()
        while len(out) < size:
            out += rng.choice(words) + b" " + str(rng.randrange(10**6)).encode() + b"\n"
        data = bytes(out[:size])
    with open(os.path.join(d, f"f{i:05d}.dat"), "wb") as f:
        f.write(data)
PY
printf 'target/\n' >"$WORK/tree/.gitignore"
cat >"$WORK/tree/ops.toml" <<EOF
target = "$ALIAS"
[build]
path = "$WORK/node/ops"
command = "true"
source = "push"
EOF

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

# Runs one ops build; prints "SECONDS SYNC_SECONDS BYTES_SENT MAX_RSS_KB
# ROUND_TRIPS".
# SYNC_SECONDS is the whole run minus the build-command step (the step plain
# rsync does not do): process start, plugin load, connect, rsync, teardown.
ops_sync() {
	local start end out
	start=$(now)
	out=$(cd "$WORK/tree" && /usr/bin/time -f 'maxrss=%M' "$OPS" --output json build 2>&1) || {
		echo "$out" >&2
		exit 1
	}
	end=$(now)
	local total sent build rss
	total=$(elapsed "$start" "$end")
	sent=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) bytes sent.*/\1/p' | tail -n 1)
	build=$(printf '%s\n' "$out" | sed -n 's/.*"step_finished","step":"build","seconds":\([0-9.e-]*\).*/\1/p')
	rss=$(printf '%s\n' "$out" | sed -n 's/^maxrss=//p')
	trips=$(printf '%s\n' "$out" | sed -n 's/.*"round_trips":\([0-9]*\).*/\1/p' | tail -n 1)
	echo "$total $(python3 -c "print(f'{$total - ${build:-0}:.3f}')") ${sent:-?} ${rss:-?} ${trips:-?}"
}

# Runs one plain rsync; prints "SECONDS BYTES_SENT".
plain_sync() {
	local start end out
	start=$(now)
	out=$(HOME="$PUSH_HOME" rsync -az --delete --stats --filter=':- .gitignore' \
		-e "$SSH_CMD" "$WORK/tree/" "$ALIAS:$WORK/node/plain/") || exit 1
	end=$(now)
	local sent
	sent=$(printf '%s\n' "$out" | sed -n 's/^Total bytes sent: \([0-9,]*\).*/\1/p' | tr -d ,)
	echo "$(elapsed "$start" "$end") ${sent:-?}"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "==> initial sync"
read -r ops_init ops_init_sync ops_init_bytes ops_init_rss < <(ops_sync)
read -r plain_init plain_init_bytes < <(plain_sync)

echo "==> no-change re-sync (5 runs each, interleaved)"
ops_times=()
ops_sync_times=()
plain_times=()
for _ in 1 2 3 4 5; do
	read -r t ts b _ trips < <(ops_sync)
	ops_nochange_trips=$trips
	ops_times+=("$t")
	ops_sync_times+=("$ts")
	ops_nochange_bytes=$b
	read -r t b < <(plain_sync)
	plain_times+=("$t")
	plain_nochange_bytes=$b
done
ops_nochange=$(printf '%s\n' "${ops_times[@]}" | median)
ops_nochange_sync=$(printf '%s\n' "${ops_sync_times[@]}" | median)
plain_nochange=$(printf '%s\n' "${plain_times[@]}" | median)

echo "==> one-file change"
python3 -c "
import sys
p = sys.argv[1]
data = bytearray(open(p, 'rb').read())
data[len(data) // 2] ^= 0xff
open(p, 'wb').write(bytes(data))
" "$WORK/tree/d000/f00000.dat"
read -r ops_one ops_one_sync ops_one_bytes _ < <(ops_sync)
read -r plain_one plain_one_bytes < <(plain_sync)

ratio() { python3 -c "print(f'{$1 / $2:.2f}x' if $2 else 'n/a')"; }
row() { printf '%-22s %10s %10s %10s %13s %13s %8s %8s\n' "$@"; }
echo
row case "ops s" "ops sync s" "rsync s" "ops bytes" "rsync bytes" "sync/rs" "bytes"
row initial "$ops_init" "$ops_init_sync" "$plain_init" "$ops_init_bytes" "$plain_init_bytes" "$(ratio "$ops_init_sync" "$plain_init")" "$(ratio "$ops_init_bytes" "$plain_init_bytes")"
row "no change (median/5)" "$ops_nochange" "$ops_nochange_sync" "$plain_nochange" "$ops_nochange_bytes" "$plain_nochange_bytes" "$(ratio "$ops_nochange_sync" "$plain_nochange")" "$(ratio "$ops_nochange_bytes" "$plain_nochange_bytes")"
row "one file changed" "$ops_one" "$ops_one_sync" "$plain_one" "$ops_one_bytes" "$plain_one_bytes" "$(ratio "$ops_one_sync" "$plain_one")" "$(ratio "$ops_one_bytes" "$plain_one_bytes")"
echo
echo "ops s: the whole ops build (sync + a build command of 'true'); ops sync s: minus the build step."
echo "ops peak RSS during the initial sync: ${ops_init_rss} KB"
echo
if [ -n "${PUSH_SYNC_RESULT:-}" ]; then
	cat >"$PUSH_SYNC_RESULT" <<-EOF
		files=$FILES
		total_mb=$TOTAL_MB
		ops_init_sync=$ops_init_sync
		plain_init=$plain_init
		ops_nochange_sync=$ops_nochange_sync
		plain_nochange=$plain_nochange
		ops_one_sync=$ops_one_sync
		plain_one=$plain_one
		ops_one_bytes=$ops_one_bytes
		ops_nochange_trips=$ops_nochange_trips
		plain_one_bytes=$plain_one_bytes
		ops_init_rss_kb=$ops_init_rss
	EOF
fi
echo "targets: no-change time <= 1.10x plain rsync; one-file bytes <= 2x plain rsync"
if [ -n "${PUSH_CONTROL_MASTER:-}" ]; then
	ssh -F "$SSH_CONFIG" -o ControlPath="$WORK/cm-%C" -O exit "$ALIAS" 2>/dev/null || true
fi
diff -r -q "$WORK/node/ops" "$WORK/node/plain" >/dev/null && echo "both destinations identical" || {
	echo "destinations differ" >&2
	exit 1
}
