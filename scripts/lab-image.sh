#!/bin/sh
# Builds the lvs-lab VM image from Debian packages: an uncompressed vmlinux
# (booted through its PVH entry, see lab-probe.md), a tiny boot initramfs and
# a read-only ext4 root holding a minimal Debian userland plus the kernel
# modules IPVS labs need. Called by src/lab/image.ts, which decides the cache
# key and the output directory; this script never touches anything else.
#
# Environment (all required unless noted):
#   OUT      directory to create; must not exist (the caller renames it in place)
#   WORK     scratch directory (deleted by the caller)
#   DEBS     .deb cache shared between builds (debootstrap --cache-dir)
#   KPKG     kernel package, e.g. linux-image-6.1.0-56-amd64
#   GUEST    directory with the guest files (init, sysinit, inittab, agent.py)
#   MODULES  space separated kernel modules to ship (their dependencies follow)
#   BOOT_MODULES  modules the initramfs loads to reach the root (virtio, ext4, overlay)
#   LOAD_MODULES  modules the guest loads at boot (the others autoload on use)
#   PACKAGES comma separated Debian packages for the guest userland
#   MIRROR   Debian mirror (optional, default http://deb.debian.org/debian)
#   SUITE    Debian suite (optional, default bookworm)
#
# Progress goes to stdout as "lab-image: STEP: message"; on failure the last
# line on stderr names the step that failed.
set -eu

: "${OUT:?}" "${WORK:?}" "${DEBS:?}" "${KPKG:?}" "${GUEST:?}" "${MODULES:?}" "${BOOT_MODULES:?}" "${LOAD_MODULES:?}" "${PACKAGES:?}"
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

STEP=start
on_exit() {
  rc=$?
  if [ "$rc" -ne 0 ]; then echo "lab-image: step \"$STEP\" failed (exit $rc)" >&2; fi
}
trap on_exit EXIT

step() {
  STEP=$1
  shift
  echo "lab-image: $STEP: $*"
}

for tool in debootstrap dpkg-deb depmod modprobe cpio xz mkfs.ext4 apt-get; do
  command -v "$tool" >/dev/null 2>&1 || { STEP=tools; echo "lab-image: missing host tool: $tool (install: qemu-system-x86 debootstrap cpio kmod xz-utils e2fsprogs zstd)" >&2; exit 3; }
done

mkdir -p "$WORK" "$DEBS"
ROOTFS=$WORK/rootfs
KDIR=$WORK/kernel

step kernel-download "fetching $KPKG"
deb=$(find "$DEBS/" -maxdepth 1 -name "${KPKG}_*.deb" | head -n 1)
if [ -z "$deb" ]; then
  (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$KPKG")
  deb=$(find "$DEBS/" -maxdepth 1 -name "${KPKG}_*.deb" | head -n 1)
fi

step kernel-unpack "$(basename "$deb")"
dpkg-deb -x "$deb" "$KDIR"
KVER=$(basename "$(find "$KDIR/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
# The package ships no modules.dep (its postinst runs depmod on install).
depmod -b "$KDIR" "$KVER"

step vmlinux "extracting the uncompressed kernel for a PVH boot"
bz=$KDIR/boot/vmlinuz-$KVER
# The bzImage wraps an xz stream; qemu's PVH entry needs the ELF inside.
off=$(grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || { echo "lab-image: no xz stream in $bz" >&2; exit 4; }
tail -c +"$((off + 1))" "$bz" | xz -dc >"$WORK/vmlinux" 2>/dev/null || true
head -c 4 "$WORK/vmlinux" | grep -q 'ELF' || { echo "lab-image: extracted kernel is not an ELF file" >&2; exit 4; }

step debootstrap "$SUITE minbase + $PACKAGES (the slow step, about a minute)"
debootstrap --variant=minbase --cache-dir="$DEBS" --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -n 20 "$WORK/debootstrap.log" >&2
  exit 5
}
# A maintainer script must not leave a daemon running from the chroot.
for p in /proc/[0-9]*; do
  if [ "$(readlink "$p/root" 2>/dev/null || true)" = "$ROOTFS" ]; then
    echo "lab-image: killing $(cat "$p/comm") left running in the chroot" >&2
    kill -9 "${p#/proc/}" 2>/dev/null || true
  fi
done

step modules "selecting $MODULES and their dependencies"
modlist=$WORK/modules.txt
: >"$modlist"
for m in $MODULES $BOOT_MODULES; do
  modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" >>"$modlist" 2>"$WORK/modprobe.err" || {
    echo "lab-image: kernel $KVER has no module $m: $(cat "$WORK/modprobe.err")" >&2
    exit 6
  }
done
dest=$ROOTFS/lib/modules/$KVER
rm -rf "$dest"
mkdir -p "$dest"
cp "$KDIR/lib/modules/$KVER"/modules.builtin* "$KDIR/lib/modules/$KVER"/modules.order "$dest"/
grep '^insmod ' "$modlist" | awk '{print $2}' | sort -u | while read -r ko; do
  rel=${ko#"$KDIR/lib/modules/$KVER/"}
  mkdir -p "$dest/$(dirname "$rel")"
  cp "$ko" "$dest/$rel"
done
depmod -b "$ROOTFS" "$KVER"
echo "lab-image: modules: $(find "$dest" -name '*.ko*' | wc -l) files, $(du -sh "$dest" | cut -f1)"

step trim "removing docs, man pages, locales and apt caches"
rm -rf "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
  "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/usr/share/lintian "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/log/*.log

step guest "installing init, sysinit and the agent"
install -m 0755 "$GUEST/sysinit" "$ROOTFS/usr/local/sbin/lab-sysinit"
install -m 0644 "$GUEST/inittab" "$ROOTFS/etc/inittab"
mkdir -p "$ROOTFS/usr/local/lib/lvs-lab"
install -m 0644 "$GUEST/agent.py" "$ROOTFS/usr/local/lib/lvs-lab/agent.py"
echo "$KVER" >"$ROOTFS/usr/local/lib/lvs-lab/kernel-release"
echo "$LOAD_MODULES" >"$ROOTFS/usr/local/lib/lvs-lab/modules-load"
# Loading dummy must not invent a dummy0 in the VM: the lab creates what it needs.
echo "options dummy numdummies=0" >"$ROOTFS/etc/modprobe.d/lvs-lab.conf"
echo lvs-lab >"$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lvs-lab\n' >"$ROOTFS/etc/hosts"
# Byte-compile once here: a read-only root cannot cache .pyc files and
# compiling on every boot costs seconds under TCG.
if [ -x "$ROOTFS/usr/bin/python3" ]; then
  chroot "$ROOTFS" /usr/bin/python3 -m py_compile /usr/local/lib/lvs-lab/agent.py
fi
# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
chroot "$ROOTFS" dpkg-query -W -f '${Package} ${Version}\n' >"$WORK/packages.txt"

step initramfs "busybox + boot modules"
ird=$WORK/initramfs
mkdir -p "$ird/bin" "$ird/lib/modules" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/lower" "$ird/upper" "$ird/newroot"
cp "$ROOTFS/bin/busybox" "$ird/bin/busybox"
: >"$ird/modules.order"
for m in $BOOT_MODULES; do
  modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | grep '^insmod ' | awk '{print $2}' | while read -r ko; do
    base=$(basename "$ko")
    if ! grep -qx "$base" "$ird/modules.order"; then
      cp "$ko" "$ird/lib/modules/$base"
      echo "$base" >>"$ird/modules.order"
    fi
  done
done
install -m 0755 "$GUEST/init" "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.img"

step rootfs-image "mkfs.ext4 -d (no loop device, no journal)"
size_mb=$(( $(du -sm "$ROOTFS" | cut -f1) * 13 / 10 + 64 ))
mkfs.ext4 -q -F -L lvslab -O ^has_journal -E root_owner=0:0 -d "$ROOTFS" "$WORK/rootfs.ext4" "${size_mb}M"

step finish "writing $OUT"
mkdir -p "$OUT"
mv "$WORK/vmlinux" "$WORK/initrd.img" "$WORK/rootfs.ext4" "$OUT/"
mv "$WORK/packages.txt" "$OUT/packages.txt"
echo "$KVER" >"$OUT/kernel-release"
echo "lab-image: done: $(du -sh "$OUT" | cut -f1) in $OUT"
