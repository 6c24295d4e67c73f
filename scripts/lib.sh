# Shared shell functions for scripts/test.sh and scripts/quickstart.sh.
# Source it; it defines functions only and changes no shell options.
#
# Target machine: Debian 12, as root or with sudo, with or without systemd.

# Packages the tests and the quick start run for real: an SSH server and
# client, the Docker engine and CLI, a registry with htpasswd auth, rsync and git.
OPS_PACKAGES=(openssh-server openssh-client docker.io docker-registry apache2-utils
	rsync git ca-certificates curl)

OPS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# rustup's cargo, not Debian's /usr/bin/cargo (rustc-web), builds the host;
# the Debian one is only for the wasm plugins.
if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
	PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

ops_log() { printf '==> %s\n' "$*" >&2; }
ops_die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Runs a command as root: directly when already root, else through sudo.
ops_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		ops_die "need root (or sudo) to run: $*"
	fi
}

# Installs the given Debian packages that are not installed yet. Never
# prompts: CI runs without stdin.
ops_apt_install() {
	local missing=() pkg
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 ||
		ops_die "missing packages ${missing[*]} and no apt-get to install them"
	ops_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	ops_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null ||
		ops_die "apt-get update failed"
	# Without systemd, package scripts would start sshd on port 22 and
	# dockerd through init scripts, and fail the install when they cannot.
	# Debian's policy-rc.d hook (exit 101) tells them not to; dockerd is
	# started by ops_ensure_dockerd instead.
	local policy=/usr/sbin/policy-rc.d added_policy=no
	if [ ! -d /run/systemd/system ] && [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | ops_as_root tee "$policy" >/dev/null
		ops_as_root chmod 755 "$policy"
		added_policy=yes
	fi
	local rc=0
	ops_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends -o Dpkg::Options::=--force-confdef \
		-o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null || rc=$?
	if [ "$added_policy" = yes ]; then
		ops_as_root rm -f "$policy"
	fi
	[ "$rc" -eq 0 ] || ops_die "apt-get install ${missing[*]} failed"
}

# Everything the test suite and the quick start run on the machine.
ops_install_packages() {
	ops_apt_install "${OPS_PACKAGES[@]}"
}

# The toolchain that rebuilds the built-in wasm plugins (tests and CI only;
# the committed components need none). Its installer lives next to this file.
ops_install_wasm_toolchain() {
	local wasm="$OPS_REPO_ROOT/scripts/install-wasm-toolchain.sh"
	if [ -f "$wasm" ]; then
		ops_log "checking the wasm plugin toolchain"
		sh "$wasm" </dev/null || ops_die "$wasm failed"
	fi
}

# Makes sure a Docker engine answers `docker info`. Starts dockerd in the
# background when none answers: through systemd where systemd runs,
# otherwise directly, logging to $OPS_DOCKERD_LOG. Waits a bounded time.
OPS_DOCKERD_LOG="${OPS_DOCKERD_LOG:-/tmp/ops-dockerd.log}"
ops_ensure_dockerd() {
	if docker info >/dev/null 2>&1; then
		return 0
	fi
	command -v dockerd >/dev/null 2>&1 || ops_die "dockerd not found (install docker.io)"
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		ops_log "starting docker through systemd"
		ops_as_root systemctl start docker.service || true
	fi
	# dockerd writes its pid file early; a live one means it is still starting.
	if ! docker info >/dev/null 2>&1 && ! ops_pidfile_alive /var/run/docker.pid; then
		ops_log "starting dockerd (log: $OPS_DOCKERD_LOG)"
		# Its own session: the daemon outlives this script and its terminal.
		ops_as_root setsid -f dockerd >>"$OPS_DOCKERD_LOG" 2>&1 </dev/null
	fi
	local waited=0 limit="${OPS_DOCKERD_WAIT:-60}"
	until docker info >/dev/null 2>&1; do
		if [ "$waited" -ge "$limit" ]; then
			tail -n 20 "$OPS_DOCKERD_LOG" >&2 2>/dev/null || true
			ops_die "dockerd did not answer 'docker info' within ${limit}s (log: $OPS_DOCKERD_LOG)"
		fi
		sleep 1
		waited=$((waited + 1))
	done
	ops_log "dockerd is up"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, trying $1 first
# and then the ports after it.
ops_free_port() {
	local port="${1:-20000}" last=$((${1:-20000} + 200))
	while [ "$port" -lt "$last" ]; do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
		port=$((port + 1))
	done
	ops_die "no free port in ${1:-20000}..$last"
}

# Waits until something accepts TCP connections on 127.0.0.1:$1, at most $2 seconds.
ops_wait_port() {
	local port="$1" limit="${2:-30}" waited=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		[ "$waited" -lt "$((limit * 10))" ] || return 1
		sleep 0.1
		waited=$((waited + 1))
	done
}

# True when the pid in file $1 names a running process.
ops_pidfile_alive() {
	# /proc rather than kill -0: the process may belong to root.
	[ -s "$1" ] && [ -d "/proc/$(cat "$1" 2>/dev/null)" ]
}

# A random hex token of 32 characters.
ops_random_token() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# Dies unless rustup's cargo is on PATH.
ops_require_cargo() {
	command -v cargo >/dev/null 2>&1 ||
		ops_die "cargo not found: install Rust with rustup (https://rustup.rs)"
}
