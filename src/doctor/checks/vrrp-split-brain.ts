/**
 * D29/D31: split brain. Both directors hold a VRRP address at once (each
 * thinks it is MASTER: adverts do not cross), so clients flip between two
 * MACs. Seen by listing the addresses (`ip -4 addr`) on this director and
 * its peer. The failure is reported on the director that should be BACKUP
 * (lower priority): that is where the peer's adverts are not arriving.
 */
import type { Check, Finding } from '../check.js';
import { designVrrp, directorPriority, ipAddrs, peersOf, skip } from '../cde-support.js';
import { addressOf } from '../../core/net.js';

export interface SplitBrainObservation {
  /** Directors (this one first) and the addresses they hold; undefined when `ip` is missing there. */
  directors: Array<{ node: string; addrs?: string[] }>;
}

export const check: Check<SplitBrainObservation> = {
  id: 'vrrp-split-brain',
  title: 'Exactly one director holds each VRRP address (no split brain)',
  section: 'D',
  sources: ['keepalived#950', 'keepalived#893', 'keepalived#2387'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.model === undefined || (ctx.model.directors.length === 2 && designVrrp(ctx.model) !== undefined)),
  async detect(host, ctx) {
    const nodes = [{ name: ctx.node, host }, ...peersOf(ctx, 'director')];
    const directors = await Promise.all(
      nodes.map(async (n) => {
        const ifs = await ipAddrs(n.host);
        return { node: n.name, ...(ifs ? { addrs: ifs.flatMap((i) => i.addrs.map((a) => `${a.local} ${i.ifname}`)) } : {}) };
      }),
    );
    return { directors };
  },
  evaluate(obs, ctx) {
    const vrrp = designVrrp(ctx.model);
    if (!ctx.model || !vrrp) return [skip('no design with a VRRP pair: the floating addresses are unknown (give --config)')];
    if (obs.directors.length < 2) return [skip('the peer director is not reachable from here: split brain needs both (--director HOST twice, or --lab)')];
    const floating = [...new Set(vrrp.instances.flatMap((i) => i.addresses.map((a) => addressOf(a.address))))];
    const holdersOf = (ip: string) => obs.directors.filter((d) => (d.addrs ?? []).some((a) => a.split(' ')[0] === ip)).map((d) => d.node);
    const evidence = obs.directors.map((d) => `${d.node}: ${d.addrs ? floating.map((ip) => `${ip} ${(d.addrs ?? []).some((a) => a.split(' ')[0] === ip) ? 'held' : 'not held'}`).join(', ') : 'ip not installed'}`);
    const ranked = [...ctx.model.directors].sort((a, b) => directorPriority(ctx.model!, b.name) - directorPriority(ctx.model!, a.name)).map((d) => d.name);
    const findings: Finding[] = [];
    for (const ip of floating) {
      const holders = holdersOf(ip);
      if (holders.length === 1) {
        findings.push({ status: 'pass', message: `${ip} is held by ${holders[0]} only`, evidence });
        continue;
      }
      if (holders.length === 0) {
        if (ranked[0] !== ctx.node) {
          findings.push(skip(`no director holds ${ip}: reported on ${ranked[0]}, which should be MASTER`, evidence));
          continue;
        }
        findings.push({
          status: 'fail',
          message: `no director holds ${ip}: the service is down (is keepalived running on either?)`,
          evidence,
          fix: { why: 'keepalived adds the VRRP addresses on the MASTER', commands: [['systemctl', 'restart', 'keepalived'], ['journalctl', '-u', 'keepalived', '-n', '50']], files: [] },
        });
        continue;
      }
      const backup = ranked[ranked.length - 1];
      if (backup !== ctx.node) {
        findings.push(skip(`split brain on ${ip} (${holders.join(' and ')}): reported on ${backup}, which should be BACKUP`, evidence));
        continue;
      }
      findings.push({
        status: 'fail',
        message: `split brain: ${holders.join(' and ')} both hold ${ip}: ${ctx.node} (lower priority) does not hear its peer's adverts`,
        evidence,
        fix: {
          why: 'a BACKUP that hears no adverts becomes MASTER; let VRRP (IP protocol 112) through between the directors (see vrrp-firewall, vrrp-transport), then it steps back',
          commands: [['nft', 'insert', 'rule', 'inet', 'lvs_toolkit', 'input', 'ip', 'protocol', 'vrrp', 'accept'], ['tcpdump', '-nni', 'any', '-c', '5', 'ip', 'proto', '112']],
          files: [{ path: '/etc/lvs-toolkit/firewall.nft', lines: ['ip protocol vrrp accept'] }],
        },
      });
    }
    return findings;
  },
};
