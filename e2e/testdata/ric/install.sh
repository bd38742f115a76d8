#!/usr/bin/env bash
# Installs aws-lambda-ric, the Node.js runtime interface client of Lambda's
# Node.js images, for e2e/nodejs_test.go and e2e/lmi_test.go: the Debian
# packages its native build needs (it compiles its own libcurl and
# aws-lambda-cpp), then the package pinned in package.json /
# package-lock.json, into node_modules here. Version 4 declares Node.js 22
# or later but runs on 20; npm only warns (EBADENGINE).
# Idempotent: does nothing when the pinned version is already built.
# Takes 1-1.5 minutes on a fresh machine (apt-get about 15 s, the native
# build about 60 s on 2 CPUs); needs root, or sudo, for apt-get.
set -euo pipefail
cd "$(dirname "$0")"

ric=node_modules/aws-lambda-ric
# Version 4 builds its native client at the package root (3 had it in dist/).
native=$ric/rapid-client.node
pinned=$(node -p 'require("./package.json").dependencies["aws-lambda-ric"]')
if [ -f "$native" ] && [ -f "$ric/package.json" ] &&
	[ "$(node -p "require('./$ric/package.json').version")" = "$pinned" ]; then
	echo "aws-lambda-ric $pinned already installed in $(pwd)/$ric"
	exit 0
fi

need=()
# Debian's nodejs package comes without npm (NodeSource's includes it).
command -v npm >/dev/null || need+=(npm)
for pkg in cmake autoconf automake libtool libcurl4-openssl-dev g++ make python3; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The native build (libcurl, aws-lambda-cpp, the node addon) runs make: in parallel.
export MAKEFLAGS="${MAKEFLAGS:--j$(nproc)}" JOBS="${JOBS:-$(nproc)}"
# npm ci starts from an empty node_modules and follows package-lock.json.
if [ -f package-lock.json ]; then
	npm ci --no-audit --no-fund
else
	npm install --no-audit --no-fund
fi
test -f "$native" || { echo "aws-lambda-ric built no $native" >&2; exit 1; }
echo "aws-lambda-ric $pinned installed in $(pwd)/$ric"
