#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make test-install: installs the .deb files from `make deb` on this machine
# (apt-get, as root) and checks them as a user would:
#   - `bleota --version` and `bleota-peripheral --version` print the release;
#   - `man -w` finds bleota(1), bleota-peripheral(8) and bleota-desired(5),
#     and they render without warnings;
#   - bash completion completes commands, sub-commands, options (read from
#     the installed programs' --help) and unix: device sockets;
#   - both systemd units pass `systemd-analyze verify`; their exposure
#     scores from `systemd-analyze security` are printed;
#   - a program built against libbleota-dev (pkg-config bleota) links the
#     installed device-side libraries and runs;
#   - the demo (tests/tools/demo.sh) runs against /usr/bin/bleota and
#     /usr/bin/bleota-peripheral.
# Prints "install: N passed, N failed"; exits non-zero if anything failed.
#
# usage: test-install.sh DEB_DIR BUILD_DIR
set -u

DEB_DIR=$1
B=$2
release=$(sed -n 's/^RELEASE := //p' Makefile)
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

echo "== install $(ls "$DEB_DIR"/bleota_*.deb "$DEB_DIR"/libbleota-dev_*.deb | tr '\n' ' ')"
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi
if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	--no-install-recommends --reinstall man-db bash-completion \
	"$(realpath "$DEB_DIR"/bleota_*.deb)" \
	"$(realpath "$DEB_DIR"/libbleota-dev_*.deb)" >"$work/apt.log" 2>&1; then
	ok "packages installed"
else
	tail -20 "$work/apt.log"
	bad "apt-get install of the packages"
	echo "install: $passed passed, $failed failed"
	exit 1
fi

echo "== versions"
for p in bleota bleota-peripheral; do
	v=$(/usr/bin/$p --version 2>&1)
	echo "\$ $p --version: $v"
	case $v in
	"$p $release"*) ok "$p --version" ;;
	*) bad "$p --version printed '$v', expected '$p $release...'" ;;
	esac
done

echo "== manual pages"
for m in bleota bleota-peripheral bleota-desired; do
	if w=$(man -w "$m" 2>&1) && [ "${w#/usr/share/man/}" != "$w" ]; then
		ok "man -w $m: $w"
	else
		bad "man -w $m: $w"
	fi
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings "$m" 2>&1 >/dev/null)
	if [ -z "$warn" ]; then
		ok "man $m renders without warnings"
	else
		bad "man $m: $warn"
	fi
done
man bleota 2>/dev/null | grep -q 'EXIT STATUS' && ok "man bleota has EXIT STATUS" ||
	bad "man bleota lacks its EXIT STATUS section"

echo "== bash completion"
# complete LINE: what bash would offer after typing LINE (the last word
# being completed), one candidate per line.
complete_line()
{
	bash -c '
		. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/bleota
		. /usr/share/bash-completion/completions/bleota-peripheral
		read -r -a COMP_WORDS <<<"$1"
		[ "${1: -1}" = " " ] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$1 COMP_POINT=${#1}
		fn=$(complete -p "${COMP_WORDS[0]}" | sed "s/.*-F \([^ ]*\).*/\1/")
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$1"
}
expect_completion()
{
	local line=$1 want=$2 got
	got=$(cd "$work" && complete_line "$line")
	if printf '%s\n' "$got" | grep -qx -- "$want"; then
		ok "completion of '$line' offers '$want'"
	else
		bad "completion of '$line' should offer '$want', got: $(echo $got)"
	fi
}
mkdir -p "$work/sockdir"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' "$work/sockdir/dev.sock"
expect_completion "bleota pu" push
expect_completion "bleota se" serve
expect_completion "bleota image " verify
expect_completion "bleota flash c" create
expect_completion "bleota push --no-c" --no-commit
expect_completion "bleota push --conf" --confirm
expect_completion "bleota info unix:sockdir/d" unix:sockdir/dev.sock
expect_completion "bleota flash create dev.flash --layout " two-ota
expect_completion "bleota-peripheral --trusted" --trusted-key
expect_completion "bleota-peripheral --chip esp32c" esp32c6

echo "== systemd units"
# verify wants a unit name it can instantiate; the units' copies are
# checked as installed, then scored (exposure: lower is better)
for unit in bleota-peripheral@.service bleota-serve.service; do
	name=${unit/@./@demo.}
	cp "/lib/systemd/system/$unit" "$work/$name"
	if out=$(cd "$work" && systemd-analyze verify "$name" 2>&1) &&
		[ -z "$out" ]; then
		ok "systemd-analyze verify $unit"
	else
		bad "systemd-analyze verify $unit: $out"
	fi
	score=$(cd "$work" && systemd-analyze security --offline=true \
		"$name" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$score" ]; then
		ok "systemd-analyze security $unit: exposure $score (0 best, 10 worst)"
	else
		bad "systemd-analyze security $unit printed no score"
	fi
done

echo "== libbleota-dev"
cat >"$work/sdk.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "protocol/status.h"
#include "ota_engine/otadata.h"

int main(void)
{
	const char *s = ota_status_name(OTA_STATUS_OK);

	printf("status 0 is %s\n", s);
	return strcmp(s, "OK") != 0;
}
C
if cc -std=c11 $(pkg-config --cflags bleota) -o "$work/sdk" "$work/sdk.c" \
	$(pkg-config --libs bleota) 2>"$work/cc.log" && "$work/sdk"; then
	ok "a program built with pkg-config bleota links and runs"
else
	cat "$work/cc.log"
	bad "building against libbleota-dev"
fi

echo "== the demo with the installed programs"
if BLEOTA=/usr/bin/bleota BLEOTA_PERIPHERAL=/usr/bin/bleota-peripheral \
	tests/tools/demo.sh "$B" >"$work/demo.log" 2>&1; then
	tail -1 "$work/demo.log"
	ok "demo against /usr/bin"
else
	tail -30 "$work/demo.log"
	bad "demo against /usr/bin"
fi

echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
