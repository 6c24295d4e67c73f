#!/usr/bin/env bash
# Quick start: sets up a throwaway build node on this machine and runs a
# real `ops build` of examples/hello against it.
#
#   scripts/quickstart.sh               set up (or reuse) everything, then ops build
#   scripts/quickstart.sh --setup-only  set up and verify, stop before ops build
#   scripts/quickstart.sh --stop        stop the quick start's sshd and registry
#
# Everything lives in $OPS_QUICKSTART_DIR (default /tmp/ops-quickstart):
#   home/      HOME for ops: .ssh/config, known_hosts and a key of its own,
#              so your real ~/.ssh is never read or written
#   node/      the build node: an sshd on 127.0.0.1 with its own host key;
#              builds land in node/builds/
#   registry/  a registry on 127.0.0.1 with password auth (user "ops")
#   origin/    hello.git, the git origin the node clones
#   hello/     your copy of examples/hello with an ops.toml for this node
#   bin/ops    ops with HOME and the registry token set for this setup
# Safe to re-run: running servers and existing keys are reused.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QS_DIR="${OPS_QUICKSTART_DIR:-/tmp/ops-quickstart}"
QS_HOME="$QS_DIR/home"
NODE_DIR="$QS_DIR/node"
REG_DIR="$QS_DIR/registry"
ORIGIN="$QS_DIR/origin/hello.git"
PROJECT="$QS_DIR/hello"
ALIAS="ops-quickstart"
REG_USER="ops"
NODE_USER="$(id -un)"

stop_pidfile() {
	local pid
	if ops_pidfile_alive "$1"; then
		pid="$(cat "$1")"
		kill "$pid" && ops_log "stopped $2 (pid $pid)"
	fi
	rm -f "$1"
}

if [ "${1:-}" = "--stop" ]; then
	stop_pidfile "$NODE_DIR/sshd.pid" sshd
	stop_pidfile "$REG_DIR/registry.pid" registry
	exit 0
fi
SETUP_ONLY=no
[ "${1:-}" = "--setup-only" ] && SETUP_ONLY=yes

# --- packages, dockerd, ops ------------------------------------------------

ops_require_cargo
ops_install_packages
ops_ensure_dockerd

ops_log "building ops (cargo build, debug profile)"
(cd "$OPS_REPO_ROOT" && cargo build --package ops) || ops_die "cargo build failed"
# Where cargo put it: CARGO_TARGET_DIR moves the build out of the checkout.
OPS_BIN="${CARGO_TARGET_DIR:-$OPS_REPO_ROOT/target}/debug/ops"

mkdir -p "$QS_DIR" "$QS_HOME/.ssh" "$NODE_DIR/builds" "$NODE_DIR/home" "$REG_DIR" "$QS_DIR/origin" "$QS_DIR/bin"
chmod 700 "$QS_DIR" "$QS_HOME" "$QS_HOME/.ssh"

# --- the build node: sshd on 127.0.0.1 --------------------------------------

[ -f "$NODE_DIR/ssh_host_ed25519_key" ] ||
	ssh-keygen -q -t ed25519 -N '' -C ops-quickstart-node -f "$NODE_DIR/ssh_host_ed25519_key"
[ -f "$QS_HOME/.ssh/id_ed25519" ] ||
	ssh-keygen -q -t ed25519 -N '' -C ops-quickstart-user -f "$QS_HOME/.ssh/id_ed25519"
cp "$QS_HOME/.ssh/id_ed25519.pub" "$NODE_DIR/authorized_keys"

if ops_pidfile_alive "$NODE_DIR/sshd.pid" && [ -s "$NODE_DIR/port" ] &&
	ops_wait_port "$(cat "$NODE_DIR/port")" 1; then
	SSH_PORT="$(cat "$NODE_DIR/port")"
	ops_log "sshd already running on 127.0.0.1:$SSH_PORT"
else
	SSH_PORT="$(ops_free_port 2222)"
	cat >"$NODE_DIR/sshd_config" <<-EOF
		# The quick start's build node; see scripts/quickstart.sh.
		Port $SSH_PORT
		ListenAddress 127.0.0.1
		HostKey $NODE_DIR/ssh_host_ed25519_key
		PidFile $NODE_DIR/sshd.pid
		AuthorizedKeysFile $NODE_DIR/authorized_keys
		AllowUsers $NODE_USER
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitRootLogin prohibit-password
		UsePAM no
		StrictModes no
		PrintMotd no
		LogLevel VERBOSE
		# Sessions get a home of their own, so the node does not depend on
		# this machine's dotfiles (a slow shell profile would slow every
		# remote step) and leaves nothing in the real home.
		SetEnv HOME=$NODE_DIR/home
	EOF
	# sshd's privilege separation directory; init systems create it, so
	# machines without one may lack it.
	ops_as_root mkdir -p /run/sshd
	SSHD="$(command -v sshd || echo /usr/sbin/sshd)"
	"$SSHD" -t -f "$NODE_DIR/sshd_config" || ops_die "sshd rejected $NODE_DIR/sshd_config"
	# sshd detaches itself and writes its pid file.
	"$SSHD" -f "$NODE_DIR/sshd_config" -E "$NODE_DIR/sshd.log" </dev/null ||
		ops_die "sshd did not start (log: $NODE_DIR/sshd.log)"
	ops_wait_port "$SSH_PORT" 10 || ops_die "sshd does not listen on 127.0.0.1:$SSH_PORT (log: $NODE_DIR/sshd.log)"
	echo "$SSH_PORT" >"$NODE_DIR/port"
	ops_log "sshd listening on 127.0.0.1:$SSH_PORT (log: $NODE_DIR/sshd.log)"
fi

# ops reads ~/.ssh/config and ~/.ssh/known_hosts; with HOME=$QS_HOME those
# are these files. The node's host key is trusted explicitly here, never on
# first use.
read -r host_key_type host_key_data _ <"$NODE_DIR/ssh_host_ed25519_key.pub"
echo "[127.0.0.1]:$SSH_PORT $host_key_type $host_key_data" >"$QS_HOME/.ssh/known_hosts"
cat >"$QS_HOME/.ssh/config" <<-EOF
	Host $ALIAS
	    HostName 127.0.0.1
	    Port $SSH_PORT
	    User $NODE_USER
	    IdentityFile $QS_HOME/.ssh/id_ed25519
	    UserKnownHostsFile $QS_HOME/.ssh/known_hosts
EOF
chmod 600 "$QS_HOME/.ssh/config" "$QS_HOME/.ssh/known_hosts"

# The same files, checked with OpenSSH itself (which takes ~ from the
# password database, hence -F).
ssh -F "$QS_HOME/.ssh/config" -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o IdentitiesOnly=yes -o IdentityAgent=none "$ALIAS" true </dev/null ||
	ops_die "ssh to the quick start node failed (log: $NODE_DIR/sshd.log)"
ops_log "ssh $ALIAS works (host key pinned in $QS_HOME/.ssh/known_hosts)"

# --- the registry: docker-registry on 127.0.0.1 with htpasswd ---------------

if [ -n "${OPS_QUICKSTART_TOKEN:-}" ]; then
	TOKEN="$OPS_QUICKSTART_TOKEN"
elif [ -s "$REG_DIR/token" ]; then
	TOKEN="$(cat "$REG_DIR/token")"
else
	TOKEN="$(ops_random_token)"
fi
(umask 077 && printf '%s' "$TOKEN" >"$REG_DIR/token")

# curl reads the credentials from stdin, so the token is never in argv.
registry_status() {
	printf 'user = "%s:%s"\n' "$REG_USER" "$TOKEN" |
		curl -s -o /dev/null -w '%{http_code}' -K - "http://127.0.0.1:$1$2" || true
}

if ops_pidfile_alive "$REG_DIR/registry.pid" && [ -s "$REG_DIR/port" ] &&
	[ "$(registry_status "$(cat "$REG_DIR/port")" /v2/)" = 200 ]; then
	REG_PORT="$(cat "$REG_DIR/port")"
	ops_log "registry already running on 127.0.0.1:$REG_PORT"
else
	stop_pidfile "$REG_DIR/registry.pid" "old registry"
	REG_PORT="$(ops_free_port 5000)"
	printf '%s' "$TOKEN" | htpasswd -n -B -i "$REG_USER" >"$REG_DIR/htpasswd"
	cat >"$REG_DIR/config.yml" <<-EOF
		version: 0.1
		log:
		  level: info
		storage:
		  filesystem:
		    rootdirectory: $REG_DIR/storage
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$REG_PORT
		  secret: $(ops_random_token)
		auth:
		  htpasswd:
		    realm: ops-quickstart
		    path: $REG_DIR/htpasswd
	EOF
	chmod 600 "$REG_DIR/config.yml"
	setsid docker-registry serve "$REG_DIR/config.yml" >>"$REG_DIR/registry.log" 2>&1 </dev/null &
	echo $! >"$REG_DIR/registry.pid"
	ops_wait_port "$REG_PORT" 15 || ops_die "registry did not start (log: $REG_DIR/registry.log)"
	echo "$REG_PORT" >"$REG_DIR/port"
	ops_log "registry listening on 127.0.0.1:$REG_PORT (log: $REG_DIR/registry.log)"
fi
[ "$(registry_status "$REG_PORT" /v2/)" = 200 ] || ops_die "registry refuses the quick start token"

# dockerd treats 127.0.0.0/8 as an insecure registry, so plain HTTP works;
# a login with a throwaway Docker config proves it and leaves nothing behind.
docker_config="$(mktemp -d)"
if ! printf '%s' "$TOKEN" | DOCKER_CONFIG="$docker_config" docker login --username "$REG_USER" \
	--password-stdin "127.0.0.1:$REG_PORT" >"$docker_config/login.log" 2>&1; then
	cat "$docker_config/login.log" >&2
	rm -rf "$docker_config"
	ops_die "docker login to 127.0.0.1:$REG_PORT failed"
fi
rm -rf "$docker_config"
ops_log "docker login to 127.0.0.1:$REG_PORT works"

# --- the project: examples/hello, its git origin, and ops.toml --------------

git_quiet() {
	git -c user.name="ops quickstart" -c user.email=quickstart@ops.invalid "$@"
}
if [ ! -d "$PROJECT/.git" ]; then
	mkdir -p "$PROJECT"
	cp -R "$OPS_REPO_ROOT/examples/hello/." "$PROJECT/"
	rm -rf "$PROJECT/target"
	git_quiet -C "$PROJECT" init -q -b main
	git_quiet -C "$PROJECT" add -A
	git_quiet -C "$PROJECT" commit -q -m "hello: example project"
	ops_log "copied examples/hello to $PROJECT"
fi
if [ ! -d "$ORIGIN" ]; then
	git clone -q --bare "$PROJECT" "$ORIGIN"
	git -C "$PROJECT" remote add origin "$ORIGIN" 2>/dev/null ||
		git -C "$PROJECT" remote set-url origin "$ORIGIN"
	ops_log "git origin $ORIGIN"
fi

cat >"$PROJECT/ops.toml" <<-EOF
	# Written by scripts/quickstart.sh for the throwaway node in $QS_DIR.
	project = "hello"
	target = "$ALIAS"   # Host alias in $QS_HOME/.ssh/config

	[build]
	path = "$NODE_DIR/builds/hello"
	command = "sh build.sh"
	source = "git"
	branch = "main"

	[build.git]
	repo = "$ORIGIN"

	[build.image]
	dockerfile = "Dockerfile.prod"
	registry = "127.0.0.1:$REG_PORT"
	token = "\$OPS_QUICKSTART_TOKEN"
	username = "$REG_USER"
	prefix = "127.0.0.1:$REG_PORT/hello"
	binary_arg = "SERVICE_BINARY"
	services = ["api", "worker", "web"]
EOF

# ops for this setup: private HOME, the registry token from its file, and
# no ssh-agent of yours.
cat >"$QS_DIR/bin/ops" <<-EOF
	#!/bin/sh
	# ops against the quick start's node and registry ($QS_DIR).
	OPS_QUICKSTART_TOKEN="\$(cat '$REG_DIR/token')"
	export OPS_QUICKSTART_TOKEN
	unset SSH_AUTH_SOCK
	HOME='$QS_HOME' exec '$OPS_BIN' "\$@"
EOF
chmod 755 "$QS_DIR/bin/ops"

# ops itself reaches the node the same way ops build will.
(cd "$PROJECT" && "$QS_DIR/bin/ops" exec -- true) ||
	ops_die "ops exec on the quick start node failed"
ops_log "ops exec reaches the node through $QS_HOME/.ssh/config"

ops_log "setup done: node $ALIAS (127.0.0.1:$SSH_PORT), registry 127.0.0.1:$REG_PORT, project $PROJECT"
if [ "$SETUP_ONLY" = yes ]; then
	echo "Next: cd $PROJECT && $QS_DIR/bin/ops build"
	exit 0
fi

# --- the build ----------------------------------------------------------------

ops_log "cd $PROJECT && $QS_DIR/bin/ops build"
cd "$PROJECT"
status=0
"$QS_DIR/bin/ops" build || status=$?
if [ "$status" -ne 0 ]; then
	ops_die "ops build failed (exit $status); the node, registry and project are still set up in $QS_DIR"
fi

# --- where the images are -----------------------------------------------------

echo
echo "Images in the registry at 127.0.0.1:$REG_PORT:"
for service in api worker web; do
	digest="$(printf 'user = "%s:%s"\n' "$REG_USER" "$TOKEN" |
		curl -sf -K - -o /dev/null -D - \
			-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
			-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
			"http://127.0.0.1:$REG_PORT/v2/hello/$service/manifests/latest" |
		tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }')"
	printf '  %-36s %s\n' "127.0.0.1:$REG_PORT/hello/$service:latest" "${digest:-(missing)}"
done
echo
echo "Catalog: curl -u $REG_USER:\$(cat $REG_DIR/token) http://127.0.0.1:$REG_PORT/v2/_catalog"
echo "Build again after a change: cd $PROJECT && git commit -am ... && git push origin main && $QS_DIR/bin/ops build"
echo "Stop the node and registry: scripts/quickstart.sh --stop"
