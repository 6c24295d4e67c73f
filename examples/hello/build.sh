#!/bin/sh
# The example's "build": writes one program and one info file per service
# into target/release/, as `cargo build --release` would write binaries.
# target/ is git-ignored, so it stays on the build node between runs; the
# build counter below shows that.
set -eu

services="api worker web"
version=$(cat VERSION)
commit=none
if [ -e .git ]; then
	commit=$(git rev-parse HEAD)
fi

# Vendored libraries (git submodules under vendor/) are recorded too.
vendored=$(cat vendor/*/VERSION 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
[ -n "$vendored" ] || vendored=none

mkdir -p target/release
count=$(cat target/release/build-count 2>/dev/null || echo 0)
count=$((count + 1))
echo "$count" >target/release/build-count

for svc in $services; do
	printf '#!/bin/sh\necho "%s %s"\n' "$svc" "$version" >"target/release/$svc"
	chmod +x "target/release/$svc"
	printf 'service=%s\nversion=%s\ncommit=%s\nvendored=%s\nbuild=%s\n' \
		"$svc" "$version" "$commit" "$vendored" "$count" >"target/release/$svc.txt"
	echo "built $svc ($version, commit $commit, build $count)"
done
