#!/usr/bin/env python3
"""The speed benchmark: `ops build` of the example project against the
quick start's build node, side by side with a hand-written OpenSSH script
doing the same steps (bench/script.sh), at round trip 0 and 50 ms.

    scripts/bench.sh [--rounds N]

Cases, run interleaved (one of each per round) so that a busy machine
slows all of them alike; the table gives medians:

- ops (git source, three services, -j 3): wall time, ops's own CPU time,
  its peak RSS, and the round trips it counted (`round_trips` in its JSON
  summary);
- the script with one `ssh` per step;
- the same script with ControlMaster/ControlPersist (after its first run it
  pays no connection setup);
- ops with a refused registry token: the time until it exits 7;
- ops with persistence on (`OPS_PERSIST`, a keeper of its own under the
  bench's XDG_RUNTIME_DIR), warm: the keeper already holds the connection,
  as the ControlMaster script's master does; with the round trips of that
  warm run;
- ops with persistence on, cold: the keeper stopped first, so the run
  starts one and logs in (against ops without persistence, today's run).

Every run after the first is an unchanged re-run. The 50 ms round trip is
bench/delay_proxy.py in front of the node's sshd.

Then, at round trip 0 and also interleaved:

- five services whose image builds take about 2 s each (a project made in
  a temporary directory, `RUN sleep 2` on ops-test/busybox), `-j 1` against
  `-j 5` and against one service alone, with ops's peak RSS and CPU time
  during the five-service build; a build arg that changes every run keeps
  docker's cache from answering;
- bench/push_sync.sh: the push sync of 10,000 files against plain rsync;
- `cargo bench --bench plugin_load`: plugin load, cold and warm.

It ends with one markdown table of medians and ratios for all of them.
--skip-five, --skip-push-sync and --skip-plugin-load leave parts out.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QS = Path(os.environ.get("OPS_QUICKSTART_DIR", "/tmp/ops-bench"))
# The keeper's socket directory for the persist cases: the bench's own.
RUNTIME = QS / "bench-runtime"
DELAYS_MS = (0, 50)


def setup():
    env = dict(os.environ, OPS_QUICKSTART_DIR=str(QS))
    subprocess.run(
        [str(ROOT / "scripts/quickstart.sh"), "--setup-only"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


class Node:
    """The quick start's node, directly or through the delaying proxy."""

    def __init__(self, rtt_ms, proxy_port):
        self.rtt_ms = rtt_ms
        self.sshd_port = int((QS / "node/port").read_text())
        self.port = proxy_port if rtt_ms else self.sshd_port
        self.alias = f"ops-bench-{rtt_ms}ms"
        self.proxy = None
        if rtt_ms:
            self.proxy = subprocess.Popen(
                [sys.executable, str(ROOT / "bench/delay_proxy.py"),
                 str(self.port), str(self.sshd_port), str(rtt_ms // 2)],
                stdout=subprocess.PIPE, text=True)
            assert self.proxy.stdout.readline().strip() == "ready"

    def stop(self):
        if self.proxy:
            self.proxy.terminate()
            self.proxy.wait()


def write_home(nodes):
    """A HOME for both tools: one alias per round trip, host key pinned."""
    home = QS / "bench-home"
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    os.chmod(ssh, 0o700)
    key_type, key_data = (QS / "node/ssh_host_ed25519_key.pub").read_text().split()[:2]
    user = os.environ.get("USER") or subprocess.check_output(["id", "-un"], text=True).strip()
    config, known = [], []
    for node in nodes:
        known.append(f"[127.0.0.1]:{node.port} {key_type} {key_data}")
        config.append(
            f"Host {node.alias}\n    HostName 127.0.0.1\n    Port {node.port}\n"
            f"    User {user}\n    IdentityFile {QS}/home/.ssh/id_ed25519\n"
            f"    IdentitiesOnly yes\n    UserKnownHostsFile {ssh}/known_hosts\n")
    (ssh / "config").write_text("\n".join(config))
    (ssh / "known_hosts").write_text("\n".join(known) + "\n")
    for f in ("config", "known_hosts"):
        os.chmod(ssh / f, 0o600)
    return home


def _own_child_cpu(pid):
    """CPU seconds of the processes `pid` has reaped itself (a local rsync,
    say), read while it is a zombie: wait4 counts them in with it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 16 and 17 (cutime, cstime), counted from "state" as field 3.
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def timed(cmd, env, cwd):
    """Wall seconds, CPU seconds, peak RSS (MB), exit code, stdout, stderr.

    CPU is the process's own (user + sys of all its threads, without the
    children it ran). Peak RSS is wait4's, as `/usr/bin/time -v` reports
    it: the largest of the process and its children (ops's own, unless a
    child such as a local rsync outgrows it)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    chunks = {"out": b"", "err": b""}

    def drain(name, pipe):
        chunks[name] = pipe.read()

    # Both pipes at once: one filling up must not stall the other.
    readers = [threading.Thread(target=drain, args=(n, p))
               for n, p in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    # WNOWAIT leaves it a zombie, so /proc still has its counters.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    children_cpu = _own_child_cpu(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    for t in readers:
        t.join()
    cpu = max(0.0, usage.ru_utime + usage.ru_stime - children_cpu)
    return (wall, cpu, usage.ru_maxrss / 1024, proc.returncode,
            chunks["out"].decode(errors="replace"), chunks["err"].decode(errors="replace"))


class Bench:
    def __init__(self, ops_bin, home):
        self.ops_bin = ops_bin
        self.home = home
        self.project = QS / "hello"
        self.token = (QS / "registry/token").read_text()
        self.reg_port = (QS / "registry/port").read_text().strip()
        self.base = (self.project / "ops.toml").read_text()

    def ops_config(self, node):
        text = self.base.replace('target = "ops-quickstart"', f'target = "{node.alias}"')
        path = self.project / f"ops-{node.alias}.toml"
        path.write_text(text)
        return path

    def env(self, persist=False):
        env = dict(os.environ, HOME=str(self.home), OPS_QUICKSTART_TOKEN=self.token)
        env.pop("SSH_AUTH_SOCK", None)
        env.pop("OPS_PERSIST", None)
        env["XDG_RUNTIME_DIR"] = str(RUNTIME)
        if persist:
            env["OPS_PERSIST"] = "10m"
        return env

    def stop_keeper(self):
        subprocess.run([self.ops_bin, "connection", "stop"], env=self.env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ops(self, node, token=None, persist=False):
        env = self.env(persist)
        if token:
            env["OPS_QUICKSTART_TOKEN"] = token
        cmd = [self.ops_bin, "build", "-j", "3", "--output", "json",
               "--file", str(self.ops_config(node))]
        wall, cpu, rss, code, out, err = timed(cmd, env, self.project)
        if token is None and code != 0:
            sys.exit(f"ops build failed ({code}):\n{err}\n{out}")
        trips = None
        for line in out.splitlines():
            event = json.loads(line)
            if event.get("event") == "summary":
                trips = event.get("round_trips")
        return dict(wall=wall, cpu=cpu, rss=rss, trips=trips, code=code)

    def script(self, node, control_master):
        opts = ""
        if control_master:
            opts = (f"-o ControlMaster=auto -o ControlPath={QS}/cm-%C "
                    "-o ControlPersist=600")
        env = dict(os.environ, HOST=node.alias, CONFIG=str(self.home / ".ssh/config"),
                   SSH_OPTS=opts, BUILD_PATH=str(QS / "node/builds/hello-script"),
                   REPO=str(QS / "origin/hello.git"),
                   REGISTRY=f"127.0.0.1:{self.reg_port}",
                   PREFIX=f"127.0.0.1:{self.reg_port}/hello-script",
                   SERVICES="api worker web", TOKEN=self.token)
        env.pop("SSH_AUTH_SOCK", None)
        wall, _, _, code, out, err = timed(["sh", str(ROOT / "bench/script.sh")], env, QS)
        if code != 0:
            sys.exit(f"bench/script.sh failed ({code}):\n{err}\n{out}")
        return dict(wall=wall)

class Five:
    """Five services whose image builds take about 2 s each, `RUN sleep 2`
    on the busybox base image, built with -j 1 and -j 5 (and one service
    alone: what -j 5 should come close to). The project lives in a
    temporary directory; its git origin is on this machine, like the
    example's. Images are built, not pushed: the registry's time is not what
    the parallelism is about."""

    SERVICES = ["s1", "s2", "s3", "s4", "s5"]
    LABEL = "ops-bench-five"

    def __init__(self, ops_bin, home, node, workdir):
        self.ops_bin = ops_bin
        self.home = home
        self.node = node
        self.project = workdir / "five"
        origin = workdir / "five.git"
        self.project.mkdir()
        # Every run passes a new NONCE, so the RUN layer is never cached and
        # each run really sleeps; SERVICE makes the five layers differ.
        (self.project / "Dockerfile").write_text(
            "FROM ops-test/busybox:latest\n"
            f"LABEL {self.LABEL}=1\n"
            "ARG SERVICE\n"
            "ARG NONCE\n"
            'RUN echo "$SERVICE $NONCE" > /stamp && sleep 2\n')
        git = ["git", "-c", "user.name=ops bench", "-c", "user.email=bench@ops.invalid"]
        for cmd in (["init", "-q", "-b", "main"], ["add", "Dockerfile"],
                    ["commit", "-q", "-m", "five services"]):
            subprocess.run(git + cmd, cwd=self.project, check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(self.project), str(origin)],
                       check=True)
        self.origin = origin
        self.build_path = QS / "node/builds/bench-five"

    def config(self, services, nonce):
        path = self.project / "ops.toml"
        path.write_text(
            f'project = "bench-five"\ntarget = "{self.node.alias}"\n\n'
            f'[build]\npath = "{self.build_path}"\ncommand = "true"\n'
            f'source = "git"\nbranch = "main"\n\n[build.git]\nrepo = "{self.origin}"\n\n'
            f'[build.image]\nprefix = "ops-bench-five"\nbinary_arg = "SERVICE"\n'
            f'services = {json.dumps(services)}\nbuild_args = {{ NONCE = "{nonce}" }}\n')
        return path

    def run(self, jobs, services):
        env = dict(os.environ, HOME=str(self.home))
        env.pop("SSH_AUTH_SOCK", None)
        path = self.config(services, uuid.uuid4().hex)
        cmd = [self.ops_bin, "build", "-j", str(jobs), "--no-push", "--output", "json",
               "--file", str(path)]
        wall, cpu, rss, code, out, err = timed(cmd, env, self.project)
        if code != 0:
            sys.exit(f"ops build of the five-service project failed ({code}):\n{err}\n{out}")
        return dict(wall=wall, cpu=cpu, rss=rss)

    def cleanup(self):
        for name in self.SERVICES:
            subprocess.run(["docker", "image", "rm", "-f", f"ops-bench-five/{name}:latest"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The images each earlier run left untagged; the label marks them as
        # this bench's, so nobody else's are touched.
        subprocess.run(["docker", "image", "prune", "-f", "--filter", f"label={self.LABEL}=1"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def push_sync(files, workdir, home, nodes):
    """bench/push_sync.sh with its numbers read back from PUSH_SYNC_RESULT,
    at 0 ms, then its no-change re-sync at 50 ms (ops with persistence on,
    rsync over a ControlMaster connection kept warm the same way)."""
    values = push_sync_at(files, workdir, None, "")
    far = [n for n in nodes if n.rtt_ms]
    if far:
        at50 = push_sync_at(files, workdir, (home, far[0].alias), "10m")
        values.update({f"far_{k}": v for k, v in at50.items()})
    return values


def push_sync_at(files, workdir, via, persist):
    result = workdir / "push_sync.result"
    env = dict(os.environ, OPS_QUICKSTART_DIR=str(QS), OPS_BENCH_DIR=str(workdir / "push"),
               PUSH_SYNC_RESULT=str(result), XDG_RUNTIME_DIR=str(RUNTIME),
               OPS_PERSIST=persist)
    if via:
        env.update(PUSH_HOME=str(via[0]), PUSH_ALIAS=via[1], PUSH_CONTROL_MASTER="1")
    size_mb = max(1, files * 200 // 10000)
    proc = subprocess.run(["bash", str(ROOT / "bench/push_sync.sh"), str(files), str(size_mb)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, file=sys.stderr)
    if proc.returncode != 0:
        sys.exit(f"bench/push_sync.sh failed ({proc.returncode})")
    values = dict(line.split("=", 1) for line in result.read_text().splitlines() if "=" in line)
    shutil.rmtree(workdir / "push", ignore_errors=True)
    return values


def plugin_load():
    """`cargo bench --bench plugin_load` with the dev profile, which reuses the
    debug build (its wasmtime and cranelift are optimised there too):
    {plugin: (cold ms, warm ms)}."""
    proc = subprocess.run(["cargo", "bench", "-q", "-p", "ops", "--bench", "plugin_load",
                           "--profile", "dev"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"cargo bench --bench plugin_load failed ({proc.returncode})")
    print(proc.stdout, file=sys.stderr)
    loads = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        # "<plugin> <size> B <cold> ms <warm> ms"
        if len(parts) == 7 and parts[2] == "B" and parts[4] == parts[6] == "ms":
            loads[parts[0]] = (float(parts[3]), float(parts[5]))
    return loads


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--proxy-port", type=int, default=47022)
    parser.add_argument("--skip-five", action="store_true",
                        help="leave out -j 1 against -j 5 of five 2-second image builds")
    parser.add_argument("--skip-push-sync", action="store_true",
                        help="leave out bench/push_sync.sh")
    parser.add_argument("--push-files", type=int, default=10000,
                        help="files in the push sync's tree (200 MB per 10,000)")
    parser.add_argument("--skip-plugin-load", action="store_true",
                        help="leave out cargo bench --bench plugin_load")
    parser.add_argument("--keep-node", action="store_true",
                        help="leave the quick start's sshd and registry running")
    args = parser.parse_args()
    setup()
    if not args.skip_five:
        # The five-service project builds FROM it; nothing can be pulled here.
        subprocess.run(["bash", "-c", f"source '{ROOT}/scripts/lib.sh' && ops_make_base_image"],
                       check=True)
    # Runs happen in the project's folder, so a relative OPS_BIN is taken
    # from where the bench was started.
    ops_bin = str(Path(os.environ.get("OPS_BIN", ROOT / "target/debug/ops")).resolve())
    nodes = [Node(0, None), Node(50, args.proxy_port)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=QS))
    five = None
    try:
        home = write_home(nodes)
        bench = Bench(ops_bin, home)
        RUNTIME.mkdir(mode=0o700, exist_ok=True)
        os.chmod(RUNTIME, 0o700)
        cases = ("ops", "script", "cm", "refused", "persist", "cold")
        results = {n.rtt_ms: {c: [] for c in cases} for n in nodes}
        # Warm-up: the first sync clones, the first ControlMaster run
        # connects, the first persist run starts the keeper.
        for node in nodes:
            bench.ops(node)
            bench.script(node, True)
            bench.ops(node, persist=True)
        for _ in range(args.rounds):
            for node in nodes:
                r = results[node.rtt_ms]
                r["ops"].append(bench.ops(node))
                r["script"].append(bench.script(node, False))
                r["cm"].append(bench.script(node, True))
                r["persist"].append(bench.ops(node, persist=True))
                r["refused"].append(bench.ops(node, token="wrong-token"))
            # Cold: no keeper, no kept connection; then warm again.
            for node in nodes:
                bench.stop_keeper()
                results[node.rtt_ms]["cold"].append(bench.ops(node, persist=True))
            for node in nodes:
                bench.ops(node, persist=True)
        fives = None
        if not args.skip_five:
            five = Five(ops_bin, home, nodes[0], workdir)
            fives = {"one": [], "j1": [], "j5": []}
            five.run(5, Five.SERVICES)  # warm-up: the clone
            for _ in range(args.rounds):
                fives["one"].append(five.run(1, Five.SERVICES[:1]))
                fives["j1"].append(five.run(1, Five.SERVICES))
                fives["j5"].append(five.run(5, Five.SERVICES))
        bench.stop_keeper()
        sync = None if args.skip_push_sync else push_sync(args.push_files, workdir, home, nodes)
        loads = None if args.skip_plugin_load else plugin_load()
        report(results, fives, sync, loads, ops_bin, args.rounds)
    finally:
        # No keeper of the bench outlives it.
        subprocess.run([ops_bin, "connection", "stop"],
                       env=dict(os.environ, XDG_RUNTIME_DIR=str(RUNTIME)),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for node in nodes:
            node.stop()
        # Every round trip's ControlMaster, or it outlives the bench by
        # ControlPersist.
        for node in nodes:
            subprocess.run(["ssh", "-F", str(QS / "bench-home/.ssh/config"), "-O", "exit",
                            "-o", f"ControlPath={QS}/cm-%C", node.alias],
                           stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        if five:
            five.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep_node:
            subprocess.run([str(ROOT / "scripts/quickstart.sh"), "--stop"],
                           env=dict(os.environ, OPS_QUICKSTART_DIR=str(QS)),
                           stdout=subprocess.DEVNULL)


def secs(x):
    return f"{x:.2f} s"


def report(results, fives, sync, loads, ops_bin, rounds):
    """One markdown table: what ops measured, what it is set against, the
    ratio (below 1.0x ops is faster or smaller) and the target."""
    rows = []

    def row(what, ops, against="", ratio="", target=""):
        rows.append(f"| {what} | {ops} | {against} | {ratio} | {target} |")

    for rtt, r in results.items():
        ops, script, cm = (median(r[k], "wall") for k in ("ops", "script", "cm"))
        persist, cold = median(r["persist"], "wall"), median(r["cold"], "wall")
        refused = median(r["refused"], "wall")
        codes = ",".join(map(str, sorted({x["code"] for x in r["refused"]})))
        label = f"example build (`-j 3`), {rtt} ms"
        row(label, secs(ops), f"one `ssh` per step {secs(script)}",
            f"{ops / script:.2f}x", "0.3x")
        row(label, secs(ops), f"ControlMaster {secs(cm)}", f"{ops / cm:.2f}x",
            "0.8x" if rtt else "1.0x")
        row(f"critical-path round trips, {rtt} ms", f"{median(r['ops'], 'trips'):.0f}",
            "", "", "12")
        plabel = f"example build, persistence on (warm), {rtt} ms"
        row(plabel, secs(persist), f"ControlMaster {secs(cm)}", f"{persist / cm:.2f}x",
            "0.8x" if rtt else "1.0x")
        row(f"critical-path round trips, warm run, {rtt} ms",
            f"{median(r['persist'], 'trips'):.0f}")
        row(f"first run with persistence (starts the keeper), {rtt} ms", secs(cold),
            f"without persistence {secs(ops)}", f"{cold / ops:.2f}x")
        row(f"refused login reported, {rtt} ms", f"{secs(refused)} (exit {codes})")
    allruns = [x for r in results.values() for x in r["ops"]]
    row("ops CPU time per run, example build", f"{median(allruns, 'cpu') * 1000:.0f} ms",
        "", "", "50 ms")
    row("ops peak RSS, example build", f"{median(allruns, 'rss'):.1f} MB", "", "", "60 MB")
    if fives:
        one, j1, j5 = (median(fives[k], "wall") for k in ("one", "j1", "j5"))
        row("five 2 s image builds, `-j 5`, 0 ms", secs(j5), f"`-j 1` {secs(j1)}",
            f"{j5 / j1:.2f}x")
        row("five 2 s image builds, `-j 5`, 0 ms", secs(j5), f"one service {secs(one)}",
            f"{j5 / one:.2f}x", "1.3x")
        row("ops peak RSS, five-service `-j 5`", f"{median(fives['j5'], 'rss'):.1f} MB",
            "", "", "60 MB")
        row("ops CPU time per run, five-service `-j 5`",
            f"{median(fives['j5'], 'cpu') * 1000:.0f} ms", "", "", "50 ms")
    if sync:
        n = f"{int(sync['files']):,}"
        f = {k: float(v) for k, v in sync.items() if k not in ("files",)
             if v.replace(".", "", 1).isdigit()}
        row(f"push sync of {n} files ({sync['total_mb']} MB), initial",
            secs(f["ops_init_sync"]), f"rsync {secs(f['plain_init'])}",
            f"{f['ops_init_sync'] / f['plain_init']:.2f}x")
        row("push sync, no change (median of 5)", secs(f["ops_nochange_sync"]),
            f"rsync {secs(f['plain_nochange'])}",
            f"{f['ops_nochange_sync'] / f['plain_nochange']:.2f}x", "1.10x")
        row("push sync, one file changed", secs(f["ops_one_sync"]),
            f"rsync {secs(f['plain_one'])}", f"{f['ops_one_sync'] / f['plain_one']:.2f}x")
        if "ops_one_bytes" in f and f.get("plain_one_bytes"):
            row("push sync, one file changed: bytes sent", f"{f['ops_one_bytes']:.0f}",
                f"rsync {f['plain_one_bytes']:.0f}",
                f"{f['ops_one_bytes'] / f['plain_one_bytes']:.2f}x", "2x")
    if sync and "far_ops_nochange_sync" in sync:
        row("push sync, no change, 50 ms, persistence on (median of 5)",
            secs(float(sync["far_ops_nochange_sync"])),
            f"rsync over ControlMaster {secs(float(sync['far_plain_nochange']))}",
            f"{float(sync['far_ops_nochange_sync']) / float(sync['far_plain_nochange']):.2f}x")
        row("push sync, no change, 50 ms: critical-path round trips",
            sync.get("far_ops_nochange_trips", "?"))
    if loads:
        for name, (cold, warm) in loads.items():
            # plugin_load marks the third-party plugins with a "*".
            label = f"`{name.rstrip('*')}`" + (" (third-party)" if name.endswith("*") else "")
            row(f"plugin load {label}, warm (cached)", f"{warm:.1f} ms",
                f"cold (compile) {cold:.1f} ms", "", "5 ms")
    print(f"ops: {ops_bin}; medians of {rounds} interleaved rounds\n")
    print("| measurement | ops | against | ratio | target |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
