/**
 * Firewall rules for one node, role-aware (director, real server, container
 * host), as an abstract plan rendered here for nftables and in
 * firewall-iptables.ts for iptables-restore. Both renderers read the same
 * plan so the two formats can never disagree about what a node lets in.
 *
 * We only ever touch our own table / chains: a node's firewall belongs to its
 * administrator, and flushing the whole ruleset would drop Docker's, LXD's
 * or firewalld's rules with it.
 */
import { isL4, type Installation, type NormalizedRealServer, type NormalizedService } from '../model.js';
import { addressOf, cidrContains } from '../net.js';

/** The chains of our table; each is bound to one netfilter hook. */
export type FirewallChain = 'input' | 'forward' | 'fwmark' | 'portmap' | 'portmap-local';

export interface RuleMatch {
  /** Incoming interface. */
  iif?: string;
  /** Outgoing interface. */
  oif?: string;
  saddr?: string[];
  daddr?: string[];
  /** A TCP/UDP match. */
  l4?: { protocol: 'tcp' | 'udp'; sports?: number[]; dports?: number[] };
  /** An IP protocol number without ports: 112 is VRRP, 4 is IP-in-IP. */
  ipProtocol?: 112 | 4;
  /** Destination is one of this node's own addresses (nft `fib daddr type local`, iptables `addrtype LOCAL`). */
  localDestination?: boolean;
}

export type RuleAction =
  | { type: 'accept' }
  | { type: 'mark'; mark: number }
  | { type: 'dnat'; address: string; port: number };

export interface FirewallRule {
  chain: FirewallChain;
  match: RuleMatch;
  action: RuleAction;
  /** Shown in the rule (nft `comment`, iptables `-m comment`): why the rule exists. */
  comment: string;
}

/** IPVS connection synchronisation port (Documentation/networking/ipvs-sysctl.rst, sync_ports: base 8848). */
const IPVS_SYNC_PORT = 8848;
/** Piranha pulse heartbeat default (lvs.cf `heartbeat_port`). */
const PIRANHA_HEARTBEAT_PORT = 539;

/** The ports a real server listens on: its own port, or the service's ports when 0 (fwmark keeps the client's port). */
export function realServerPorts(service: NormalizedService, rs: NormalizedRealServer): number[] {
  return rs.port === 0 ? [...service.ports] : [rs.port];
}

/** Own (non-floating) addresses of every director that says them. */
export function directorAddresses(model: Installation): string[] {
  return model.directors.flatMap((d) => d.interfaces.flatMap((i) => (i.address ? [addressOf(i.address)] : [])));
}

/** The interface of `directorName` whose subnet contains `ip`, if any. */
export function directorInterfaceFor(model: Installation, directorName: string, ip: string): string | undefined {
  const d = model.directors.find((x) => x.name === directorName);
  return d?.interfaces.find((i) => i.address !== undefined && cidrContains(i.address, ip))?.name;
}

function clean(comment: string): string {
  return comment.replace(/["\\\n]/g, ' ').slice(0, 120);
}

function directorRules(model: Installation, name: string): FirewallRule[] {
  const rules: FirewallRule[] = [];
  for (const s of model.services) {
    rules.push({
      chain: 'input',
      match: { daddr: [s.vip], l4: { protocol: s.protocol, dports: [...s.ports] } },
      action: { type: 'accept' },
      comment: `service ${s.name}: clients to the VIP`,
    });
    if (isL4(s.mode) && s.fwmark !== undefined) {
      // keepalived/ipvsadm `-f MARK` services match the mark, which must be set before IPVS sees
      // the packet at LOCAL_IN: so in prerouting, at mangle priority (ipvsadm(8), "-f").
      rules.push({
        chain: 'fwmark',
        match: { daddr: [s.vip], l4: { protocol: s.protocol, dports: [...s.ports] } },
        action: { type: 'mark', mark: s.fwmark },
        comment: `service ${s.name}: ports ${s.ports.join(',')} bundled as fwmark ${s.fwmark}`,
      });
    }
    if (s.mode === 'nat') {
      // LVS-NAT: a request enters at LOCAL_IN (the VIP is local) and leaves via LOCAL_OUT after
      // IPVS rewrites it; only the real servers' replies are routed, so only they cross FORWARD,
      // still carrying the real server's address (IPVS rewrites them after the filter hook).
      for (const rs of s.realServers) {
        const iif = directorInterfaceFor(model, name, rs.address);
        rules.push({
          chain: 'forward',
          match: { ...(iif ? { iif } : {}), saddr: [rs.address], l4: { protocol: s.protocol, sports: realServerPorts(s, rs) } },
          action: { type: 'accept' },
          comment: `service ${s.name}: NAT replies from ${rs.name}`,
        });
      }
    }
  }
  const peer = model.directors.find((d) => d.name !== name);
  const me = model.directors.find((d) => d.name === name);
  if (model.vrrp && me) {
    for (const inst of model.vrrp.instances) {
      const peerAddress = peer?.interfaces.find((i) => i.name === inst.interface)?.address;
      rules.push({
        chain: 'input',
        match: { iif: inst.interface, ...(peerAddress ? { saddr: [addressOf(peerAddress)] } : {}), ipProtocol: 112 },
        action: { type: 'accept' },
        comment: `VRRP ${inst.name} adverts from the peer director`,
      });
    }
    const sync = model.vrrp.syncDaemon;
    if (sync && peer) {
      const peerAddress = peer.interfaces.find((i) => i.name === sync.interface)?.address;
      rules.push({
        chain: 'input',
        match: { iif: sync.interface, ...(peerAddress ? { saddr: [addressOf(peerAddress)] } : {}), l4: { protocol: 'udp', dports: [IPVS_SYNC_PORT] } },
        action: { type: 'accept' },
        comment: 'IPVS connection sync from the peer director',
      });
    }
  }
  if (model.manager === 'piranha' && peer && model.piranha?.heartbeat !== false) {
    const peerAddresses = peer.interfaces.flatMap((i) => (i.address ? [addressOf(i.address)] : []));
    rules.push({
      chain: 'input',
      match: { ...(peerAddresses.length ? { saddr: peerAddresses } : {}), l4: { protocol: 'udp', dports: [model.piranha?.heartbeatPort ?? PIRANHA_HEARTBEAT_PORT] } },
      action: { type: 'accept' },
      comment: 'Piranha pulse heartbeat from the peer router',
    });
  }
  return rules;
}

function realServerRules(model: Installation, name: string): FirewallRule[] {
  const rules: FirewallRule[] = [];
  const directors = directorAddresses(model);
  let tunnelled = false;
  for (const s of model.services) {
    for (const rs of s.realServers) {
      if (rs.name !== name) continue;
      const l4 = { protocol: s.protocol, dports: realServerPorts(s, rs) };
      switch (s.mode) {
        case 'dr':
        case 'tun':
          rules.push({ chain: 'input', match: { daddr: [s.vip], l4 }, action: { type: 'accept' }, comment: `service ${s.name}: clients to the VIP (${s.mode.toUpperCase()})` });
          if (s.mode === 'tun') tunnelled = true;
          break;
        case 'nat':
          rules.push({ chain: 'input', match: { daddr: [rs.address], l4 }, action: { type: 'accept' }, comment: `service ${s.name}: clients through the NAT director` });
          break;
        case 'nginx':
        case 'haproxy':
          rules.push({
            chain: 'input',
            match: { ...(directors.length ? { saddr: directors } : {}), daddr: [rs.address], l4 },
            action: { type: 'accept' },
            comment: `service ${s.name}: the ${s.mode} balancers`,
          });
          break;
        default: {
          const never: never = s.mode;
          throw new Error(`unhandled mode ${String(never)}`);
        }
      }
    }
  }
  if (tunnelled) {
    rules.push({
      chain: 'input',
      match: { ...(directors.length ? { saddr: directors } : {}), ipProtocol: 4 },
      action: { type: 'accept' },
      comment: 'LVS-TUN: IP-in-IP from the directors',
    });
  }
  return rules;
}

function containerHostRules(model: Installation, name: string): FirewallRule[] {
  const host = model.containerHosts.find((h) => h.name === name);
  if (!host) return [];
  const rules: FirewallRule[] = [];
  for (const s of model.services) {
    const map = s.hostPortMap;
    if (map && map.host === name) {
      const port = s.ports[0]!;
      rules.push({
        chain: 'portmap',
        match: { iif: map.interface, l4: { protocol: s.protocol, dports: [map.port] } },
        action: { type: 'dnat', address: s.vip, port },
        comment: `service ${s.name}: host port ${map.port} to the balancer`,
      });
      // Locally generated packets skip PREROUTING: without this, curl on the host itself
      // fails while other machines succeed (seed 003 ran into exactly that).
      rules.push({
        chain: 'portmap-local',
        match: { localDestination: true, l4: { protocol: s.protocol, dports: [map.port] } },
        action: { type: 'dnat', address: s.vip, port },
        comment: `service ${s.name}: host port ${map.port} from the host itself`,
      });
      rules.push({
        chain: 'forward',
        match: { daddr: [s.vip], l4: { protocol: s.protocol, dports: [port] } },
        action: { type: 'accept' },
        comment: `service ${s.name}: mapped port forwarded to the balancer`,
      });
    }
    if (host.kind !== 'openvz' || (s.mode !== 'dr' && s.mode !== 'tun')) continue;
    for (const rs of s.realServers) {
      if (rs.platform.host !== name || rs.platform.type !== 'openvz-venet') continue;
      rules.push({
        chain: 'forward',
        match: s.mode === 'tun' ? { oif: 'venet0', daddr: [rs.address], ipProtocol: 4 } : { oif: 'venet0', daddr: [s.vip], l4: { protocol: s.protocol, dports: realServerPorts(s, rs) } },
        action: { type: 'accept' },
        comment: `service ${s.name}: to container ${rs.name} over venet0`,
      });
      rules.push({
        chain: 'forward',
        match: { iif: 'venet0', saddr: [s.vip], l4: { protocol: s.protocol, sports: realServerPorts(s, rs) } },
        action: { type: 'accept' },
        comment: `service ${s.name}: replies of ${rs.name} from the VIP`,
      });
    }
  }
  return rules;
}

function dedupe(rules: FirewallRule[]): FirewallRule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const key = JSON.stringify([r.chain, r.match, r.action]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Every rule `nodeName` needs, for all the roles it plays (a director may
 * also be a real server). A name that plays no role gets no rules.
 */
export function firewallPlan(model: Installation, nodeName: string): FirewallRule[] {
  const rules = [
    ...(model.directors.some((d) => d.name === nodeName) ? directorRules(model, nodeName) : []),
    ...realServerRules(model, nodeName),
    ...containerHostRules(model, nodeName),
  ];
  return dedupe(rules).map((r) => ({ ...r, comment: clean(r.comment) }));
}

/** The nft table we own. */
export const NFT_TABLE = 'lvs_toolkit';

const NFT_HOOKS: Record<FirewallChain, string> = {
  input: 'type filter hook input priority filter; policy accept;',
  forward: 'type filter hook forward priority filter; policy accept;',
  fwmark: 'type filter hook prerouting priority mangle; policy accept;',
  portmap: 'type nat hook prerouting priority dstnat; policy accept;',
  'portmap-local': 'type nat hook output priority -100; policy accept;',
};

const CHAIN_ORDER: FirewallChain[] = ['fwmark', 'portmap', 'portmap-local', 'input', 'forward'];

function nftSet(values: readonly (string | number)[]): string {
  return values.length === 1 ? String(values[0]) : `{ ${values.join(', ')} }`;
}

function nftMatch(m: RuleMatch): string {
  const parts: string[] = [];
  if (m.iif) parts.push(`iifname "${m.iif}"`);
  if (m.oif) parts.push(`oifname "${m.oif}"`);
  if (m.localDestination) parts.push('fib daddr type local');
  if (m.saddr?.length) parts.push(`ip saddr ${nftSet(m.saddr)}`);
  if (m.daddr?.length) parts.push(`ip daddr ${nftSet(m.daddr)}`);
  if (m.ipProtocol !== undefined) parts.push(`ip protocol ${m.ipProtocol}`);
  if (m.l4) {
    if (m.l4.sports?.length) parts.push(`${m.l4.protocol} sport ${nftSet(m.l4.sports)}`);
    if (m.l4.dports?.length) parts.push(`${m.l4.protocol} dport ${nftSet(m.l4.dports)}`);
    if (!m.l4.sports?.length && !m.l4.dports?.length) parts.push(`meta l4proto ${m.l4.protocol}`);
  }
  return parts.join(' ');
}

function nftAction(a: RuleAction): string {
  switch (a.type) {
    case 'accept':
      return 'counter accept';
    case 'mark':
      return `counter meta mark set ${a.mark}`;
    case 'dnat':
      return `counter dnat ip to ${a.address}:${a.port}`;
    default: {
      const never: never = a;
      throw new Error(`unhandled action ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The nftables ruleset for one node, for `nft -f`. The table is declared,
 * deleted and declared again: `delete` of a table that does not exist is an
 * error, and nft 1.0.6 (Debian 12) has no `destroy`, so the empty declaration
 * first makes re-applying idempotent. Chains are `policy accept`: our accepts
 * document and count the LVS traffic, they never close anything else.
 * Note that in nftables every base chain on a hook runs, so an accept here
 * does not override a drop in another table (pitfalls.md #12).
 */
export function renderNftables(model: Installation, nodeName: string): string {
  const plan = firewallPlan(model, nodeName);
  const out: string[] = [
    `# lvs-toolkit firewall for ${nodeName} (installation ${model.name}): apply with nft -f this-file.`,
    `# Only the table inet ${NFT_TABLE} is replaced; the rest of the ruleset is left alone.`,
    `table inet ${NFT_TABLE} {`,
    '}',
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
  ];
  if (plan.length === 0) out.push(`  # ${nodeName} plays no role that needs a rule.`);
  let first = true;
  for (const chain of CHAIN_ORDER) {
    const rules = plan.filter((r) => r.chain === chain);
    if (rules.length === 0) continue;
    if (!first) out.push('');
    first = false;
    out.push(`  chain ${chain.replace('-', '_')} {`, `    ${NFT_HOOKS[chain]}`);
    for (const r of rules) out.push(`    ${nftMatch(r.match)} ${nftAction(r.action)} comment "${r.comment}"`);
    out.push('  }');
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
