/**
 * B20: LVS-TUN adds a 20-byte IPIP header on the director, so a full-size
 * client packet no longer fits a 1500-byte path; path-MTU discovery does not
 * help because the client never sees the director's encapsulation
 * (LVS-HOWTO LVS-Tun; ipvs-sysctl.rst pmtu_disc).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { designL4Services, mapLimit, parseProcIpVs, readAddrs, readSysctl, skip, sysctlLine, type IpvsService } from '../ab-support.js';

export interface TunPmtuObservation {
  pmtuDisc: number | undefined;
  /** For each TUN real server: the interface the route to it leaves by, and that interface's MTU. */
  paths: Array<{ rip: string; dev: string | undefined; mtu: number | undefined }>;
}

/** The client packets a TUN real server must accept whole: 1500 bytes + the IPIP header. */
export const IPIP_OVERHEAD = 20;

async function detect(host: Host, ctx: CheckContext): Promise<TunPmtuObservation> {
  const [pmtu, table, addrs] = await Promise.all([readSysctl(host, 'net/ipv4/vs/pmtu_disc'), host.readFile('/proc/net/ip_vs'), readAddrs(host)]);
  const live: IpvsService[] = table ? parseProcIpVs(table) : [];
  const rips = [...new Set([...designL4Services(ctx.model).filter((s) => s.mode === 'tun').flatMap((s) => s.realServers.map((r) => r.address)), ...live.flatMap((s) => s.reals.filter((r) => r.forward === 'Tunnel').map((r) => r.address))])];
  const paths = await mapLimit(rips, 3, async (rip) => {
      const r = await host.run(['ip', '-j', 'route', 'get', rip]);
      let dev: string | undefined;
      try {
        dev = (JSON.parse(r.stdout) as Array<{ dev?: string }>)[0]?.dev;
      } catch {
        dev = undefined;
      }
      return { rip, dev, mtu: addrs?.links.find((l) => l.ifname === dev)?.mtu };
  });
  return { pmtuDisc: pmtu.value, paths };
}

function evaluate(o: TunPmtuObservation, ctx: CheckContext): Finding[] {
  const evidence = [sysctlLine('net/ipv4/vs/pmtu_disc', o.pmtuDisc), ...o.paths.map((p) => `route to ${p.rip}: dev ${p.dev ?? '?'} mtu ${p.mtu ?? '?'}`)];
  if (o.paths.length === 0) return [skip(ctx.modes.includes('tun') ? 'no TUN real server found' : 'no TUN service on this director', evidence)];
  const small = o.paths.filter((p) => p.mtu !== undefined && p.mtu < 1500 + IPIP_OVERHEAD);
  if (small.length === 0) return [{ status: 'pass', message: 'the paths to the TUN real servers carry a full 1500-byte packet plus the IPIP header', evidence }];
  if (o.pmtuDisc === 0) return [{ status: 'pass', message: 'pmtu_disc = 0: the director fragments what does not fit the tunnel instead of dropping it', evidence }];
  return [
    {
      status: 'warn',
      message: `the path to ${small.map((p) => `${p.rip} (mtu ${p.mtu})`).join(', ')} cannot carry a 1500-byte client packet plus ${IPIP_OVERHEAD} bytes of IPIP: large packets are lost unless the client honours ICMP "fragmentation needed"`,
      evidence,
      fix: {
        why: 'clamp the MSS on the real servers so clients send smaller segments (e.g. on each real server: iptables -t mangle -A OUTPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440), or raise the MTU of the link to the real servers to 1520, or let the director fragment (net.ipv4.vs.pmtu_disc = 0)',
        commands: [],
        files: [],
      },
    },
  ];
}

export const check: Check<TunPmtuObservation> = {
  id: 'tun-pmtu',
  title: 'TUN: the tunnel path carries full-size packets',
  section: 'B',
  sources: ['LVS-HOWTO LVS-Tun', 'Documentation/networking/ipvs-sysctl.rst (pmtu_disc)'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.includes('tun')),
  detect,
  evaluate,
};
