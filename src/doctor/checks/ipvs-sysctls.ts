/**
 * A4: net.ipv4.vs.* exists once ip_vs is loaded, but kernels before the 2024
 * patch register it only in the initial user namespace: an unprivileged
 * container sees IPVS but cannot tune it (lxc/lxc#4278).
 */
import { isL4 } from '../../core/model.js';
import type { Host } from '../../host/types.js';
import type { Check, Finding } from '../check.js';
import { detectContainer, skip } from '../ab-support.js';

export interface IpvsSysctlsObservation {
  procIpVs: boolean;
  /** /proc/sys/net/ipv4/vs/expire_nodest_conn readable: the directory is there. */
  vsSysctls: boolean;
  container: string | undefined;
}

async function detect(host: Host): Promise<IpvsSysctlsObservation> {
  const [table, probe, container] = await Promise.all([host.readFile('/proc/net/ip_vs'), host.readFile('/proc/sys/net/ipv4/vs/expire_nodest_conn'), detectContainer(host)]);
  return { procIpVs: table !== undefined, vsSysctls: probe !== undefined, container };
}

function evaluate(o: IpvsSysctlsObservation): Finding[] {
  const evidence = [
    `/proc/net/ip_vs: ${o.procIpVs ? 'present' : 'missing'}`,
    `/proc/sys/net/ipv4/vs/: ${o.vsSysctls ? 'present' : 'missing'}`,
    `container: ${o.container ?? 'none detected'}`,
  ];
  if (!o.procIpVs) return [skip('ip_vs is not loaded here, so its sysctls cannot exist yet (see ip-vs-modules)', evidence)];
  if (o.vsSysctls) return [{ status: 'pass', message: 'the IPVS sysctls (net.ipv4.vs.*) are visible', evidence }];
  return [
    {
      status: 'warn',
      message: o.container
        ? `IPVS runs but net.ipv4.vs.* is missing: this ${o.container} container is unprivileged and its kernel does not give IPVS sysctls to non-initial user namespaces`
        : 'IPVS runs but net.ipv4.vs.* is missing in this network namespace',
      evidence,
      fix: {
        why: 'conntrack, expire_nodest_conn, backup_only and the other IPVS settings cannot be set from here. Use a kernel with the 2024 patch that registers the IPVS sysctls in non-initial user namespaces, make the container privileged (LXD, on its host: lxc config set NAME security.privileged true; then restart it), or run the director on the host',
        commands: [],
        files: [],
      },
    },
  ];
}

export const check: Check<IpvsSysctlsObservation> = {
  id: 'ipvs-sysctls',
  title: 'IPVS sysctls are visible (not hidden by an unprivileged container)',
  section: 'A',
  sources: ['lxc/lxc#4278', 'nestybox/sysbox#189'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some(isL4)),
  detect,
  evaluate,
};
