/**
 * E40: OpenVZ venet is L3 and NOARP: it delivers into a container only
 * packets for one of the container's IPs, so a DR/TUN real server in a venet
 * container needs the VIP added by the host (`vzctl set CTID --ipadd VIP`).
 * The host then routes the VIP to venet0 and proxy-ARPs it: an ARP leak the
 * container's own arp_ignore cannot stop. On the host: the VIP must be in the
 * container's IP_ADDRESS, and neither routed to venet0 nor in `ip neigh show
 * proxy` (seed 002; OpenVZ wiki "Virtual network device").
 */
import type { Check, Finding } from '../check.js';
import { hostedContainers, runTool, setupScriptFix, skip, vzConfValue } from '../cde-support.js';
import { renderVenetRouteHook } from '../../core/render/container-host.js';

export interface VenetVipObservation {
  /** `ip route show dev venet0` (text), undefined when ip is missing or venet0 absent. */
  venetRoutes?: string;
  /** `ip neigh show proxy`. */
  proxy?: string;
  /** /etc/vz/conf/CTID.conf IP_ADDRESS per CTID. */
  ipAddress: Record<number, string | undefined>;
}

export const check: Check<VenetVipObservation> = {
  id: 'openvz-venet-vip',
  title: 'OpenVZ venet: the VIP is the container’s, but not routed or proxy-ARPed by the host',
  section: 'E',
  sources: ['OpenVZ wiki "Virtual network device"', 'OpenVZ wiki "Multiple network interfaces and ARP flux"', 'Virtuozzo KB 120930', 'seed 002'],
  appliesTo: (ctx) => ctx.role === 'container-host' && (ctx.model === undefined || hostedContainers(ctx.model, ctx.node).some((c) => c.platform.type === 'openvz-venet')),
  async detect(host, ctx) {
    const routes = await runTool(host, ['ip', 'route', 'show', 'dev', 'venet0']);
    const proxy = await runTool(host, ['ip', 'neigh', 'show', 'proxy']);
    const ipAddress: Record<number, string | undefined> = {};
    for (const c of hostedContainers(ctx.model, ctx.node)) {
      if (c.platform.type !== 'openvz-venet' || c.platform.ctid === undefined) continue;
      const conf = await host.readFile(`/etc/vz/conf/${c.platform.ctid}.conf`);
      ipAddress[c.platform.ctid] = conf === undefined ? undefined : (vzConfValue(conf, 'IP_ADDRESS') ?? '');
    }
    return { ...(routes && routes.exitCode === 0 ? { venetRoutes: routes.stdout } : {}), ...(proxy && proxy.exitCode === 0 ? { proxy: proxy.stdout } : {}), ipAddress };
  },
  evaluate(obs, ctx) {
    const cts = hostedContainers(ctx.model, ctx.node).filter((c) => c.platform.type === 'openvz-venet' && c.kind === 'real-server');
    const findings: Finding[] = [];
    for (const c of cts) {
      const vips = [...new Set(c.services.filter((s) => s.mode === 'dr' || s.mode === 'tun').map((s) => s.vip))];
      const ctid = c.platform.ctid;
      if (vips.length === 0) continue;
      if (ctid === undefined) {
        findings.push(skip(`${c.name}: the design gives no CTID for this venet container`));
        continue;
      }
      for (const vip of vips) {
        const has = (obs.ipAddress[ctid] ?? '').split(/\s+/).some((a) => a.split('/')[0] === vip);
        const routed = (obs.venetRoutes ?? '').split('\n').some((l) => l.trim().split(/\s+/)[0]?.split('/')[0] === vip);
        const proxied = (obs.proxy ?? '').split('\n').some((l) => l.trim().split(/\s+/)[0] === vip);
        const evidence = [
          `/etc/vz/conf/${ctid}.conf IP_ADDRESS="${obs.ipAddress[ctid] ?? '(file missing)'}"`,
          `ip route show dev venet0: ${routed ? `${vip} routed to venet0` : `${vip} not routed`}${obs.venetRoutes === undefined ? ' (venet0 or ip missing)' : ''}`,
          `ip neigh show proxy: ${proxied ? `${vip} proxy-ARPed` : `${vip} not proxied`}`,
        ];
        if (!has) {
          findings.push({
            status: 'fail',
            message: `${c.name} (CT ${ctid}): ${vip} is not one of the container's IPs: venet drops the director's packets for it`,
            evidence,
            subject: c.name,
            fix: { why: 'venet delivers only packets addressed to the container’s own IPs', commands: [['vzctl', 'set', String(ctid), '--ipadd', vip, '--save'], ['ip', 'route', 'del', `${vip}/32`, 'dev', 'venet0']], files: [{ path: `/etc/vz/conf/${ctid}.mount`, lines: renderVenetRouteHook(ctid, [vip]).trimEnd().split('\n') }] },
          });
          continue;
        }
        if (routed || proxied) {
          const commands = [...(routed ? [['ip', 'route', 'del', `${vip}/32`, 'dev', 'venet0']] : []), ...(proxied ? [['ip', 'neigh', 'del', 'proxy', vip, 'dev', (obs.proxy ?? '').split('\n').find((l) => l.startsWith(`${vip} `))?.split(/\s+/)[2] ?? 'eth0']] : [])];
          findings.push({
            status: 'fail',
            message: `${c.name} (CT ${ctid}): the host ${routed ? 'routes' : ''}${routed && proxied ? ' and ' : ''}${proxied ? 'proxy-ARPs' : ''} ${vip}: it answers ARP for the VIP in the director's place`,
            evidence,
            subject: c.name,
            fix: { ...setupScriptFix('vzctl --ipadd makes the host route and proxy-ARP the address; for a VIP only the director may answer', commands), files: [{ path: `/etc/vz/conf/${ctid}.mount`, lines: renderVenetRouteHook(ctid, [vip]).trimEnd().split('\n') }] },
          });
          continue;
        }
        findings.push({ status: 'pass', message: `${c.name} (CT ${ctid}) holds ${vip}, and the host neither routes nor proxy-ARPs it`, evidence, subject: c.name });
      }
    }
    return findings.length ? findings : [skip('no DR/TUN real server in a venet container on this host in the design')];
  },
};
