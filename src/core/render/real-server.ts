/**
 * Per-node setup of an LVS real server, and the script scaffolding that the
 * director and container-host setups share (they import it from here).
 *
 * A setup is a set of persistent files plus one POSIX sh script that applies
 * the same state now. The script is also installed as
 * /usr/local/sbin/lvs-toolkit-setup and run at boot by a systemd oneshot
 * unit: addresses on lo/tunl0 and routes have no distro-neutral persistent
 * file (ifupdown, NetworkManager, netplan, network-scripts all differ).
 */
import { type Installation, type NormalizedRealServer, type NormalizedService } from '../model.js';
import { addressOf, cidrContains } from '../net.js';
import { renderIptables, iptablesJumpCommands } from './firewall-iptables.js';
import { renderNftables } from './firewall-nft.js';
import { type GeneratedFile, type NodeSetup } from './types.js';

export const SETUP_SCRIPT_PATH = '/usr/local/sbin/lvs-toolkit-setup';
export const SETUP_UNIT_PATH = '/etc/systemd/system/lvs-toolkit.service';
export const SYSCTL_PATH = '/etc/sysctl.d/60-lvs-toolkit.conf';
export const MODULES_PATH = '/etc/modules-load.d/lvs-toolkit.conf';
export const NFT_PATH = '/etc/lvs-toolkit/firewall.nft';
export const IPTABLES_PATH = '/etc/lvs-toolkit/firewall.iptables';

/** One kernel setting; `path` is relative to /proc/sys ("net/ipv4/conf/all/arp_ignore"). */
export interface SysctlSetting {
  path: string;
  value: number;
  /** One line: why this node needs it. */
  why: string;
}

/** What a role's renderer decides; `renderSetup` turns it into files and a script. */
export interface SetupPlan {
  installation: string;
  node: string;
  role: 'real server' | 'director' | 'container host';
  /** Header comment lines of the script. */
  summary: string[];
  /** Kernel modules: loaded by modules-load.d at boot and modprobe now (never inside a container). */
  modules: string[];
  /** Comment lines where modules would be (e.g. why a container loads none). */
  moduleNotes: string[];
  /** sh lines run before the sysctls (checks that fail early with a message). */
  checks: string[];
  sysctls: SysctlSetting[];
  /** Extra comment lines for the sysctl file (guidance with no setting). */
  sysctlNotes: string[];
  /** sh lines for addresses and routes (runtime state). */
  network: string[];
  /** sh lines run only by a full apply (persistent settings of other tools: vzctl --save, lxc config). */
  install: string[];
  extraFiles: GeneratedFile[];
  /** Units ours must start before (the director's balancers need their addresses). */
  unitBefore: string[];
}

export function emptyPlan(model: Installation, node: string, role: SetupPlan['role']): SetupPlan {
  return {
    installation: model.name,
    node,
    role,
    summary: [],
    modules: [],
    moduleNotes: [],
    checks: [],
    sysctls: [],
    sysctlNotes: [],
    network: [],
    install: [],
    extraFiles: [],
    unitBefore: [],
  };
}

/** sysctl.d key: dotted, unless an interface name has a dot (eth0.100): then slashes, which sysctl.d(5) also accepts. */
export function sysctlKey(path: string): string {
  const parts = path.split('/');
  return parts.some((p) => p.includes('.')) ? path : parts.join('.');
}

/** Add settings, keeping the first occurrence of a path (callers list the most important first). */
export function addSysctls(plan: SetupPlan, settings: SysctlSetting[]): void {
  for (const s of settings) if (!plan.sysctls.some((x) => x.path === s.path)) plan.sysctls.push(s);
}

/** True for LXC/LXD/OpenVZ: a container shares the host's kernel and cannot load modules. */
export function isContainer(platform: { type: string }): boolean {
  return platform.type !== 'host';
}

function firewallFile(model: Installation, node: string): GeneratedFile | undefined {
  switch (model.firewall) {
    case 'nftables':
      return {
        path: NFT_PATH,
        content: renderNftables(model, node),
        mode: 0o644,
        validator: 'nft',
        description: `nftables table inet lvs_toolkit for ${node} (applied by ${SETUP_SCRIPT_PATH})`,
      };
    case 'iptables':
      return {
        path: IPTABLES_PATH,
        content: renderIptables(model, node),
        mode: 0o644,
        validator: 'iptables-restore',
        description: `iptables LVS-TOOLKIT-* chains for ${node} (applied by ${SETUP_SCRIPT_PATH})`,
      };
    case 'none':
      return undefined;
    default: {
      const never: never = model.firewall;
      throw new Error(`unhandled firewall ${String(never)}`);
    }
  }
}

function firewallLines(model: Installation, node: string): string[] {
  switch (model.firewall) {
    case 'nftables':
      return ['# Firewall: replace our nftables table (the rest of the ruleset stays).', `nft -f "$root${NFT_PATH}"`];
    case 'iptables':
      return [
        '# Firewall: replace our iptables chains, then jump to them once from the built-in chains.',
        `iptables-restore --noflush "$root${IPTABLES_PATH}"`,
        ...iptablesJumpCommands(model, node),
      ];
    case 'none':
      return [];
    default: {
      const never: never = model.firewall;
      throw new Error(`unhandled firewall ${String(never)}`);
    }
  }
}

function section(title: string, lines: string[]): string[] {
  return lines.length ? ['', `# ${title}`, ...lines] : [];
}

function indent(lines: string[]): string[] {
  return lines.map((l) => (l ? `  ${l}` : l));
}

/**
 * Files and script for a plan. The script takes one optional argument:
 * (none) applies everything and enables the unit; `--boot` (what the unit
 * runs) skips systemctl; `--runtime-only` also skips modprobe and the other
 * tools' persistent settings, leaving sysctls, addresses, routes and the
 * firewall: that is what a test runs inside a throw-away network namespace.
 * LVS_TOOLKIT_ROOT prefixes the paths of the files the script reads.
 */
export function renderSetup(model: Installation, plan: SetupPlan): NodeSetup {
  const fw = firewallFile(model, plan.node);
  const fwLines = firewallLines(model, plan.node);
  const hasWork =
    plan.modules.length + plan.checks.length + plan.sysctls.length + plan.network.length + plan.install.length + fwLines.length > 0;

  const s: string[] = [
    '#!/bin/sh',
    `# lvs-toolkit setup for ${plan.node} (${plan.role}) in installation ${model.name}.`,
    ...plan.summary.map((l) => `# ${l}`),
    '#',
    `# Usage: ${SETUP_SCRIPT_PATH.split('/').pop()} [--boot | --runtime-only]`,
    '#   (no argument)   apply everything now and enable lvs-toolkit.service for the next boots',
    '#   --boot          what lvs-toolkit.service runs: everything but systemctl',
    '#   --runtime-only  sysctls, addresses, routes and firewall only: no modprobe, no vzctl/lxc,',
    '#                   no systemctl (for a throw-away network namespace, or a re-apply)',
  ];
  if (fwLines.length) s.push('# LVS_TOOLKIT_ROOT (default: empty) prefixes the paths of the files this script reads.');
  s.push('# Running it twice is harmless: every step sets a state instead of adding to it.', 'set -eu', '');
  s.push(
    'mode=full',
    'case "${1:-}" in',
    "  '') ;;",
    '  --boot) mode=boot ;;',
    '  --runtime-only) mode=runtime ;;',
    '  *) echo "usage: $0 [--boot | --runtime-only]" >&2; exit 2 ;;',
    'esac',
  );
  if (fwLines.length) s.push('root=${LVS_TOOLKIT_ROOT:-}');
  if (plan.sysctls.length) {
    s.push(
      '',
      '# Write /proc/sys directly: no dependency on procps, and a missing key fails with its name.',
      'set_sysctl() {',
      '  if [ ! -e "/proc/sys/$1" ]; then',
      '    echo "lvs-toolkit: /proc/sys/$1 does not exist here (module not loaded, or not available in this container)" >&2',
      '    exit 1',
      '  fi',
      `  printf '%s\\n' "$2" >"/proc/sys/$1"`,
      '}',
    );
  }
  if (plan.modules.length) {
    s.push('', '# Kernel modules (also loaded at boot by modules-load.d).', 'if [ "$mode" != runtime ]; then', ...plan.modules.map((m) => `  modprobe ${m}`), 'fi');
  }
  if (plan.moduleNotes.length) s.push('', ...plan.moduleNotes.map((l) => `# ${l}`));
  s.push(...section('Checks', plan.checks));
  if (plan.install.length) {
    // Before the runtime part: e.g. `vzctl --ipadd` adds a venet route that the network part then removes.
    s.push('', "# Other tools' persistent settings (full apply only).", 'if [ "$mode" = full ]; then', ...indent(plan.install), 'fi');
  }
  s.push(
    ...section(
      `Kernel settings (the same as ${SYSCTL_PATH}).`,
      plan.sysctls.flatMap((x) => [`# ${x.why}`, `set_sysctl ${x.path} ${x.value}`]),
    ),
  );
  s.push(...section('Addresses and routes.', plan.network));
  s.push(...(fwLines.length ? ['', ...fwLines] : []));
  if (!hasWork) s.push('', `# Nothing to do on ${plan.node}.`);
  if (hasWork) {
    s.push(
      '',
      '# Run again at every boot: addresses and routes are not persistent by themselves.',
      'if [ "$mode" = full ]; then',
      '  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then',
      '    systemctl daemon-reload',
      '    systemctl enable lvs-toolkit.service',
      '  else',
      `    echo "lvs-toolkit: no systemd here: run ${SETUP_SCRIPT_PATH} --boot at boot (rc.local, /etc/local.d)" >&2`,
      '  fi',
      'fi',
    );
  }
  const script = `${s.join('\n')}\n`;
  if (!hasWork) return { files: [...plan.extraFiles], script };

  const files: GeneratedFile[] = [];
  if (plan.sysctls.length || plan.sysctlNotes.length) {
    const lines = [`# lvs-toolkit: kernel settings for ${plan.node} (${plan.role}), installation ${model.name}.`];
    lines.push(...plan.sysctlNotes.map((l) => `# ${l}`));
    for (const x of plan.sysctls) lines.push(`# ${x.why}`, `${sysctlKey(x.path)} = ${x.value}`);
    files.push({ path: SYSCTL_PATH, content: `${lines.join('\n')}\n`, mode: 0o644, validator: 'none', description: 'kernel settings applied at every boot' });
  }
  if (plan.modules.length) {
    files.push({
      path: MODULES_PATH,
      content: `# lvs-toolkit: kernel modules for ${plan.node} (${plan.role}).\n${plan.modules.join('\n')}\n`,
      mode: 0o644,
      validator: 'none',
      description: `kernel modules loaded at boot: ${plan.modules.join(', ')}`,
    });
  }
  files.push({ path: SETUP_SCRIPT_PATH, content: script, mode: 0o755, validator: 'sh', description: 'applies modules, sysctls, addresses, routes and firewall now and at boot' });
  const before = plan.unitBefore.length ? [`Before=${plan.unitBefore.join(' ')}`] : [];
  const unit = [
    '[Unit]',
    `Description=lvs-toolkit: kernel settings, addresses and firewall of ${plan.role} ${plan.node}`,
    'Wants=network-online.target',
    'After=network-online.target',
    ...before,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${SETUP_SCRIPT_PATH} --boot`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  files.push({ path: SETUP_UNIT_PATH, content: `${unit.join('\n')}\n`, mode: 0o644, validator: 'none', description: `runs ${SETUP_SCRIPT_PATH} --boot at every boot` });
  if (fw) files.push(fw);
  files.push(...plan.extraFiles);
  return { files, script };
}

interface Membership {
  service: NormalizedService;
  rs: NormalizedRealServer;
}

function memberships(model: Installation, rsName: string): Membership[] {
  return model.services.flatMap((service) => service.realServers.filter((rs) => rs.name === rsName).map((rs) => ({ service, rs })));
}

/** The interface a real server receives on: OpenVZ venet containers only have venet0. */
export function realServerInterface(rs: NormalizedRealServer): string {
  return rs.platform.type === 'openvz-venet' ? 'venet0' : rs.interface;
}

/**
 * The NAT gateway of a real server: its own `gateway`, else the natRouter
 * address, else a floating VRRP address in its subnet, else the first
 * director's address in its subnet.
 */
export function natGateway(model: Installation, rs: NormalizedRealServer): string | undefined {
  if (rs.gateway) return rs.gateway;
  if (model.natRouter) return addressOf(model.natRouter.address);
  for (const inst of model.vrrp?.instances ?? []) {
    const a = inst.addresses.find((x) => x.address.includes('/') && !x.address.endsWith('/32') && cidrContains(x.address, rs.address));
    if (a) return addressOf(a.address);
  }
  for (const d of model.directors) {
    const i = d.interfaces.find((x) => x.address !== undefined && cidrContains(x.address, rs.address));
    if (i?.address) return addressOf(i.address);
  }
  return undefined;
}

function arpSettings(iface: string, why: string): SysctlSetting[] {
  return [
    { path: 'net/ipv4/conf/all/arp_ignore', value: 1, why: `${why}: answer ARP only for addresses on the asking interface (the kernel uses max(all, iface))` },
    { path: `net/ipv4/conf/${iface}/arp_ignore`, value: 1, why: `${why}: same on ${iface}` },
    { path: 'net/ipv4/conf/all/arp_announce', value: 2, why: `${why}: never use the VIP as the source of our own ARP requests` },
    { path: `net/ipv4/conf/${iface}/arp_announce`, value: 2, why: `${why}: same on ${iface}` },
  ];
}

/**
 * Setup of real server `rsName` for every service it serves. Throws when no
 * service names that real server: the caller picks names from the model, so
 * an unknown one is a bug, not user input.
 */
export function renderRealServerSetup(model: Installation, rsName: string): NodeSetup {
  const ms = memberships(model, rsName);
  const first = ms[0];
  if (!first) {
    const known = [...new Set(model.services.flatMap((s) => s.realServers.map((r) => r.name)))];
    throw new Error(`no real server named ${rsName} (known: ${known.join(', ') || 'none'})`);
  }
  const rs = first.rs;
  const iface = realServerInterface(rs);
  const inContainer = isContainer(rs.platform);
  const plan = emptyPlan(model, rsName, 'real server');
  const modes = new Set(ms.map((m) => m.service.mode));
  for (const m of ms) plan.summary.push(`Service ${m.service.name}: ${m.service.mode.toUpperCase()}, VIP ${m.service.vip}, this server ${rs.address}.`);

  const drVips = [...new Set(ms.filter((m) => m.service.mode === 'dr').map((m) => m.service.vip))];
  const tunVips = [...new Set(ms.filter((m) => m.service.mode === 'tun').map((m) => m.service.vip))];

  if (tunVips.length) {
    if (inContainer) {
      plan.moduleNotes.push(
        `Modules: none here. A container cannot load kernel modules: the container host ${rs.platform.host ?? '(unnamed)'}`,
        'loads ipip (its lvs-toolkit setup), and tunl0 then appears in this container.',
      );
    } else {
      plan.modules.push('ipip');
    }
    plan.checks.push(
      'if [ ! -d /sys/class/net/tunl0 ]; then',
      `  echo "lvs-toolkit: tunl0 is missing: the ipip module is not loaded${inContainer ? ` (load it on the container host ${rs.platform.host ?? ''}${rs.platform.type.startsWith('openvz') ? ' and allow it: vzctl set CTID --feature ipip:on' : ''})` : ''}" >&2`,
      '  exit 1',
      'fi',
    );
    // LVS-TUN: the decapsulated packet comes in on tunl0 with the client's source address, for
    // which the reverse path is not tunl0: strict rp_filter drops it (ip-sysctl.rst, rp_filter;
    // the effective value is max(all, iface)).
    addSysctls(plan, [
      { path: 'net/ipv4/conf/all/rp_filter', value: 0, why: 'TUN: decapsulated client packets arrive on tunl0, which is not their reverse path' },
      { path: 'net/ipv4/conf/tunl0/rp_filter', value: 0, why: 'TUN: same on tunl0' },
      { path: `net/ipv4/conf/${iface}/rp_filter`, value: 0, why: `TUN: same on ${iface}, where the tunnel packets are received` },
    ]);
    // Linux answers ARP for any local address on any interface, tunl0's VIP included.
    addSysctls(plan, arpSettings(iface, 'TUN: the VIP on tunl0 must stay invisible to ARP'));
    plan.network.push('ip link set tunl0 up', ...tunVips.map((v) => `ip addr replace ${v}/32 dev tunl0`));
  }
  if (drVips.length) {
    addSysctls(plan, arpSettings(iface, 'DR: the VIP on lo must stay invisible to ARP'));
    plan.network.push(...drVips.map((v) => `ip addr replace ${v}/32 dev lo`));
  }
  if (modes.has('nat')) {
    const gw = natGateway(model, rs);
    if (gw) {
      plan.network.push('# NAT: replies must go back through the director, which rewrites them to the VIP.', `ip route replace default via ${gw} dev ${iface}`);
    } else {
      plan.network.push(`echo "lvs-toolkit: no NAT gateway for ${rs.address}: set gateway on the real server or natRouter" >&2`, 'exit 1');
    }
  }
  if (modes.has('nginx') || modes.has('haproxy')) {
    plan.summary.push('Layer 7 services need nothing LVS-specific here: the balancer connects to this server like any client.');
  }
  if (rs.platform.type === 'openvz-venet' && (drVips.length || tunVips.length)) {
    plan.summary.push(`OpenVZ venet: the container host adds the VIP to this container (vzctl --ipadd) and removes its venet route.`);
  }
  return renderSetup(model, plan);
}
