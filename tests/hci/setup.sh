#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Prepares everything the HCI-emulation VM needs, idempotently:
#
#   1. host packages (qemu, busybox, BlueZ and its test tools, ...) via apt;
#   2. a Debian 6.1 kernel, unpacked under build/hci/kernel/ with depmod run;
#   3. build/hci/initrd.gz: busybox plus the virtio/9p modules needed to
#      mount the host's root filesystem (see tests/hci/initramfs-init.sh);
#   4. build/hci/modprobe-helper and build/hci/env, used by the guest, and
#      build/hci/vhci-handles.so (tests/hci/vhci-handles.c), a btvirt shim.
#
# Nothing fetched here is committed: it all lands under build/ (gitignored).
# A second run with everything in place only checks and returns quickly.
#
# Environment:
#   HCI_BUILD           output directory (default: <repo>/build/hci)
#   HCI_KERNEL_PKG      force a kernel package name (e.g.
#                       linux-image-6.1.0-56-amd64-unsigned)
#   HCI_KERNEL_REFRESH  1: download the kernel again even if one is unpacked
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${HCI_BUILD:-$root/build/hci}

say() { printf 'hci-setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported"

# --------------------------------------------------------------------------
# 1. Host packages. The guest runs the host's own binaries (its / is the
# host's / over 9p), so everything a scenario uses must be installed here.
# libglib2.0-bin gives gdbus; bluez gives bluetoothd, bluetoothctl, btmgmt,
# btmon and gatttool; bluez-test-tools gives btvirt.

pkgs="qemu-system-x86 qemu-system-data seabios busybox-static cpio kmod \
bluez bluez-test-tools dbus libglib2.0-bin coreutils procps"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ "$(id -u)" = 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo -n"
else
	sudo="none"
fi

# Other users of this machine may hold the dpkg lock; wait rather than fail.
apt_opts="-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends"
export DEBIAN_FRONTEND=noninteractive

if [ -n "$missing" ]; then
	[ "$sudo" != none ] ||
		die "need root to install:$missing (apt-get install$missing)"
	say "installing:$missing"
	$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install $apt_opts $missing </dev/null >/dev/null ||
		die "apt-get install failed for:$missing"
fi

# --------------------------------------------------------------------------
# 2. Kernel. Which 6.1 ABI is current changes with every point release, so
# it is never hard-coded: follow the linux-image-amd64 metapackage to its
# signed image, and take the -unsigned twin (same kernel, plain bzImage).
# If the metapackage does not point at a 6.1 kernel, take the highest
# linux-image-6.1.0-*-amd64-unsigned apt can actually install.

kdir=$out/kernel

candidate_ok() {
	# True when apt has a downloadable version of package $1.
	v=$(apt-cache policy "$1" 2>/dev/null |
		sed -n 's/^ *Candidate: *//p')
	[ -n "$v" ] && [ "$v" != "(none)" ]
}

pick_kernel_pkg() {
	if [ -n "${HCI_KERNEL_PKG:-}" ]; then
		echo "$HCI_KERNEL_PKG"
		return
	fi
	signed=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' |
		head -n 1)
	if [ -n "$signed" ] && candidate_ok "$signed-unsigned"; then
		echo "$signed-unsigned"
		return
	fi
	for p in $(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		grep -E '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' |
		sort -t- -k4,4nr); do
		if candidate_ok "$p"; then
			echo "$p"
			return
		fi
	done
	# Last resort: the signed image boots just as well under qemu.
	if [ -n "$signed" ] && candidate_ok "$signed"; then
		echo "$signed"
	fi
}

have_kernel() {
	[ -s "$kdir/VERSION" ] || return 1
	v=$(cat "$kdir/VERSION")
	[ -f "$kdir/boot/vmlinuz-$v" ] &&
		[ -s "$kdir/lib/modules/$v/modules.dep" ]
}

if [ "${HCI_KERNEL_REFRESH:-0}" = 1 ] || ! have_kernel; then
	pkg=$(pick_kernel_pkg)
	if [ -z "$pkg" ]; then
		[ "$sudo" = none ] || $sudo apt-get update -qq || true
		pkg=$(pick_kernel_pkg)
	fi
	[ -n "$pkg" ] || die "no Debian 6.1 kernel package found by apt
  (looked for linux-image-amd64 -> linux-image-6.1.0-NN-amd64[-unsigned]);
  check /etc/apt/sources.list and run apt-get update, or set
  HCI_KERNEL_PKG=<package name>"
	say "downloading $pkg"
	rm -rf "$out/dl" "$kdir.new"
	mkdir -p "$out/dl" "$kdir.new"
	# apt-get download writes into the current directory; as root it
	# drops privileges to _apt, which must be able to write there.
	chmod 0777 "$out/dl"
	(cd "$out/dl" && apt-get download -qq "$pkg" </dev/null) ||
		die "apt-get download $pkg failed"
	deb=$(ls "$out/dl"/*.deb)
	dpkg-deb -x "$deb" "$kdir.new"
	# Bookworm puts modules in /lib; a merged-/usr package would use
	# /usr/lib. modprobe -d wants DIR/lib/modules.
	if [ ! -d "$kdir.new/lib/modules" ] &&
		[ -d "$kdir.new/usr/lib/modules" ]; then
		ln -s usr/lib "$kdir.new/lib"
	fi
	v=$(ls "$kdir.new/lib/modules" | head -n 1)
	[ -n "$v" ] && [ -f "$kdir.new/boot/vmlinuz-$v" ] ||
		die "$pkg does not contain boot/vmlinuz and lib/modules"
	depmod -b "$kdir.new" "$v"
	echo "$v" >"$kdir.new/VERSION"
	echo "$pkg" >"$kdir.new/PACKAGE"
	rm -rf "$kdir" "$out/dl"
	mv "$kdir.new" "$kdir"
	say "kernel $v unpacked in $kdir"
fi
kver=$(cat "$kdir/VERSION")

# The options the recipe relies on; fail here rather than inside the VM.
cfg=$kdir/boot/config-$kver
for opt in CONFIG_BT=m CONFIG_BT_LE=y CONFIG_BT_HCIVHCI=m \
	CONFIG_NET_9P_VIRTIO=m CONFIG_9P_FS=m CONFIG_CRYPTO_USER_API_HASH=m; do
	grep -qx "$opt" "$cfg" || die "$cfg lacks $opt"
done

# --------------------------------------------------------------------------
# 3. initramfs: busybox, the modules to reach the host root over 9p, and
# our /init. Rebuilt when any input is newer than the image.

initrd=$out/initrd.gz
init_src=$here/initramfs-init.sh
boot_mods="virtio_pci 9pnet_virtio 9p virtio_rng"

# True when file $1 is newer than file $2 (test -nt is not POSIX).
newer() {
	[ -n "$(find "$1" -newer "$2" 2>/dev/null)" ]
}

if [ ! -s "$initrd" ] || newer "$init_src" "$initrd" ||
	newer "$kdir/VERSION" "$initrd" || newer "$0" "$initrd"; then
	say "building $initrd"
	stage=$out/initrd.d
	rm -rf "$stage"
	mkdir -p "$stage/bin" "$stage/mods" "$stage/proc" "$stage/sys" \
		"$stage/dev" "$stage/newroot" "$stage/tmp"
	cp /bin/busybox "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$init_src" "$stage/init"
	chmod 0755 "$stage/init"
	# --show-depends prints "insmod PATH" lines, dependencies first.
	: >"$stage/mods/order"
	for m in $boot_mods; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$m" |
			sed -n 's/^insmod \([^ ]*\).*/\1/p'
	done | awk '!seen[$0]++' | while read -r ko; do
		name=$(basename "$ko")
		case $name in
		*.ko.xz) xz -dc "$ko" >"$stage/mods/${name%.xz}"
			name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$ko" >"$stage/mods/${name%.zst}"
			name=${name%.zst} ;;
		*) cp "$ko" "$stage/mods/$name" ;;
		esac
		echo "$name" >>"$stage/mods/order"
	done
	[ -s "$stage/mods/order" ] || die "no boot modules found for $kver"
	(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 >"$initrd.new"
	mv "$initrd.new" "$initrd"
	rm -rf "$stage"
fi

# --------------------------------------------------------------------------
# 4. Files the guest reads through 9p. The kernel runs the modprobe helper
# for module autoload with an empty environment, so it carries the paths.

cat >"$out/modprobe-helper.new" <<EOF
#!/bin/sh
exec /sbin/modprobe -d '$kdir' -S '$kver' "\$@"
EOF
chmod 0755 "$out/modprobe-helper.new"
mv "$out/modprobe-helper.new" "$out/modprobe-helper"

# The btvirt shim that lets a controller hold several LE connections
# (vhci-handles.c says why); serve.sh preloads it into btvirt.
shim=$out/vhci-handles.so
if [ ! -s "$shim" ] || newer "$here/vhci-handles.c" "$shim"; then
	say "building $shim"
	${CC:-cc} -std=c11 -O2 -Wall -Wextra -fPIC -shared -o "$shim.new" \
		"$here/vhci-handles.c" -ldl || die "cannot build $shim"
	mv "$shim.new" "$shim"
fi

cat >"$out/env.new" <<EOF
HCI_KDIR='$kdir'
HCI_KVER='$kver'
EOF
mv "$out/env.new" "$out/env"

say "ready: kernel $kver ($(cat "$kdir/PACKAGE")), $initrd"
