/**
 * E42: containers share the host's kernel and cannot load modules: ip_vs and
 * its schedulers for a director container, ipip for a TUN real server must be
 * loaded on the host (seed 000: "LVS … will NOT be available for use in
 * containers until you load the LVS module … in the hosts first"). Read
 * /proc/modules and modules.builtin on the host.
 */
import type { Check } from '../check.js';
import { hostedContainers, runTool, skip } from '../cde-support.js';
import { ipvsModules } from '../../core/render/director.js';
import { MODULES_PATH } from '../../core/render/real-server.js';

export interface HostModulesObservation {
  loaded?: string[];
  builtin?: string[];
}

export const check: Check<HostModulesObservation> = {
  id: 'container-host-modules',
  title: 'Modules the containers need are loaded on their host',
  section: 'E',
  sources: ['seed 000', 'keepalived INSTALL', 'vagrant-lxc wiki'],
  appliesTo: (ctx) => ctx.role === 'container-host',
  async detect(host) {
    const mods = await host.readFile('/proc/modules');
    const rel = await runTool(host, ['uname', '-r']);
    const builtin = rel && rel.exitCode === 0 ? await host.readFile(`/lib/modules/${rel.stdout.trim()}/modules.builtin`) : undefined;
    return {
      ...(mods !== undefined ? { loaded: mods.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean) } : {}),
      ...(builtin !== undefined ? { builtin: builtin.split('\n').map((l) => l.trim().split('/').pop()!.replace(/\.ko(\.\w+)?$/, '')).filter(Boolean) } : {}),
    };
  },
  evaluate(obs, ctx) {
    const cts = hostedContainers(ctx.model, ctx.node);
    if (!ctx.model || cts.length === 0) return [skip('no container of the design runs on this host')];
    if (!obs.loaded) return [skip('/proc/modules is unreadable here')];
    const need = new Map<string, string[]>();
    const want = (m: string, who: string) => need.set(m, [...(need.get(m) ?? []), who]);
    for (const c of cts) {
      if (c.kind === 'director') for (const m of ipvsModules(ctx.model)) want(m, c.name);
      if (c.kind === 'real-server' && c.services.some((s) => s.mode === 'tun')) want('ipip', c.name);
    }
    if (need.size === 0) return [skip('the containers here need no kernel module')];
    const have = new Set([...(obs.loaded ?? []), ...(obs.builtin ?? [])]);
    const missing = [...need.keys()].filter((m) => !have.has(m));
    const evidence = [...need].map(([m, who]) => `${m} (for ${who.join(', ')}): ${obs.loaded!.includes(m) ? 'loaded' : obs.builtin?.includes(m) ? 'built in' : 'not loaded'}`);
    if (missing.length === 0) return [{ status: 'pass', message: `the host has ${[...need.keys()].join(', ')} for its containers`, evidence }];
    return [
      {
        status: 'fail',
        message: `${missing.join(', ')} not loaded on the host: ${[...new Set(missing.flatMap((m) => need.get(m)!))].join(', ')} cannot use ${missing.length > 1 ? 'them' : 'it'} (containers cannot load modules)`,
        evidence,
        fix: { why: 'a container uses the host’s kernel; only the host can load modules', commands: missing.map((m) => ['modprobe', m]), files: [{ path: MODULES_PATH, lines: missing }] },
      },
    ];
  },
};
