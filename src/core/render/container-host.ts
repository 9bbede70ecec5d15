/**
 * Per-node setup of a container host (LXC, LXD, OpenVZ). Containers share
 * the host's kernel: the host loads the modules its directors and TUN real
 * servers need, allows them to the containers, and for OpenVZ venet makes
 * the VIP deliverable into a container without announcing it (seed 002).
 */
import type { Installation, NormalizedRealServer } from '../model.js';
import { ipvsModules } from './director.js';
import { addSysctls, emptyPlan, renderSetup } from './real-server.js';
import type { GeneratedFile, NodeSetup } from './types.js';

/** Where the LXC network lines of a multi-NIC director go; the container config includes it. */
export function lxcIncludePath(container: string): string {
  return `/etc/lvs-toolkit/lxc/${container}.conf`;
}

/** Host bridge of a director's Nth interface: lxcbr0 (LXC's default) for the first, lvsbrN for the others. */
export function lxcBridge(index: number): string {
  return index === 0 ? 'lxcbr0' : `lvsbr${index}`;
}

/**
 * The hook vzctl runs when container CTID is mounted. vzctl adds the
 * container's venet routes only after the mount hooks have run, so the hook
 * deletes the VIP's route from a background job once the route appears
 * (waiting at most 60 s). The hook in seed 002 never worked as written: it
 * read `vzctl status` once before its loop (so the loop never saw a change),
 * compared an unset counter with `==` and used bash arrays in an sh script,
 * and incremented its counter only after `exit`, so a container that was not
 * running kept the loop spinning forever.
 */
export function renderVenetRouteHook(ctid: number, vips: readonly string[]): string {
  const lines = [
    '#!/bin/sh',
    `# lvs-toolkit: container ${ctid} holds ${vips.join(' ')} (vzctl --ipadd) so that venet delivers LVS traffic`,
    '# to it, but the host must not route or proxy-ARP the VIP for the whole network.',
    '# vzctl adds the venet routes after this mount hook: wait (at most 60 s) for each route and delete it.',
    '(',
    `  pending='${vips.join(' ')}'`,
    '  i=0',
    '  while [ -n "$pending" ] && [ "$i" -lt 60 ]; do',
    "    left=''",
    '    for vip in $pending; do',
    '      if ip route show "$vip/32" dev venet0 2>/dev/null | grep -q .; then',
    '        ip route del "$vip/32" dev venet0 || left="$left $vip"',
    '      else',
    '        left="$left $vip"',
    '      fi',
    '    done',
    '    pending=$left',
    '    i=$((i + 1))',
    '    if [ -n "$pending" ]; then sleep 1; fi',
    '  done',
    ') </dev/null >/dev/null 2>&1 &',
    'exit 0',
  ];
  return `${lines.join('\n')}\n`;
}

interface Guest {
  name: string;
  kind: 'director' | 'real server';
  platform: NormalizedRealServer['platform'];
}

/**
 * Setup of container host `hostName`. Throws for a name that is not in
 * `containerHosts` (a caller bug: names come from the model).
 */
export function renderContainerHostSetup(model: Installation, hostName: string): NodeSetup {
  const host = model.containerHosts.find((h) => h.name === hostName);
  if (!host) {
    throw new Error(`no container host named ${hostName} (known: ${model.containerHosts.map((h) => h.name).join(', ') || 'none'})`);
  }
  const plan = emptyPlan(model, hostName, 'container host');
  const modules: string[] = [];
  const addModules = (ms: string[]) => {
    for (const m of ms) if (!modules.includes(m)) modules.push(m);
  };
  const guestModules = new Map<string, string[]>();
  const guests: Guest[] = [];

  const directorModules = ipvsModules(model);
  for (const d of model.directors) {
    if (d.platform.host !== hostName) continue;
    guests.push({ name: d.name, kind: 'director', platform: d.platform });
    if (directorModules.length) {
      addModules(directorModules);
      guestModules.set(d.name, [...directorModules]);
    }
    if (host.kind === 'lxc' && d.interfaces.length > 1) {
      const lines = [`# lvs-toolkit: extra interfaces of director ${d.name}, included from /var/lib/lxc/${d.name}/config.`];
      d.interfaces.forEach((iface, index) => {
        if (index === 0) return;
        lines.push(
          `lxc.net.${index}.type = veth`,
          `lxc.net.${index}.link = ${lxcBridge(index)}`,
          `lxc.net.${index}.name = ${iface.name}`,
          `lxc.net.${index}.flags = up`,
          ...(iface.address ? [`lxc.net.${index}.ipv4.address = ${iface.address}`] : []),
        );
        plan.network.push(
          `if [ ! -d /sys/class/net/${lxcBridge(index)} ]; then`,
          `  ip link add ${lxcBridge(index)} type bridge`,
          'fi',
          `ip link set ${lxcBridge(index)} up`,
        );
      });
      const file: GeneratedFile = {
        path: lxcIncludePath(d.name),
        content: `${lines.join('\n')}\n`,
        mode: 0o644,
        validator: 'none',
        description: `LXC lines for ${d.name}'s ${d.interfaces.length - 1} extra interface(s), included from its config`,
      };
      plan.extraFiles.push(file);
      const include = `lxc.include = ${file.path}`;
      plan.install.push(
        `if ! grep -qxF '${include}' /var/lib/lxc/${d.name}/config; then`,
        `  echo '${include}' >>/var/lib/lxc/${d.name}/config`,
        `  echo "lvs-toolkit: restart container ${d.name} for its new interfaces" >&2`,
        'fi',
      );
    }
  }

  const venetVips = new Map<number, string[]>();
  const ipipGuests = new Set<string>();
  for (const s of model.services) {
    for (const rs of s.realServers) {
      if (rs.platform.host !== hostName) continue;
      if (!guests.some((g) => g.name === rs.name)) guests.push({ name: rs.name, kind: 'real server', platform: rs.platform });
      if (s.mode === 'tun') {
        addModules(['ipip']);
        guestModules.set(rs.name, [...new Set([...(guestModules.get(rs.name) ?? []), 'ipip'])]);
        ipipGuests.add(rs.name);
      }
      if (rs.platform.type === 'openvz-venet' && (s.mode === 'dr' || s.mode === 'tun')) {
        if (rs.platform.ctid === undefined) {
          plan.install.push(`echo "lvs-toolkit: warning: ${rs.name} has no OpenVZ ctid in the model: add VIP ${s.vip} to it by hand" >&2`);
          continue;
        }
        const vips = venetVips.get(rs.platform.ctid) ?? [];
        if (!vips.includes(s.vip)) vips.push(s.vip);
        venetVips.set(rs.platform.ctid, vips);
      }
    }
  }
  for (const s of model.services) {
    if (s.hostPortMap?.host !== hostName) continue;
    addSysctls(plan, [{ path: 'net/ipv4/ip_forward', value: 1, why: `service ${s.name}: host port ${s.hostPortMap.port} is forwarded (DNAT) to the balancer` }]);
  }

  plan.modules.push(...modules);
  for (const g of guests) plan.summary.push(`Container ${g.name} (${g.kind}, ${g.platform.type}${g.platform.ctid !== undefined ? ` ${g.platform.ctid}` : ''}).`);

  switch (host.kind) {
    case 'lxc':
      if (modules.length) plan.summary.push('LXC containers use the host kernel: the modules are loaded here, before the containers start.');
      break;
    case 'lxd':
      for (const [name, ms] of guestModules) {
        // LXD loads linux.kernel_modules on the host when the instance starts (LXD instance options).
        plan.install.push(`lxc config set ${name} linux.kernel_modules ${ms.join(',')}`);
      }
      break;
    case 'openvz': {
      for (const g of guests) {
        if (ipipGuests.has(g.name) && g.platform.ctid !== undefined) plan.install.push(`vzctl set ${g.platform.ctid} --feature ipip:on --save`);
      }
      for (const [ctid, vips] of venetVips) {
        for (const vip of vips) {
          plan.install.push(`vzlist -H -o ip ${ctid} | grep -Fqw ${vip} || vzctl set ${ctid} --ipadd ${vip} --save`);
          plan.network.push(`if ip route show ${vip}/32 dev venet0 2>/dev/null | grep -q .; then`, `  ip route del ${vip}/32 dev venet0`, 'fi');
        }
        plan.extraFiles.push({
          path: `/etc/vz/conf/${ctid}.mount`,
          content: renderVenetRouteHook(ctid, vips),
          mode: 0o755,
          validator: 'sh',
          description: `removes the VIP's venet route each time container ${ctid} starts (replaces any existing ${ctid}.mount)`,
        });
      }
      if (venetVips.size) {
        addSysctls(plan, [
          { path: 'net/ipv4/conf/all/rp_filter', value: 0, why: 'venet: the effective rp_filter is max(all, venet0); the other interfaces keep their own value' },
          { path: 'net/ipv4/conf/venet0/rp_filter', value: 0, why: 'venet: replies leave the containers from the VIP, which has no route to venet0 any more' },
        ]);
      }
      break;
    }
    default: {
      const never: never = host.kind;
      throw new Error(`unhandled container host kind ${String(never)}`);
    }
  }
  return renderSetup(model, plan);
}
