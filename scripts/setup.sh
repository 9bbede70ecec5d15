#!/bin/sh
# Installs everything lvs-toolkit needs on a Debian/Ubuntu machine, then the
# npm dependencies and the build. Idempotent: packages already present are not
# fetched again, and npm ci / tsc are skipped when nothing changed.
set -eu

cd "$(dirname "$0")/.."

PACKAGES="libpcap-dev keepalived ipvsadm iproute2 nftables iptables tcpdump tshark nginx-light libnginx-mod-stream haproxy ldirectord shellcheck procps kmod busybox-static\
  openssh-server openssh-client iputils-arping arptables ethtool\
  qemu-system-x86 qemu-system-data debootstrap cpio xz-utils e2fsprogs zstd"

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: installing system packages needs root (run: sudo npm run setup)" >&2
    exit 2
  fi
}

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  need_root
  echo "setup: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # Packages must not start their daemons (nginx on :80, keepalived) on the
  # machine we install on: the toolkit starts them itself inside namespaces.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
else
  echo "setup: system packages present"
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.lvs-setup-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
else
  echo "setup: node_modules up to date"
fi

npm run --silent build

# The lab's VM image (Debian kernel with IPVS + a small userland), for machines
# whose own kernel has no IPVS. Cached in ~/.cache/lvs-toolkit/lab: seconds
# when nothing changed, about a minute the first time.
if [ "$(id -u)" -eq 0 ] && [ ! -e /proc/net/ip_vs ] && ! modprobe -q ip_vs 2>/dev/null; then
  node -e 'import("./dist/lab/image.js").then(async (m) => { const i = await m.ensureImage({ onProgress: (l) => console.log(`setup: lab image: ${l}`) }); console.log(`setup: lab image ${i.cached ? "cached" : "built"}: ${i.dir} (${(i.elapsedMs / 1000).toFixed(1)} s)`); }).catch((e) => { console.error(`setup: lab image: ${e.message}`); process.exit(1); })'
fi
echo "setup: done"
