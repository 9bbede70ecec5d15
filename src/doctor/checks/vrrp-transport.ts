/**
 * D30: keepalived sends adverts to 224.0.0.18 unless `unicast_peer` is set.
 * Clouds (AWS, GCP, Azure, …) and OpenVZ venet (L3, NOARP) do not carry that
 * multicast, so both directors become MASTER. Detect: the platform (DMI
 * vendor, venet) and no unicast_peer; with unicast, the peer must be the
 * other director of the design.
 */
import type { Check, Finding } from '../check.js';
import { directorAddresses, scanKeepalived, skip, type KeepalivedVrrpScan } from '../cde-support.js';
import { KEEPALIVED_CONF_PATH } from '../../core/render/keepalived.js';

export interface VrrpTransportObservation {
  conf?: KeepalivedVrrpScan;
  /** /sys/class/dmi/id sys_vendor and product_name, when readable. */
  dmi?: string;
  /** venet0 present (OpenVZ container). */
  venet: boolean;
}

const CLOUDS: Array<[RegExp, string]> = [
  [/amazon|ec2/i, 'AWS'],
  [/google/i, 'Google Cloud'],
  [/microsoft corporation.*virtual machine/i, 'Azure / Hyper-V'],
  [/hetzner/i, 'Hetzner Cloud'],
  [/digitalocean/i, 'DigitalOcean'],
  [/openstack/i, 'OpenStack'],
  [/alibaba/i, 'Alibaba Cloud'],
  [/oracle/i, 'Oracle Cloud'],
];

export function cloudOf(dmi: string | undefined): string | undefined {
  if (!dmi) return undefined;
  return CLOUDS.find(([re]) => re.test(dmi))?.[1];
}

export const check: Check<VrrpTransportObservation> = {
  id: 'vrrp-transport',
  title: 'VRRP by unicast where multicast does not work (clouds, venet)',
  section: 'D',
  sources: ['keepalived PR#25 ("Multicasting cannot be used in AWS")', 'keepalived#1367', 'keepalived#44', 'OpenVZ wiki "Virtual network device"'],
  appliesTo: (ctx) => ctx.role === 'director' || ctx.role === 'balancer',
  async detect(host) {
    const text = await host.readFile(KEEPALIVED_CONF_PATH);
    const vendor = await host.readFile('/sys/class/dmi/id/sys_vendor');
    const product = await host.readFile('/sys/class/dmi/id/product_name');
    const venet = (await host.readFile('/sys/class/net/venet0/type')) !== undefined;
    const dmi = [vendor, product].filter((x): x is string => !!x).map((x) => x.trim()).join(' ');
    return { ...(text !== undefined ? { conf: scanKeepalived(text) } : {}), ...(dmi ? { dmi } : {}), venet };
  },
  evaluate(obs, ctx) {
    if (!obs.conf) return [skip(`no ${KEEPALIVED_CONF_PATH} here: keepalived does not run VRRP on this node`)];
    if (obs.conf.instances.length === 0) return [skip('keepalived.conf has no vrrp_instance')];
    const cloud = cloudOf(obs.dmi);
    const noMulticast = cloud ?? (obs.venet || ctx.platform === 'openvz-venet' ? 'OpenVZ venet (L3, NOARP)' : undefined);
    const others = directorAddresses(ctx.model).filter((a) => !(ctx.model?.directors.find((d) => d.name === ctx.node)?.interfaces ?? []).some((i) => i.address?.startsWith(`${a}/`)));
    return obs.conf.instances.map((i): Finding => {
      const evidence = [`${KEEPALIVED_CONF_PATH}:${i.line} vrrp_instance ${i.name}: ${i.unicastPeers.length ? `unicast_peer ${i.unicastPeers.join(' ')}` : 'no unicast_peer (multicast 224.0.0.18)'}`, `platform: ${noMulticast ?? obs.dmi ?? 'unknown'}`];
      if (i.unicastPeers.length === 0) {
        if (!noMulticast) return { status: 'pass', message: `${i.name}: multicast VRRP, and nothing says this platform drops multicast`, evidence };
        return {
          status: 'fail',
          message: `${i.name}: VRRP by multicast on ${noMulticast}, which does not carry it: both directors will be MASTER`,
          evidence,
          fix: {
            why: 'adverts sent to each peer by unicast cross any network that routes IP',
            commands: [['keepalived', '-t', '-f', KEEPALIVED_CONF_PATH], ['systemctl', 'reload', 'keepalived']],
            files: [{ path: `${KEEPALIVED_CONF_PATH} (vrrp_instance ${i.name})`, lines: ['unicast_src_ip THIS_DIRECTOR_IP', 'unicast_peer {', `    ${others[0] ?? 'PEER_DIRECTOR_IP'}`, '}'] }],
          },
        };
      }
      const missing = others.filter((a) => !i.unicastPeers.includes(a));
      if (ctx.model && ctx.model.directors.length === 2 && others.length > 0 && missing.length === others.length) {
        return {
          status: 'fail',
          message: `${i.name}: unicast_peer ${i.unicastPeers.join(' ')} is not the other director (${others.join(' ')}): adverts go nowhere useful`,
          evidence,
          fix: { why: 'each director must send its adverts to the other', commands: [['systemctl', 'reload', 'keepalived']], files: [{ path: `${KEEPALIVED_CONF_PATH} (vrrp_instance ${i.name})`, lines: ['unicast_peer {', ...others.map((a) => `    ${a}`), '}'] }] },
        };
      }
      return { status: 'pass', message: `${i.name}: VRRP by unicast to ${i.unicastPeers.join(' ')}`, evidence };
    });
  },
};
