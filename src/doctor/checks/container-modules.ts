/**
 * A3: a director in a container cannot load kernel modules (keepalived
 * INSTALL: "unable to load the ip_tables, ip6_tables, xt_set and ip_vs
 * modules from within the container"). They must be loaded on its host;
 * /proc/modules in the container shows the shared kernel's list.
 */
import { isL4 } from '../../core/model.js';
import { ipvsModules } from '../../core/render/director.js';
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { detectContainer, parseProcIpVs } from '../ab-support.js';

export interface ContainerModulesObservation {
  /** What the container says it is (`container=lxc`), undefined when it does not say. */
  container: string | undefined;
  procIpVs: boolean;
  wanted: string[];
  loaded: string[];
}

async function detect(host: Host, ctx: CheckContext): Promise<ContainerModulesObservation> {
  const [table, modules, container] = await Promise.all([host.readFile('/proc/net/ip_vs'), host.readFile('/proc/modules'), detectContainer(host)]);
  const fromDesign = ctx.model ? ipvsModules(ctx.model) : [];
  const fromLive = table ? parseProcIpVs(table).map((s) => `ip_vs_${s.scheduler}`) : [];
  const loaded = (modules ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((m) => m !== '');
  return { container, procIpVs: table !== undefined, wanted: [...new Set(['ip_vs', ...fromDesign, ...fromLive])], loaded };
}

function evaluate(o: ContainerModulesObservation, ctx: CheckContext): Finding[] {
  const hostName = ctx.model?.directors.find((d) => d.name === ctx.node)?.platform.host;
  const evidence = [
    `container: ${o.container ?? '(not detected from /proc/1/environ, /run/systemd/container, /proc/vz)'}`,
    `/proc/net/ip_vs: ${o.procIpVs ? 'present' : 'missing'}`,
    `/proc/modules: ${o.wanted.map((m) => `${m} ${o.loaded.includes(m) ? 'loaded' : 'not loaded'}`).join(', ')}`,
  ];
  // Built-in ip_vs shows no /proc/modules line but does create /proc/net/ip_vs.
  const missing = o.wanted.filter((m) => !o.loaded.includes(m) && !(m === 'ip_vs' && o.procIpVs));
  if (missing.length === 0) return [{ status: 'pass', message: `the container host has loaded ${o.wanted.join(', ')}`, evidence }];
  const where = hostName ? `the container host ${hostName}` : 'the container host';
  const lxd = ctx.platform === 'lxd' ? ` For LXD, also: lxc config set ${ctx.node} linux.kernel_modules ${missing.join(',')} (loaded when the container starts).` : '';
  return [
    {
      status: 'fail',
      message: `${missing.join(', ')} not loaded, and a container cannot load modules: load them on ${where}`,
      evidence,
      ...(hostName ? { subject: hostName } : {}),
      fix: {
        why: `run these on ${where}, not in the container: the kernel is shared and only the host may load modules.${lxd}`,
        commands: missing.map((m) => ['modprobe', m]),
        files: [{ path: '/etc/modules-load.d/lvs-toolkit.conf', lines: missing }],
      },
    },
  ];
}

export const check: Check<ContainerModulesObservation> = {
  id: 'container-modules',
  title: 'A director in a container has its IPVS modules loaded by its host',
  section: 'A',
  sources: ['keepalived INSTALL', 'keepalived#1852', 'LXD linux.kernel_modules'],
  appliesTo: (ctx) => ctx.role === 'director' && ctx.platform !== 'host' && (ctx.modes.length === 0 || ctx.modes.some(isL4)),
  detect,
  evaluate,
};
