# Shared shell functions for scripts/test.sh and scripts/quickstart.sh.
# Source it; it defines functions only and changes no shell options.
#
# Target machine: Debian 12, as root or with sudo, with or without systemd.

# Packages the tests and the quick start run for real: an SSH server and
# client, the Docker engine and CLI, a registry with htpasswd auth, rsync and git.
# time (/usr/bin/time): the artifacts test measures ops's peak memory.
# buildah, uidmap (newuidmap/newgidmap) and fuse-overlayfs: the rootless
# buildah image builder; its tests create their non-root node user themselves.
OPS_PACKAGES=(openssh-server openssh-client docker.io docker-registry apache2-utils
	rsync git ca-certificates curl buildah uidmap fuse-overlayfs time)

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

# A private apt setup for Debian trixie (sources, lists, caches all under
# $OPS_TRIXIE_DIR): it only downloads packages, so the system's own sources,
# lists and installed packages are never touched.
OPS_TRIXIE_DIR="${OPS_TRIXIE_DIR:-/var/cache/ops-trixie}"
ops_trixie_apt() {
	local dir="$OPS_TRIXIE_DIR"
	ops_as_root apt-get -q \
		-o Dir::Etc::SourceList="$dir/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" \
		-o APT::Get::List-Cleanup=0 \
		-o APT::Sandbox::User=root \
		"$@" </dev/null
}

# Downloads the .deb of trixie's package $1 into $OPS_TRIXIE_DIR/debs and
# prints its path. A .deb downloaded before is reused; the lists are
# refreshed when they are missing or older than a day.
ops_trixie_download() {
	local pkg="$1" dir="$OPS_TRIXIE_DIR" deb
	deb=$(ls -t "$dir/debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -n "$deb" ]; then
		echo "$deb"
		return 0
	fi
	ops_as_root mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
	if [ ! -s "$dir/sources.list" ]; then
		printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n' |
			ops_as_root tee "$dir/sources.list" >/dev/null
	fi
	if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
		ops_trixie_apt update >&2 || ops_die "apt-get update (private trixie list) failed"
	fi
	# apt-get download writes into the working directory.
	(cd "$dir/debs" && ops_trixie_apt download "$pkg" >&2) ||
		ops_die "apt-get download $pkg (trixie) failed"
	deb=$(ls -t "$dir/debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	[ -n "$deb" ] || ops_die "no .deb of $pkg in $dir/debs"
	echo "$deb"
}

# Debian 12's docker.io has no buildx. Trixie's docker-buildx depends only on
# libc, so its .deb installs on bookworm with dpkg, nothing else changing.
ops_install_buildx() {
	if docker buildx version >/dev/null 2>&1; then
		return 0
	fi
	ops_log "installing docker-buildx from Debian trixie"
	local deb
	deb=$(ops_trixie_download docker-buildx) || exit 1
	ops_as_root dpkg -i "$deb" >&2 || ops_die "dpkg -i $deb failed"
	docker buildx version >/dev/null 2>&1 || ops_die "docker buildx does not run after installing $deb"
}

# The base image the BuildKit tests build FROM. Nothing can be pulled from a
# hub here, so it is imported from a rootfs made of Debian's busybox-static.
OPS_BASE_IMAGE="${OPS_BASE_IMAGE:-ops-test/busybox:latest}"
ops_make_base_image() {
	if docker image inspect "$OPS_BASE_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	ops_log "making $OPS_BASE_IMAGE from busybox-static"
	local deb root applet
	deb=$(ops_trixie_download busybox-static) || exit 1
	root=$(mktemp -d)
	dpkg-deb -x "$deb" "$root" || ops_die "dpkg-deb -x $deb failed"
	mkdir -p "$root/tmp" "$root/etc" "$root/root"
	# Trixie puts it in /usr/bin; the image gets a /bin of applet links.
	mkdir -p "$root/bin"
	mv "$root/usr/bin/busybox" "$root/bin/busybox"
	rm -rf "$root/usr"
	for applet in $("$root/bin/busybox" --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$OPS_BASE_IMAGE" >/dev/null ||
		ops_die "docker import of $OPS_BASE_IMAGE failed"
	rm -rf "$root"
}
