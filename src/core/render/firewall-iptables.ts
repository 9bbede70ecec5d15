/**
 * The same per-node plan as firewall-nft.ts, for hosts that still run
 * iptables: an `iptables-restore --noflush` file that only (re)declares our
 * own chains. A `:CHAIN - [0:0]` line flushes that chain under --noflush
 * (observed with iptables 1.8.9: applying the file twice leaves one copy of
 * each rule), so re-applying is idempotent. iptables-restore has no
 * "insert if missing", so the jumps from the built-in chains are made by
 * the node's setup script (`iptablesJumpCommands`), checking with `-C` first.
 */
import type { Installation } from '../model.js';
import { firewallPlan, type FirewallChain, type RuleAction, type RuleMatch } from './firewall-nft.js';

interface ChainPlace {
  table: 'filter' | 'mangle' | 'nat';
  builtin: string;
  ours: string;
}

/** Where each chain of the plan lives and which built-in chain jumps to it. */
export const IPTABLES_CHAINS: Record<FirewallChain, ChainPlace> = {
  fwmark: { table: 'mangle', builtin: 'PREROUTING', ours: 'LVS-TOOLKIT-FWMARK' },
  portmap: { table: 'nat', builtin: 'PREROUTING', ours: 'LVS-TOOLKIT-PORTMAP' },
  'portmap-local': { table: 'nat', builtin: 'OUTPUT', ours: 'LVS-TOOLKIT-PORTMAP-LOCAL' },
  input: { table: 'filter', builtin: 'INPUT', ours: 'LVS-TOOLKIT-INPUT' },
  forward: { table: 'filter', builtin: 'FORWARD', ours: 'LVS-TOOLKIT-FORWARD' },
};

const TABLE_ORDER = ['mangle', 'nat', 'filter'] as const;
const CHAIN_ORDER: FirewallChain[] = ['fwmark', 'portmap', 'portmap-local', 'input', 'forward'];
/** iptables multiport takes at most 15 ports (iptables-extensions(8), multiport). */
const MULTIPORT_MAX = 15;

function chunks(ports: readonly number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < ports.length; i += MULTIPORT_MAX) out.push(ports.slice(i, i + MULTIPORT_MAX));
  return out;
}

function portArgs(flag: 'sport' | 'dport', ports: readonly number[]): string {
  return ports.length === 1 ? `--${flag} ${ports[0]}` : `-m multiport --${flag}s ${ports.join(',')}`;
}

/** One match may expand to several iptables rules (address lists and port chunks). */
function iptMatches(m: RuleMatch): string[] {
  const base: string[] = [];
  if (m.iif) base.push(`-i ${m.iif}`);
  if (m.oif) base.push(`-o ${m.oif}`);
  if (m.ipProtocol !== undefined) base.push(`-p ${m.ipProtocol}`);
  if (m.l4) base.push(`-p ${m.l4.protocol}`);
  if (m.localDestination) base.push('-m addrtype --dst-type LOCAL');
  let variants = [base.join(' ')];
  const expand = (options: string[]) => {
    variants = variants.flatMap((v) => options.map((o) => (v ? `${v} ${o}` : o)));
  };
  if (m.saddr?.length) expand(m.saddr.map((a) => `-s ${a}/32`));
  if (m.daddr?.length) expand(m.daddr.map((a) => `-d ${a}/32`));
  if (m.l4?.sports?.length) expand(chunks(m.l4.sports).map((c) => portArgs('sport', c)));
  if (m.l4?.dports?.length) expand(chunks(m.l4.dports).map((c) => portArgs('dport', c)));
  return variants;
}

function iptTarget(a: RuleAction): string {
  switch (a.type) {
    case 'accept':
      return '-j ACCEPT';
    case 'mark':
      return `-j MARK --set-mark ${a.mark}`;
    case 'dnat':
      return `-j DNAT --to-destination ${a.address}:${a.port}`;
    default: {
      const never: never = a;
      throw new Error(`unhandled action ${JSON.stringify(never)}`);
    }
  }
}

/** The chains a node's plan uses, with their places. */
export function iptablesChainsUsed(model: Installation, nodeName: string): ChainPlace[] {
  const used = new Set(firewallPlan(model, nodeName).map((r) => r.chain));
  return CHAIN_ORDER.filter((c) => used.has(c)).map((c) => IPTABLES_CHAINS[c]);
}

/**
 * `iptables-restore --noflush` input for one node. A node with no rules still
 * gets a valid file (one empty filter table section).
 */
export function renderIptables(model: Installation, nodeName: string): string {
  const plan = firewallPlan(model, nodeName);
  const out: string[] = [
    `# lvs-toolkit firewall for ${nodeName} (installation ${model.name}).`,
    '# Apply with iptables-restore --noflush: only the LVS-TOOLKIT-* chains are replaced;',
    '# the setup script adds the jumps to them from the built-in chains.',
  ];
  const used = CHAIN_ORDER.filter((c) => plan.some((r) => r.chain === c));
  const tables = TABLE_ORDER.filter((t) => used.some((c) => IPTABLES_CHAINS[c].table === t));
  if (tables.length === 0) out.push(`# ${nodeName} plays no role that needs a rule.`, '*filter', 'COMMIT');
  for (const table of tables) {
    out.push(`*${table}`);
    const chains = used.filter((c) => IPTABLES_CHAINS[c].table === table);
    for (const c of chains) out.push(`:${IPTABLES_CHAINS[c].ours} - [0:0]`);
    for (const c of chains) {
      for (const r of plan.filter((x) => x.chain === c)) {
        for (const m of iptMatches(r.match)) {
          out.push(`-A ${IPTABLES_CHAINS[c].ours} ${m} -m comment --comment "${r.comment}" ${iptTarget(r.action)}`);
        }
      }
    }
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/**
 * POSIX sh lines that make each built-in chain jump to ours exactly once:
 * `-C` (check) before `-I` (insert first), so running them again is harmless.
 */
export function iptablesJumpCommands(model: Installation, nodeName: string): string[] {
  return iptablesChainsUsed(model, nodeName).map(
    (p) => `iptables -t ${p.table} -C ${p.builtin} -j ${p.ours} 2>/dev/null || iptables -t ${p.table} -I ${p.builtin} 1 -j ${p.ours}`,
  );
}
