#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs the Debian packages bleota needs to build and test, if any are
# missing. Called by `make demo`, `make test` and .ci/run so that both README
# commands work on a fresh Debian 12 machine. Prints nothing when all is there.
#
# usage: ensure-deps.sh [EXTRA-PACKAGE...]
set -eu

pkgs="gcc make pkg-config libcmocka-dev libmbedtls-dev libglib2.0-dev \
libdbus-1-dev libbluetooth-dev libdivsufsort-dev libsoup-3.0-dev \
libjson-glib-dev libcurl4-openssl-dev nettle-dev nghttp2-server nghttp2-proxy openssl \
dbus-daemon $*"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "bleota: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "bleota: need root to install:$missing" >&2
	echo "bleota: run as root, or: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
