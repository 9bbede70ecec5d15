/**
 * B11: a DR director sees only the client's half of each TCP connection, so
 * conntrack marks the later FIN/RST packets invalid; `ct state invalid drop`
 * (firewalld's default) then hides the end of every session from IPVS and
 * the conntrack table grows (firewalld/firewalld#1498). The cure is NOTRACK
 * for the VIP in the raw prerouting hook.
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { designL4Services, modesOf, parseProcIpVs, readFirewall, shq, skip, type FirewallRead, type IpvsService } from '../ab-support.js';
import { conntrackRules } from '../firewall-packet.js';

export interface DrCtInvalidObservation {
  firewall: FirewallRead;
  live: IpvsService[] | undefined;
}

async function detect(host: Host): Promise<DrCtInvalidObservation> {
  const [firewall, table] = await Promise.all([readFirewall(host), host.readFile('/proc/net/ip_vs')]);
  return { firewall, live: table === undefined ? undefined : parseProcIpVs(table) };
}

/** Where the NOTRACK fix is kept: a table of its own, loaded with `nft -f`. */
export const NOTRACK_PATH = '/etc/lvs-toolkit/dr-notrack.nft';

function evaluate(o: DrCtInvalidObservation, ctx: CheckContext): Finding[] {
  if (!modesOf(ctx, o.live).includes('dr')) return [skip('no DR service on this director')];
  const ct = conntrackRules(o.firewall.rules);
  const evidence = [...o.firewall.notes, ...ct.invalidDrops.map((r) => `drops invalid: ${r}`), ...ct.notrack.map((r) => `notrack: ${r}`)];
  if (o.firewall.rules.nftJson === undefined && o.firewall.rules.iptablesSave === undefined) return [skip('neither nft nor iptables-save could be read: the ruleset is unknown', evidence)];
  if (ct.invalidDrops.length === 0) return [{ status: 'pass', message: 'no rule drops ct state invalid', evidence }];
  const vips = [...new Set([...designL4Services(ctx.model).filter((s) => s.mode === 'dr').map((s) => s.vip), ...(o.live ?? []).filter((s) => s.reals.some((r) => r.forward === 'Route') && s.address).map((s) => s.address)])];
  const untracked = vips.filter((v) => ct.notrack.some((r) => r.includes(v)));
  if (vips.length > 0 && untracked.length === vips.length) return [{ status: 'pass', message: `ct state invalid is dropped, but the VIPs (${vips.join(', ')}) are not tracked`, evidence }];
  const todo = vips.filter((v) => !untracked.includes(v));
  return [
    {
      status: 'warn',
      message: `the firewall drops ct state invalid and DR traffic to ${todo.join(', ') || 'the VIPs'} is tracked: FIN/RST of DR sessions are dropped as invalid and the conntrack table grows`,
      evidence,
      fix: {
        why: 'DR: the director never sees the replies, so its conntrack entries are one-sided; exempt the VIP from tracking in raw prerouting (firewalld/firewalld#1498)',
        commands: [
          ['nft', 'add', 'table', 'ip', 'lvs_toolkit_raw'],
          ['nft', 'add', 'chain', 'ip', 'lvs_toolkit_raw', 'prerouting', '{ type filter hook prerouting priority raw; policy accept; }'],
          ...todo.map((v) => ['nft', 'add', 'rule', 'ip', 'lvs_toolkit_raw', 'prerouting', 'ip', 'daddr', v, 'notrack']),
        ],
        files: [
          {
            path: NOTRACK_PATH,
            lines: ['table ip lvs_toolkit_raw {', '  chain prerouting {', '    type filter hook prerouting priority raw; policy accept;', ...todo.map((v) => `    ip daddr ${shq(v)} notrack`), '  }', '}'],
          },
        ],
      },
    },
  ];
}

export const check: Check<DrCtInvalidObservation> = {
  id: 'dr-ct-invalid',
  title: 'A DR director does not drop its sessions\' FIN/RST as ct state invalid',
  section: 'B',
  sources: ['firewalld/firewalld#1498'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.includes('dr')),
  detect,
  evaluate,
};
