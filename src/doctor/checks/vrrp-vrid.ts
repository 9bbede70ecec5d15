/**
 * D34: a virtual_router_id must be unique per interface in the config
 * (keepalived: "VRID … is duplicated") and on the segment: another cluster
 * advertising the same VRID fights ours for the VIP. The wire is sampled
 * for ~3 s (`tcpdump -c 20 ip proto 112`); unicast adverts between our own
 * directors are recognised by their source and not counted as foreign.
 */
import type { Check, Finding } from '../check.js';
import { directorAddresses, firstLine, runTool, scanKeepalived, skip, type KeepalivedVrrpScan } from '../cde-support.js';
import { KEEPALIVED_CONF_PATH } from '../../core/render/keepalived.js';

export interface VrrpVridObservation {
  conf?: KeepalivedVrrpScan;
  /** Adverts heard: source and VRID, per interface sampled. */
  wire: Array<{ iface: string; adverts: Array<{ src: string; vrid: number }>; error?: string }>;
}

/** Pure: `tcpdump -nn` lines of VRRP ("IP 10.0.0.1 > 10.0.0.2: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 12"). */
export function parseVrrpAdverts(text: string): Array<{ src: string; vrid: number }> {
  const out = [];
  for (const m of text.matchAll(/IP (\d+\.\d+\.\d+\.\d+) > \S+: VRRPv\d, Advertisement, vrid (\d+)/g)) out.push({ src: m[1]!, vrid: Number(m[2]) });
  return out;
}

export const check: Check<VrrpVridObservation> = {
  id: 'vrrp-vrid',
  title: 'virtual_router_id unique in the config and on the wire',
  section: 'D',
  sources: ['keepalived#389', 'redhat-cop/keepalived-operator PR#94'],
  appliesTo: (ctx) => ctx.role === 'director' || ctx.role === 'balancer',
  async detect(host) {
    const text = await host.readFile(KEEPALIVED_CONF_PATH);
    const conf = text === undefined ? undefined : scanKeepalived(text);
    const wire: VrrpVridObservation['wire'] = [];
    for (const iface of [...new Set((conf?.instances ?? []).flatMap((i) => (i.interface ? [i.interface] : [])))]) {
      const r = await runTool(host, ['timeout', '3', 'tcpdump', '-nn', '-l', '-p', '-c', '20', '-i', iface, 'ip', 'proto', '112'], 8_000);
      if (!r) wire.push({ iface, adverts: [], error: 'timeout (coreutils) is not installed' });
      else {
        const adverts = parseVrrpAdverts(r.stdout);
        // timeout(1) exits 127 when tcpdump is missing, 124 when the 3 s ran out (the normal end).
        if (adverts.length === 0 && r.exitCode !== 0 && r.exitCode !== 124) wire.push({ iface, adverts, error: `exit ${r.exitCode}: ${firstLine(r.stderr)}` });
        else wire.push({ iface, adverts });
      }
    }
    return { ...(conf ? { conf } : {}), wire };
  },
  evaluate(obs, ctx) {
    if (!obs.conf) return [skip(`no ${KEEPALIVED_CONF_PATH} here`)];
    const findings: Finding[] = [];
    const byKey = new Map<string, string[]>();
    for (const i of obs.conf.instances) {
      const key = `${i.interface ?? '?'}/${i.vrid ?? '?'}`;
      byKey.set(key, [...(byKey.get(key) ?? []), `${i.name} (line ${i.line})`]);
    }
    for (const [key, names] of byKey) {
      if (names.length < 2) continue;
      const [iface, vrid] = key.split('/');
      findings.push({
        status: 'fail',
        message: `virtual_router_id ${vrid} is used by ${names.length} instances on ${iface}: keepalived refuses the duplicate (or they fight)`,
        evidence: names.map((n) => `${KEEPALIVED_CONF_PATH}: vrrp_instance ${n} virtual_router_id ${vrid} interface ${iface}`),
        fix: { why: 'a VRID identifies one virtual router per interface (RFC 5798 §5.2.3)', commands: [], files: [{ path: KEEPALIVED_CONF_PATH, lines: [`virtual_router_id N   # a different 1..255 for ${names.slice(1).join(', ')}`] }] },
      });
    }
    const ours = new Set(directorAddresses(ctx.model));
    const ownVrids = new Set(obs.conf.instances.flatMap((i) => (i.vrid !== undefined ? [i.vrid] : [])));
    for (const w of obs.wire) {
      if (w.error) {
        findings.push(skip(`could not sample VRRP on ${w.iface}: ${w.error}`));
        continue;
      }
      const foreign = w.adverts.filter((a) => ownVrids.has(a.vrid) && ours.size > 0 && !ours.has(a.src));
      const evidence = [`tcpdump -i ${w.iface} ip proto 112 (3 s): ${w.adverts.length} adverts${w.adverts.length ? `: ${[...new Set(w.adverts.map((a) => `${a.src} vrid ${a.vrid}`))].join(', ')}` : ''}`];
      if (foreign.length) {
        const srcs = [...new Set(foreign.map((a) => a.src))];
        findings.push({
          status: 'fail',
          message: `another router (${srcs.join(', ')}) advertises our VRID ${foreign[0]!.vrid} on ${w.iface}: two clusters fight for one virtual router`,
          evidence,
          fix: { why: `VRIDs must be unique on a segment: change virtual_router_id in ${KEEPALIVED_CONF_PATH} on both directors (or vrrp.instances[].vrid in the answers file) to one nobody else uses, then reload`, commands: [], files: [] },
        });
      } else findings.push({ status: 'pass', message: `no foreign router uses our VRID${ownVrids.size > 1 ? 's' : ''} ${[...ownVrids].join(', ')} on ${w.iface}`, evidence });
    }
    if (findings.length === 0) findings.push({ status: 'pass', message: 'every vrrp_instance has its own virtual_router_id', evidence: obs.conf.instances.map((i) => `${i.name}: vrid ${i.vrid ?? '?'} on ${i.interface ?? '?'}`) });
    return findings;
  },
};
