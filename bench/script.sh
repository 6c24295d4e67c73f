#!/bin/sh
# The hand-written deploy script ops is measured against: the example
# build's steps (sync with git, the build command, registry login, the
# images in parallel, their pushes in parallel, logout) with OpenSSH, one
# `ssh` per step. SSH_OPTS adds options (the ControlMaster variant).
#
#   HOST= CONFIG= BUILD_PATH= REPO= REGISTRY= PREFIX= SERVICES= TOKEN= bench/script.sh
set -eu
# shellcheck disable=SC2086
run() { ssh -F "$CONFIG" -o BatchMode=yes $SSH_OPTS "$HOST" "$@"; }

run "set -e; if [ -d '$BUILD_PATH/.git' ]; then cd '$BUILD_PATH'; git fetch -q origin; \
else git clone -q '$REPO' '$BUILD_PATH'; cd '$BUILD_PATH'; fi; \
git checkout -q --force --detach origin/main; git submodule -q update --init --recursive"
run "cd '$BUILD_PATH' && sh build.sh" >/dev/null
conf=$(run 'mktemp -d')
printf '%s' "$TOKEN" | run "DOCKER_CONFIG=$conf docker login -u ops --password-stdin $REGISTRY" >/dev/null 2>&1
pids=
for s in $SERVICES; do
	run "cd '$BUILD_PATH' && DOCKER_CONFIG=$conf docker build -q -f Dockerfile.prod \
--build-arg SERVICE_BINARY=$s -t $PREFIX/$s:latest ." >/dev/null 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
pids=
for s in $SERVICES; do
	run "DOCKER_CONFIG=$conf docker push -q $PREFIX/$s:latest" >/dev/null 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
run "rm -rf $conf"
