/**
 * C22 (TUN): a TUN real server decapsulates IP-in-IP on `tunl0`, which exists
 * only when the `ipip` module is loaded (or built in), and receives nothing
 * while it is down: the director's packets then draw "ICMP protocol 4
 * unreachable" (seed 002). In a container the module is the host's to load
 * (container-host-modules) and, on OpenVZ, the container's to be allowed
 * (openvz-ipip). Whether the VIP is on tunl0 is rs-vip's to say.
 */
import type { Check } from '../check.js';
import { firstLine, hasMode, isRealServer, realServerMemberships, runTool, skip } from '../cde-support.js';
import { MODULES_PATH, SETUP_SCRIPT_PATH } from '../../core/render/real-server.js';

export interface RsTunnelObservation {
  /** `ip -j -d link show tunl0`: absent, or its flags. */
  tunl0: { present: false; error: string } | { present: true; flags: string[]; operstate?: string } | undefined;
  /** `ipip` in /proc/modules (undefined when /proc/modules is unreadable). */
  ipipLoaded?: boolean;
}

export const check: Check<RsTunnelObservation> = {
  id: 'rs-tunnel',
  title: 'TUN real server: ipip loaded and tunl0 up',
  section: 'C',
  sources: ['LVS-HOWTO LVS-Tun', 'seed 002 (ICMP protocol 4 unreachable)', 'ip-link(8)'],
  appliesTo: (ctx) => isRealServer(ctx) && hasMode(ctx, 'tun'),
  async detect(host) {
    const r = await runTool(host, ['ip', '-j', '-d', 'link', 'show', 'tunl0']);
    let tunl0: RsTunnelObservation['tunl0'];
    if (r) {
      if (r.exitCode !== 0) tunl0 = { present: false, error: firstLine(r.stderr) || `exit ${r.exitCode}` };
      else {
        const [l] = JSON.parse(r.stdout || '[]') as Array<{ flags?: string[]; operstate?: string }>;
        tunl0 = l ? { present: true, flags: l.flags ?? [], ...(l.operstate ? { operstate: l.operstate } : {}) } : { present: false, error: 'empty answer' };
      }
    }
    const modules = await host.readFile('/proc/modules');
    return { tunl0, ...(modules !== undefined ? { ipipLoaded: /^ipip\s/m.test(modules) } : {}) };
  },
  evaluate(obs, ctx) {
    if (!obs.tunl0) return [skip('ip is not installed here: cannot look at tunl0', ['ip: exit 127'])];
    const inContainer = ctx.platform !== 'host';
    const evidence = [
      obs.tunl0.present ? `tunl0: flags ${obs.tunl0.flags.join(',') || 'none'}, operstate ${obs.tunl0.operstate ?? '?'}` : `ip link show tunl0: ${obs.tunl0.error}`,
      obs.ipipLoaded === undefined ? '/proc/modules unreadable' : `ipip ${obs.ipipLoaded ? 'is' : 'is not'} in /proc/modules${obs.ipipLoaded ? '' : ' (it may be built in)'}`,
    ];
    if (!obs.tunl0.present) {
      if (inContainer) {
        return [
          {
            status: 'fail',
            message: 'tunl0 does not exist in this container: the container host has not loaded ipip (or, on OpenVZ, not allowed it)',
            evidence,
            fix: {
              why: `a container cannot load modules: on the container host ${realServerMemberships(ctx.model, ctx.node)[0]?.rs.platform.host ?? 'of this container'} run modprobe ipip and add ipip to ${MODULES_PATH}; every container then gets tunl0 (OpenVZ also needs vzctl set CTID --feature ipip:on --save)`,
              commands: [],
              files: [],
            },
          },
        ];
      }
      return [
        {
          status: 'fail',
          message: 'tunl0 does not exist: the ipip module is not loaded, so IP-in-IP from the director is refused (ICMP protocol 4 unreachable)',
          evidence,
          fix: { why: 'the ipip module creates tunl0, which decapsulates the director’s packets', commands: [['modprobe', 'ipip'], ['ip', 'link', 'set', 'tunl0', 'up']], files: [{ path: MODULES_PATH, lines: ['ipip'] }, { path: SETUP_SCRIPT_PATH, lines: ['ip link set tunl0 up'] }] },
        },
      ];
    }
    if (!obs.tunl0.flags.includes('UP')) {
      return [
        {
          status: 'fail',
          message: 'tunl0 is down: packets tunnelled by the director are dropped',
          evidence,
          fix: { why: 'a down tunl0 receives nothing', commands: [['ip', 'link', 'set', 'tunl0', 'up']], files: [{ path: SETUP_SCRIPT_PATH, lines: ['ip link set tunl0 up'] }] },
        },
      ];
    }
    return [{ status: 'pass', message: 'tunl0 exists and is up', evidence }];
  },
};
