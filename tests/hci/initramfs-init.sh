#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of the HCI-emulation initramfs (copied in by setup.sh; busybox sh).
#
# Stage 1 of the guest boot: load the virtio/9p modules, mount the host's
# root filesystem read-only at /newroot and the run's results directory
# read-write over it (at the same absolute path the host uses), give the
# guest private writable tmpfs where daemons need state, then make PID 1
# itself chroot into the host root and run stage 2 (tests/hci/guest-init.sh).
#
# PID 1 must do the chroot itself (exec, not a child): kernel threads share
# PID 1's fs_struct, so the kernel's module-autoload helper then resolves
# paths in the host root, where our modprobe helper lives.
#
# Kernel command line parameters read here:
#   hci_out=/abs/path    results directory (9p tag "hciout", read-write)
#   hci_init=/abs/path   stage-2 script inside the host root
export PATH=/bin

/bin/busybox --install -s /bin

fail() {
	echo "HCI-INIT: error: $*"
	echo "HCI-RESULT rc=125"
	poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r m; do
	insmod "/mods/$m" || echo "HCI-INIT: insmod $m failed"
done </mods/order

out=""
repo=""
init2=""
for a in $(cat /proc/cmdline); do
	case $a in
	hci_out=*) out=${a#hci_out=} ;;
	hci_repo=*) repo=${a#hci_repo=} ;;
	hci_init=*) init2=${a#hci_init=} ;;
	esac
done
[ -n "$out" ] && [ -n "$repo" ] && [ -n "$init2" ] ||
	fail "hci_out=, hci_repo= or hci_init= missing"

# msize: larger 9p messages make reading host binaries noticeably faster.
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" hostroot /newroot || fail "cannot mount host root"

# Writable private state. Skip symlinks (Debian's /var/run -> /run): mount
# would follow them out of /newroot.
for d in tmp run var/tmp var/lib/bluetooth var/lib/dbus; do
	if [ -d "/newroot/$d" ] && [ ! -L "/newroot/$d" ]; then
		mount -t tmpfs -o mode=0755 tmpfs "/newroot/$d"
	fi
done
chmod 1777 /newroot/tmp
# The repository again at its own path, on top of those (a checkout in
# /tmp would be hidden otherwise), then the results directory inside it.
mkdir -p "/newroot$repo" 2>/dev/null
mount -t 9p -o "$opts,ro,cache=loose" hcirepo "/newroot$repo" ||
	fail "cannot mount the repository at $repo"
mount -t 9p -o "$opts,rw" hciout "/newroot$out" ||
	fail "cannot mount results directory at $out"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -o bind /dev /newroot/dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm

[ -x "/newroot$init2" ] || fail "$init2 not found or not executable in host root"
exec chroot /newroot "$init2"
