/**
 * B15: net.ipv4.vs.conn_reuse_mode. Before Linux 5.9, 1 makes a reused
 * source port wait for the old connection to expire (1-second stalls under
 * load, kubernetes#81775); 0 keeps reused connections on their old real
 * server, even at weight 0, and defeats expire_nodest_conn
 * (ipvs-sysctl.rst). From 5.9 on, 1 is safe (kubernetes#93297).
 */
import type { Host } from '../../host/types.js';
import type { Check, Finding } from '../check.js';
import { readSysctl, skip, sysctlFix, sysctlLine } from '../ab-support.js';

export interface ConnReuseObservation {
  release: string | undefined;
  connReuseMode: number | undefined;
}

const PATH = 'net/ipv4/vs/conn_reuse_mode';

async function detect(host: Host): Promise<ConnReuseObservation> {
  const [rel, v] = await Promise.all([host.readFile('/proc/sys/kernel/osrelease'), readSysctl(host, PATH)]);
  return { release: rel?.trim(), connReuseMode: v.value };
}

/** [major, minor] of "6.1.0-56-amd64". */
export function kernelVersion(release: string | undefined): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function evaluate(o: ConnReuseObservation): Finding[] {
  const evidence = [`kernel ${o.release ?? '(unknown)'} (/proc/sys/kernel/osrelease)`, sysctlLine(PATH, o.connReuseMode)];
  if (o.connReuseMode === undefined) return [skip('conn_reuse_mode is not readable (ip_vs not loaded, or hidden in a container)', evidence)];
  const v = kernelVersion(o.release);
  const modern = v !== undefined && (v[0] > 5 || (v[0] === 5 && v[1] >= 9));
  if (o.connReuseMode === 0) {
    return [
      {
        status: 'warn',
        message: 'conn_reuse_mode = 0: a reused client port goes back to its old real server even at weight 0, and expire_nodest_conn has no effect',
        evidence,
        ...(modern ? { fix: sysctlFix('on Linux >= 5.9 the default 1 no longer stalls reused ports (kubernetes#93297)', [{ path: PATH, value: 1 }]) } : {}),
      },
    ];
  }
  if (!modern) {
    return [
      {
        status: 'warn',
        message: `conn_reuse_mode = ${o.connReuseMode} on kernel ${o.release ?? 'unknown'} (< 5.9): under source-port reuse new connections stall about 1 second`,
        evidence,
        fix: {
          why: 'before 5.9 there is no good value: keep 1 and accept the stalls under heavy port reuse, or set 0 knowingly (then drained real servers keep reused connections); a kernel >= 5.9 fixes it',
          commands: [],
          files: [],
        },
      },
    ];
  }
  return [{ status: 'pass', message: `conn_reuse_mode = ${o.connReuseMode} on kernel ${o.release} (>= 5.9)`, evidence }];
}

export const check: Check<ConnReuseObservation> = {
  id: 'conn-reuse-mode',
  title: 'IPVS conn_reuse_mode fits the kernel',
  section: 'B',
  sources: ['kubernetes#70747', 'kubernetes PR#71114', 'kubernetes#81775', 'kubernetes#93297', 'kubernetes#90854', 'Documentation/networking/ipvs-sysctl.rst'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'nat' || m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
