/**
 * E40/seed 002: an OpenVZ container gets tunl0 only when the host allows it
 * (`vzctl set CTID --feature ipip:on --save`, then a restart of the
 * container); a TUN real server without it answers the director's IP-in-IP
 * with "ICMP protocol 4 unreachable". Read on the host: FEATURES in
 * /etc/vz/conf/CTID.conf.
 */
import type { Check, Finding } from '../check.js';
import { hostedContainers, skip, vzConfValue } from '../cde-support.js';

export interface OpenvzIpipObservation {
  /** FEATURES of each CTID.conf; null when the file is missing. */
  features: Record<number, string | null>;
}

export const check: Check<OpenvzIpipObservation> = {
  id: 'openvz-ipip',
  title: 'OpenVZ: ipip feature on for TUN real-server containers',
  section: 'E',
  sources: ['seed 002', 'vzctl(8) --feature'],
  appliesTo: (ctx) => ctx.role === 'container-host' && (ctx.model === undefined || hostedContainers(ctx.model, ctx.node).some((c) => c.platform.type.startsWith('openvz'))),
  async detect(host, ctx) {
    const features: Record<number, string | null> = {};
    for (const c of hostedContainers(ctx.model, ctx.node)) {
      if (!c.platform.type.startsWith('openvz') || c.platform.ctid === undefined) continue;
      const conf = await host.readFile(`/etc/vz/conf/${c.platform.ctid}.conf`);
      features[c.platform.ctid] = conf === undefined ? null : (vzConfValue(conf, 'FEATURES') ?? '');
    }
    return { features };
  },
  evaluate(obs, ctx) {
    const cts = hostedContainers(ctx.model, ctx.node).filter((c) => c.platform.type.startsWith('openvz') && c.services.some((s) => s.mode === 'tun') && c.kind === 'real-server');
    if (cts.length === 0) return [skip('no TUN real server in an OpenVZ container on this host in the design')];
    return cts.map((c): Finding => {
      const ctid = c.platform.ctid;
      if (ctid === undefined) return skip(`${c.name}: the design gives no CTID`);
      const f = obs.features[ctid];
      const evidence = [f === null || f === undefined ? `/etc/vz/conf/${ctid}.conf: missing` : `/etc/vz/conf/${ctid}.conf FEATURES="${f}"`];
      if (f === null || f === undefined) return { status: 'fail', message: `${c.name}: container ${ctid} has no config on this host`, evidence, subject: c.name, fix: { why: 'the design places this container here', commands: [['vzlist', '-a']], files: [] } };
      if (/\bipip:on\b/.test(f)) return { status: 'pass', message: `${c.name} (CT ${ctid}): ipip is allowed`, evidence, subject: c.name };
      return {
        status: 'fail',
        message: `${c.name} (CT ${ctid}): the ipip feature is off: the container has no tunl0 and refuses the director's IP-in-IP (ICMP protocol 4 unreachable)`,
        evidence,
        subject: c.name,
        fix: { why: 'OpenVZ gives a container tunnel devices only with the ipip feature; it takes effect at the next container start', commands: [['vzctl', 'set', String(ctid), '--feature', 'ipip:on', '--save'], ['vzctl', 'restart', String(ctid)]], files: [{ path: `/etc/vz/conf/${ctid}.conf`, lines: ['FEATURES="ipip:on"'] }] },
      };
    });
  },
};
