/**
 * A1/A2: IPVS and each scheduler the design (or the live table) uses must be
 * available to this kernel: loaded, built in, or loadable. Without ip_vs,
 * keepalived logs "IPVS: Can't initialize ipvs: Protocol not available";
 * without ip_vs_<sched>, adding the virtual server fails.
 */
import { isL4 } from '../../core/model.js';
import { ipvsModules } from '../../core/render/director.js';
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { moduleFix, NOT_INSTALLED, parseProcIpVs, skip } from '../ab-support.js';

export interface IpVsModulesObservation {
  procIpVs: boolean;
  release: string | undefined;
  /** Modules the design or the live table needs. */
  wanted: string[];
  loaded: string[];
  /** undefined: modules.builtin not readable. */
  builtin: string[] | undefined;
  /** modinfo's answer for each wanted module neither loaded nor built in: its file, or null when not found; undefined when modinfo is missing. */
  loadable: Record<string, string | null> | undefined;
}

async function detect(host: Host, ctx: CheckContext): Promise<IpVsModulesObservation> {
  const [table, modules, release] = await Promise.all([host.readFile('/proc/net/ip_vs'), host.readFile('/proc/modules'), host.readFile('/proc/sys/kernel/osrelease')]);
  const rel = release?.trim();
  const fromDesign = ctx.model ? ipvsModules(ctx.model) : [];
  const fromLive = table ? parseProcIpVs(table).map((s) => `ip_vs_${s.scheduler}`) : [];
  const wanted = [...new Set(['ip_vs', ...fromDesign, ...fromLive])];
  const loaded = (modules ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter((m) => m !== '');
  const builtinText = rel ? await host.readFile(`/lib/modules/${rel}/modules.builtin`) : undefined;
  const builtin = builtinText?.split('\n').map((l) => /([^/]+)\.ko$/.exec(l.trim())?.[1]?.replace(/-/g, '_')).filter((m): m is string => m !== undefined);
  const toAsk = wanted.filter((m) => !loaded.includes(m) && !(builtin ?? []).includes(m));
  let loadable: Record<string, string | null> | undefined = {};
  for (const m of toAsk) {
    const r = await host.run(['modinfo', '-F', 'filename', m]);
    if (r.exitCode === NOT_INSTALLED) {
      loadable = undefined;
      break;
    }
    loadable[m] = r.exitCode === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
  }
  return { procIpVs: table !== undefined, release: rel, wanted, loaded, builtin, loadable };
}

function evaluate(o: IpVsModulesObservation): Finding[] {
  const evidence = [
    `/proc/net/ip_vs: ${o.procIpVs ? 'present' : 'missing'}`,
    `kernel ${o.release ?? '(unknown)'}`,
    `/proc/modules: ${o.wanted.map((m) => `${m} ${o.loaded.includes(m) ? 'loaded' : 'not loaded'}`).join(', ')}`,
    o.builtin === undefined ? `/lib/modules/${o.release ?? '?'}/modules.builtin: not readable` : `modules.builtin: ${o.wanted.filter((m) => o.builtin!.includes(m)).join(', ') || 'none of them'}`,
    ...Object.entries(o.loadable ?? {}).map(([m, f]) => `modinfo -F filename ${m}: ${f ?? 'not found'}`),
  ];
  const available = (m: string) => o.loaded.includes(m) || (o.builtin ?? []).includes(m) || (m === 'ip_vs' && o.procIpVs);
  const missing = o.wanted.filter((m) => !available(m) && o.loadable !== undefined && o.loadable[m] === null);
  const unknown = o.wanted.filter((m) => !available(m) && o.loadable === undefined);
  if (missing.length > 0) {
    return [
      {
        status: 'fail',
        message: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in this kernel: not loaded, not built in, no module file`,
        evidence,
        fix: {
          why: 'IPVS and each scheduler a virtual server names must exist in the running kernel; install the kernel modules package of this kernel (e.g. linux-modules-extra) or a kernel with CONFIG_IP_VS and its schedulers, then load them',
          commands: missing.map((m) => ['modprobe', m]),
          files: [{ path: '/etc/modules-load.d/lvs-toolkit.conf', lines: missing }],
        },
      },
    ];
  }
  if (unknown.length > 0) return [skip(`modinfo is not installed and ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} neither loaded nor built in: cannot tell whether the kernel has them`, evidence)];
  if (!o.procIpVs) {
    return [
      {
        status: 'warn',
        message: 'ip_vs is available but not loaded: no virtual server runs now (keepalived and ipvsadm load it on first use)',
        evidence,
        fix: moduleFix('load IPVS now and at every boot, before keepalived starts', o.wanted.filter((m) => !o.loaded.includes(m))),
      },
    ];
  }
  return [{ status: 'pass', message: `IPVS modules available: ${o.wanted.join(', ')}`, evidence }];
}

export const check: Check<IpVsModulesObservation> = {
  id: 'ip-vs-modules',
  title: 'IPVS and the configured schedulers are in the kernel',
  section: 'A',
  sources: ['keepalived#466', 'kubernetes#54121', 'kubernetes#63801', 'kubernetes pkg/proxy/ipvs/README.md', 'keepalived INSTALL'],
  appliesTo: (ctx) => ctx.role === 'director' && ctx.platform === 'host' && (ctx.modes.length === 0 || ctx.modes.some(isL4)),
  detect,
  evaluate,
};
