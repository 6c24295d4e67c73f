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
- ops with a refused registry token: the time until it exits 7.

Every run after the first is an unchanged re-run. The 50 ms round trip is
bench/delay_proxy.py in front of the node's sshd.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QS = Path(os.environ.get("OPS_QUICKSTART_DIR", "/tmp/ops-bench"))
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


def timed(cmd, env, cwd):
    """Wall seconds, CPU seconds, peak RSS (MB), exit code, stdout."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = b"", b""
    # wait4 gives this child's own rusage (ops is exec'd, not wrapped).
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, proc.returncode, out.decode(), err.decode()


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

    def ops(self, node, token=None):
        env = dict(os.environ, HOME=str(self.home),
                   OPS_QUICKSTART_TOKEN=token or self.token)
        env.pop("SSH_AUTH_SOCK", None)
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


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--proxy-port", type=int, default=47022)
    args = parser.parse_args()
    setup()
    ops_bin = os.environ.get("OPS_BIN", str(ROOT / "target/debug/ops"))
    nodes = [Node(0, None), Node(50, args.proxy_port)]
    try:
        bench = Bench(ops_bin, write_home(nodes))
        results = {n.rtt_ms: {"ops": [], "script": [], "cm": [], "refused": []} for n in nodes}
        # Warm-up: the first sync clones, the first ControlMaster run connects.
        for node in nodes:
            bench.ops(node)
            bench.script(node, True)
        for _ in range(args.rounds):
            for node in nodes:
                r = results[node.rtt_ms]
                r["ops"].append(bench.ops(node))
                r["script"].append(bench.script(node, False))
                r["cm"].append(bench.script(node, True))
                r["refused"].append(bench.ops(node, token="wrong-token"))
        report(results, ops_bin, args.rounds)
    finally:
        for node in nodes:
            node.stop()
        subprocess.run(["ssh", "-F", str(QS / "bench-home/.ssh/config"), "-O", "exit",
                        "-o", f"ControlPath={QS}/cm-%C", nodes[-1].alias],
                       stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def report(results, ops_bin, rounds):
    print(f"ops: {ops_bin}; medians of {rounds} interleaved rounds\n")
    print("| round trip | ops | one `ssh` per step | ControlMaster | ops / one-ssh | "
          "ops / ControlMaster | ops round trips | refused login reported |")
    print("|---|---|---|---|---|---|---|---|")
    for rtt, r in results.items():
        ops, script, cm = (median(r[k], "wall") for k in ("ops", "script", "cm"))
        refused = median(r["refused"], "wall")
        codes = sorted({x["code"] for x in r["refused"]})
        print(f"| {rtt} ms | {ops:.2f} s | {script:.2f} s | {cm:.2f} s | "
              f"{ops / script:.2f}x | {ops / cm:.2f}x | {median(r['ops'], 'trips'):.0f} | "
              f"{refused:.2f} s (exit {','.join(map(str, codes))}) |")
    print()
    allruns = [x for r in results.values() for x in r["ops"]]
    print(f"ops CPU time per run (median): {median(allruns, 'cpu') * 1000:.0f} ms; "
          f"peak RSS (median): {median(allruns, 'rss'):.1f} MB")


if __name__ == "__main__":
    main()
