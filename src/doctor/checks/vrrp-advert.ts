/**
 * D35: VRRPv2 carries the advert interval in whole seconds; keepalived
 * accepts a fractional advert_int with v2 and mishandles it silently (0.5 →
 * adverts every 1 s; 0.4 → "intvl 0s" in the header, adverts back-to-back:
 * keepalived#1615, #2191). Sub-second adverts need `vrrp_version 3`
 * (centiseconds). Read from keepalived.conf on the director, else the design.
 */
import type { Check, Finding } from '../check.js';
import { designVrrp, scanKeepalived, skip, type KeepalivedVrrpScan } from '../cde-support.js';
import { KEEPALIVED_CONF_PATH } from '../../core/render/keepalived.js';

export interface VrrpAdvertObservation {
  conf?: KeepalivedVrrpScan;
}

export const check: Check<VrrpAdvertObservation> = {
  id: 'vrrp-advert',
  title: 'No sub-second advert_int with VRRP version 2',
  section: 'D',
  sources: ['keepalived#1615', 'keepalived#2191', 'keepalived PR#2424'],
  appliesTo: (ctx) => ctx.role === 'director' || ctx.role === 'balancer',
  async detect(host) {
    const text = await host.readFile(KEEPALIVED_CONF_PATH);
    return text === undefined ? {} : { conf: scanKeepalived(text) };
  },
  evaluate(obs, ctx) {
    const rows: Array<{ name: string; version: number; advert: number; where: string }> = [];
    if (obs.conf) {
      for (const i of obs.conf.instances) {
        const version = i.version ?? obs.conf.globalVersion ?? 2;
        rows.push({ name: i.name, version, advert: i.advertInt === undefined ? 1 : Number(i.advertInt), where: `${KEEPALIVED_CONF_PATH}:${i.line} advert_int ${i.advertInt ?? '(default 1)'}, version ${version}${i.version === undefined && obs.conf.globalVersion === undefined ? ' (default)' : ''}` });
      }
    } else {
      const v = designVrrp(ctx.model);
      for (const i of v?.instances ?? []) rows.push({ name: i.name, version: v!.version, advert: v!.advertInt, where: `design: advertInt ${v!.advertInt}, version ${v!.version}` });
    }
    if (rows.length === 0) return [skip(obs.conf ? 'keepalived.conf has no vrrp_instance' : `no ${KEEPALIVED_CONF_PATH} and no VRRP in the design`)];
    return rows.map((r): Finding => {
      if (r.version === 3 || Number.isInteger(r.advert)) return { status: 'pass', message: `${r.name}: advert_int ${r.advert} with VRRP v${r.version}`, evidence: [r.where] };
      return {
        status: 'fail',
        message: `${r.name}: advert_int ${r.advert} with VRRP v2: v2 counts whole seconds, so keepalived sends at the wrong rate (failover slower than planned, or adverts back-to-back)`,
        evidence: [r.where],
        // No command: the line belongs inside global_defs on both directors at once (a v2 and a v3 peer do not hear each other), an edit for a person.
        fix: {
          why: `VRRP v3 carries the interval in centiseconds (RFC 5798): add \`vrrp_version 3\` to global_defs in ${KEEPALIVED_CONF_PATH} on both directors (or make advert_int a whole number), check with keepalived -t -f ${KEEPALIVED_CONF_PATH}, then reload keepalived on both`,
          commands: [],
          files: [],
        },
      };
    });
  },
};
