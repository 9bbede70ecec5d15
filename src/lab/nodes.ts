/**
 * A lab node is a separate host made of namespaces: its own network
 * namespace (a named `ip netns`, so `ip -n NODE` and `ip netns exec` work
 * from the lab's root), plus a persistent mount namespace and UTS namespace
 * bound to files under the lab's root dir. Inside the mount namespace:
 *
 * - `/etc` is a bind mount of a per-node copy of the root's /etc: each node
 *   has its own keepalived.conf, sysctl.d, nginx, haproxy, nftables.conf,
 *   hostname and hosts, and apply can write them at their real paths;
 * - `/run` (so `/var/run`) and `/tmp` are fresh tmpfs: keepalived's
 *   /run/keepalived.pid, vrrp.pid and checkers.pid — which it uses to refuse
 *   a second instance — never collide between nodes;
 * - `/var/log` is a per-node dir with the root's directory layout;
 * - `/sys` is remounted from inside the node's network namespace, so
 *   /sys/class/net lists the node's interfaces (what `ip netns exec` does).
 *
 * Why not `ip netns exec`'s /etc/netns/NAME overlay: it only covers /etc
 * entries that already exist, gives no private /run, and is set up anew for
 * every command (a remount of /sys per exec, costly under TCG). The UTS
 * namespace matters too: keepalived's router_id defaults to the hostname.
 *
 * The scripts run with `sh` on the lab's root Host (VM root or, natively,
 * this machine) with their arguments as positional parameters.
 */
import type { Host } from '../host/types.js';
import { LabError } from './errors.js';

export interface NodeLayout {
  /** Directory holding `ns/` (namespace files) and `nodes/NAME/` (per-node /etc, /var/log). */
  root: string;
  /** Prepended to a node's name for its `ip netns` name: empty in the VM, `lvslab-` natively. */
  netnsPrefix: string;
}

/** The VM's layout: /run is a tmpfs there, gone with the VM. */
export const VM_LAYOUT: NodeLayout = { root: '/run/lvs-lab', netnsPrefix: '' };

/** Node names double as netns, file and host names: short, lower case, no surprises. */
export const NODE_NAME = /^[a-z][a-z0-9-]{0,14}$/;

export function netnsName(layout: NodeLayout, node: string): string {
  return `${layout.netnsPrefix}${node}`;
}

/** argv prefix that runs a command inside the node. */
export function nodePrefix(layout: NodeLayout, node: string): string[] {
  return [
    'nsenter',
    `--net=/run/netns/${netnsName(layout, node)}`,
    `--mount=${layout.root}/ns/${node}.mnt`,
    `--uts=${layout.root}/ns/${node}.uts`,
    '--',
  ];
}

const CREATE = `set -eu
name=$1 netns=$2 root=$3
dir=$root/nodes/$name
ns=$root/ns
if [ -e "/run/netns/$netns" ] || [ -e "$dir" ]; then
  echo "lab node $name already exists" >&2
  exit 17
fi
mkdir -p "$ns" "$dir/log"
# unshare --mount=FILE binds the new namespace onto FILE; the kernel refuses
# that on a shared mount (systemd makes / shared), so ns/ is its own private mount.
mountpoint -q "$ns" || mount --bind "$ns" "$ns"
mount --make-private "$ns"
: >"$ns/$name.mnt"
: >"$ns/$name.uts"
cp -a /etc "$dir/etc"
echo "$name" >"$dir/etc/hostname"
printf '127.0.0.1 localhost\\n127.0.1.1 %s\\n' "$name" >"$dir/etc/hosts"
(cd /var/log && find . -type d) | (cd "$dir/log" && xargs mkdir -p)
ip netns add "$netns"
ip -n "$netns" link set lo up
nsenter --net="/run/netns/$netns" unshare --mount="$ns/$name.mnt" --uts="$ns/$name.uts" --propagation private sh -c '
set -e
hostname "$2"
mount --bind "$1/etc" /etc
mount --bind "$1/log" /var/log
# Last: the node dir itself may live under /run (or /tmp).
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/lock /run/netns
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
umount -l /sys
mount -t sysfs sysfs /sys
' sh "$dir" "$name"
`;

const DESTROY = `set -u
name=$1 netns=$2 root=$3
ns=$root/ns
if [ -e "/run/netns/$netns" ]; then
  pids=$(ip netns pids "$netns")
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -9 $pids
  i=0
  while [ -n "$(ip netns pids "$netns")" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  ip netns del "$netns"
fi
for f in "$ns/$name.mnt" "$ns/$name.uts"; do
  if [ -e "$f" ]; then
    umount "$f" 2>/dev/null || true
    rm -f "$f"
  fi
done
rm -rf "$root/nodes/$name"
`;

const LIST = `[ -d "$1/nodes" ] && ls -1 "$1/nodes"; exit 0`;

function checkName(node: string): void {
  if (!NODE_NAME.test(node)) {
    throw new LabError(`bad lab node name "${node}"`, 'use 1-15 characters: a lower-case letter, then letters, digits or "-"');
  }
}

/** Create the node's namespaces and private dirs; refuses a node that already exists. */
export async function createNode(root: Host, layout: NodeLayout, node: string): Promise<void> {
  checkName(node);
  const r = await root.run(['sh', '-c', CREATE, 'sh', node, netnsName(layout, node), layout.root]);
  if (r.exitCode !== 0) {
    if (r.exitCode !== 17) await destroyNode(root, layout, node);
    throw new LabError(`cannot create lab node ${node} on ${root.describe()}`, undefined, r.stderr.trim());
  }
}

/** Kill everything in the node, drop its namespaces and files. Idempotent. */
export async function destroyNode(root: Host, layout: NodeLayout, node: string): Promise<void> {
  checkName(node);
  const r = await root.run(['sh', '-c', DESTROY, 'sh', node, netnsName(layout, node), layout.root]);
  if (r.exitCode !== 0) throw new LabError(`cannot remove lab node ${node} on ${root.describe()}`, undefined, r.stderr.trim());
}

export async function listNodes(root: Host, layout: NodeLayout): Promise<string[]> {
  const r = await root.run(['sh', '-c', LIST, 'sh', layout.root]);
  return r.stdout.split('\n').filter((l) => NODE_NAME.test(l));
}

/** After the last node: release the private ns/ mount and the lab root dir. */
export async function removeLayout(root: Host, layout: NodeLayout): Promise<void> {
  await root.run(['sh', '-c', 'mountpoint -q "$1/ns" && umount "$1/ns"; rm -rf "$1"', 'sh', layout.root]);
}
