/**
 * B13: keepalived's `vrrp_strict` implies `no_accept` for every instance
 * that does not say `accept`, and keepalived then installs firewall rules
 * that drop all traffic to the VIPs: the VIP stops answering on the MASTER
 * (keepalived#474, keepalived#1373; keepalived.conf(5) vrrp_strict).
 */
import { KEEPALIVED_CONF_PATH } from '../../core/render/keepalived.js';
import type { Host } from '../../host/types.js';
import type { Check, Finding } from '../check.js';
import { skip } from '../ab-support.js';

export interface VrrpStrictObservation {
  path: string;
  conf: string | undefined;
}

async function detect(host: Host): Promise<VrrpStrictObservation> {
  return { path: KEEPALIVED_CONF_PATH, conf: await host.readFile(KEEPALIVED_CONF_PATH) };
}

interface Scan {
  strictLine: number | undefined;
  instances: Array<{ name: string; line: number; accept: boolean; noAccept: boolean }>;
  includes: string[];
}

/** Words of keepalived.conf without comments (`#` and `!`), with their line numbers, and the instances' flags. */
export function scanKeepalived(text: string): Scan {
  const scan: Scan = { strictLine: undefined, instances: [], includes: [] };
  let depth = 0;
  let current: Scan['instances'][number] | undefined;
  let instanceDepth = 0;
  text.split('\n').forEach((raw, idx) => {
    const line = raw.replace(/[#!].*$/, '');
    const words = line.replace(/([{}])/g, ' $1 ').split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w === '{') depth++;
      else if (w === '}') {
        depth--;
        if (current && depth < instanceDepth) current = undefined;
      } else if (w === 'vrrp_strict') scan.strictLine = idx + 1;
      else if (w === 'include') scan.includes.push(words[i + 1] ?? '');
      else if (w === 'vrrp_instance' && depth === 0) {
        current = { name: words[i + 1] ?? '?', line: idx + 1, accept: false, noAccept: false };
        instanceDepth = 1;
        scan.instances.push(current);
        i++;
      } else if (current && depth === instanceDepth && w === 'accept') current.accept = true;
      else if (current && depth === instanceDepth && w === 'no_accept') current.noAccept = true;
    }
  });
  return scan;
}

function evaluate(o: VrrpStrictObservation): Finding[] {
  if (o.conf === undefined) return [skip(`${o.path} does not exist: keepalived is not configured here`)];
  const s = scanKeepalived(o.conf);
  const evidence = [
    `${o.path}: ${s.strictLine ? `line ${s.strictLine}: vrrp_strict` : 'no vrrp_strict'}`,
    ...s.instances.map((i) => `${o.path}:${i.line}: vrrp_instance ${i.name}${i.accept ? ' (accept)' : ''}${i.noAccept ? ' (no_accept)' : ''}`),
    ...(s.includes.length ? [`include ${s.includes.join(', ')} (not followed: judge those files by hand)`] : []),
  ];
  if (!s.strictLine) return [{ status: 'pass', message: 'vrrp_strict is not set', evidence }];
  const blocked = s.instances.filter((i) => !i.accept || i.noAccept);
  if (blocked.length === 0) return [{ status: 'pass', message: 'vrrp_strict is set and every instance says accept', evidence }];
  return [
    {
      status: 'fail',
      message: `vrrp_strict without accept in ${blocked.map((i) => i.name).join(', ')}: keepalived drops all traffic to those VIPs on the master`,
      evidence,
      fix: {
        why: `edit ${o.path}: add the line "accept" inside ${blocked.map((i) => `vrrp_instance ${i.name} (line ${i.line})`).join(', ')}, or remove vrrp_strict from global_defs (line ${s.strictLine}); check with keepalived -t, then reload keepalived (keepalived.conf(5): vrrp_strict implies no_accept)`,
        commands: [['keepalived', '-t', '-f', o.path], ['systemctl', 'reload', 'keepalived']],
        files: [],
      },
    },
  ];
}

export const check: Check<VrrpStrictObservation> = {
  id: 'vrrp-strict-accept',
  title: 'vrrp_strict does not make keepalived drop traffic to the VIPs',
  section: 'B',
  sources: ['keepalived#474', 'keepalived#1373', 'keepalived.conf(5) vrrp_strict'],
  appliesTo: (ctx) => ctx.role === 'director' || ctx.role === 'balancer',
  detect,
  evaluate,
};
