/**
 * Capture on another machine through any Host: `tcpdump -U -w -` runs there
 * and its pcap stream is decoded here, so a real server, a container or a lab
 * node needs only tcpdump, not Node (issue 5). `-U` writes every packet as it
 * comes (and the file header at once, which is how we know it started);
 * `--immediate-mode` because libpcap's TPACKET_V3 ring otherwise hands over a
 * block only when it is full or its 1 s timeout expires, and a capture
 * stopped with SIGTERM before that reported 0 packets (seen with tcpdump
 * 4.99.3 / libpcap 1.10.3);
 * `-s 256` keeps the headers, including the original header an ICMP
 * unreachable quotes, without copying payloads over ssh.
 */
import { PcapFormatError, PcapStreamReader } from '../pcap.js';
import type { Host, StreamHandle } from '../../host/types.js';
import type { CapturePoint, CaptureSource, PointStats, RawFrame } from '../types.js';
import { CaptureError } from './errors.js';
import { FrameQueue } from './queue.js';

export interface RemoteOptions {
  /** pcap-filter(7) expression, passed to tcpdump as one argument. */
  filter: string;
  /** tcpdump -s; 256 by default. */
  snaplen?: number;
  /** How long to wait for tcpdump's file header before giving up. */
  startTimeoutMs?: number;
  maxQueued?: number;
}

/** The argv run on the far side. */
export function tcpdumpArgv(iface: string, filter: string, snaplen = 256): string[] {
  return ['tcpdump', '-U', '--immediate-mode', '-n', '-s', String(snaplen), '-w', '-', '-i', iface, ...(filter ? [filter] : [])];
}

/** The counters tcpdump prints on stderr when it ends (tcpdump(8): "packets received by filter", "dropped by kernel"). */
export interface TcpdumpStats {
  captured?: number;
  receivedByFilter?: number;
  droppedByKernel?: number;
  droppedByInterface?: number;
}

/** Pure: the closing counters of tcpdump's stderr. */
export function parseTcpdumpStats(stderr: string): TcpdumpStats {
  const num = (re: RegExp) => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  const out: TcpdumpStats = {};
  const captured = num(/^(\d+) packets? captured/m);
  const byFilter = num(/^(\d+) packets? received by filter/m);
  const byKernel = num(/^(\d+) packets? dropped by kernel/m);
  const byIface = num(/^(\d+) packets? dropped by interface/m);
  if (captured !== undefined) out.captured = captured;
  if (byFilter !== undefined) out.receivedByFilter = byFilter;
  if (byKernel !== undefined) out.droppedByKernel = byKernel;
  if (byIface !== undefined) out.droppedByInterface = byIface;
  return out;
}

/** tcpdump's own words for the failures issue 5 names, turned into CaptureErrors. */
export function classifyTcpdumpFailure(stderr: string, exitCode: number, point: CapturePoint, host: string): CaptureError {
  const said = stderr.trim();
  if (exitCode === 127 || /tcpdump: (?:command )?not found|exec of "tcpdump" failed|Failed to exec "tcpdump"|executable file not found/i.test(said)) {
    return new CaptureError('missing-tool', `tcpdump is not installed on ${host} (point ${point.name})`, `install tcpdump on ${host} (Debian/Ubuntu: apt-get install tcpdump)`, said);
  }
  if (/No such device|doesn't exist|does not exist/i.test(said)) {
    return new CaptureError('no-such-interface', `no interface ${point.iface} on ${host} (point ${point.name})`, `list them with \`ip -br link\` there; name the right one with --at ${host}:IFACE`, said);
  }
  if (/That device is not up/i.test(said)) {
    return new CaptureError('interface-down', `${point.iface} is down on ${host} (point ${point.name})`, `bring it up there: ip link set ${point.iface} up`, said);
  }
  if (/permission|Operation not permitted/i.test(said)) {
    return new CaptureError('permission', `capturing on ${point.iface} on ${host} needs root or CAP_NET_RAW there`, 'reach it as root (ssh://root@…)', said);
  }
  return new CaptureError('failed', `tcpdump on ${host} (point ${point.name}) exited ${exitCode}`, undefined, said);
}

/**
 * Start tcpdump on `host` and resolve once it is capturing (its pcap header
 * arrived). Throws CaptureError when tcpdump is missing (exit 127), the
 * interface does not exist, root is needed, or it never starts.
 */
export async function openRemote(point: CapturePoint, host: Host, opts: RemoteOptions): Promise<CaptureSource> {
  const where = host.describe();
  const probe = await host.run(['tcpdump', '--version'], { timeoutMs: 30_000 });
  if (probe.exitCode !== 0) {
    if (probe.timedOut) throw new CaptureError('failed', `${where} did not answer within 30 s (point ${point.name})`);
    throw classifyTcpdumpFailure(`${probe.stderr}\n${probe.stdout}`, probe.exitCode, point, where);
  }
  const handle = host.stream(tcpdumpArgv(point.iface, opts.filter, opts.snaplen));
  const source = new RemoteSource(point, handle, where, opts.maxQueued);
  await source.started(opts.startTimeoutMs ?? 30_000);
  return source;
}

class RemoteSource implements CaptureSource {
  private readonly queue: FrameQueue;
  private readonly reader: PcapStreamReader;
  private received = 0;
  private final: TcpdumpStats | undefined;
  private readonly pumped: Promise<void>;
  private readonly ended: Promise<{ stderr: string; exitCode: number }>;
  private stopping = false;
  private headerSeen: (() => void) | undefined;

  constructor(
    readonly point: CapturePoint,
    private readonly handle: StreamHandle,
    /** Host.describe() of where tcpdump runs, for messages. */
    private readonly where: string,
    maxQueued: number | undefined,
  ) {
    this.queue = new FrameQueue(maxQueued);
    this.reader = new PcapStreamReader(`tcpdump on ${where} (point ${point.name})`);
    this.ended = handle.done.catch((e: unknown) => ({ stderr: e instanceof Error ? e.message : String(e), exitCode: 255 }));
    this.pumped = this.pump();
  }

  private async pump(): Promise<void> {
    let failure: Error | undefined;
    try {
      for await (const chunk of this.handle.stdout) {
        for (const f of this.reader.push(chunk)) {
          this.received++;
          this.queue.push(f);
        }
        if (this.reader.linkType !== undefined) this.headerSeen?.();
      }
      // A capture stopped by us may end inside a record: that tail is not an error.
      if (!this.stopping) this.reader.end();
    } catch (e) {
      if (e instanceof PcapFormatError) {
        failure = new CaptureError('failed', `the capture stream from ${this.where} is not pcap (point ${this.point.name}): ${e.message}`, 'something on that host writes to standard output before tcpdump (a login banner?)');
        this.handle.kill('SIGTERM');
      } else if (!this.stopping) {
        failure = e instanceof Error ? e : new Error(String(e));
      }
    }
    const end = await this.ended;
    this.final = parseTcpdumpStats(end.stderr);
    if (!failure && !this.stopping && end.exitCode !== 0 && this.reader.linkType === undefined) {
      failure = classifyTcpdumpFailure(end.stderr, end.exitCode, this.point, this.where);
    }
    this.queue.end(failure);
  }

  /** Resolves when tcpdump wrote its file header; throws what made it fail before that. */
  async started(timeoutMs: number): Promise<void> {
    if (this.reader.linkType !== undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const header = new Promise<'header'>((resolve) => (this.headerSeen = () => resolve('header')));
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([header, this.ended.then(() => 'ended' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'header') return;
    if (outcome === 'timeout') {
      this.handle.kill('SIGTERM');
      throw new CaptureError('failed', `tcpdump on ${this.where} did not start within ${Math.round(timeoutMs / 1000)} s (point ${this.point.name})`);
    }
    await this.pumped;
    if (this.reader.linkType !== undefined) return;
    const end = await this.ended;
    throw classifyTcpdumpFailure(end.stderr, end.exitCode, this.point, this.where);
  }

  frames(): AsyncIterable<RawFrame> {
    return this.queue;
  }

  /** The link type tcpdump announced in its header (for an empty -w file of a point that saw nothing). */
  get frameLinkType(): number | undefined {
    return this.reader.linkType;
  }

  stats(): PointStats {
    const f = this.final;
    const dropped = f?.droppedByKernel !== undefined ? f.droppedByKernel + this.queue.overflowed : this.queue.overflowed || undefined;
    return {
      received: this.received,
      dropped,
      ...(f?.droppedByInterface !== undefined ? { ifDropped: f.droppedByInterface } : {}),
    };
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      // SIGTERM: tcpdump flushes and prints its counters (the "dropped by kernel" we report).
      this.handle.kill('SIGTERM');
    }
    // A far side that ignores SIGTERM (a wedged ssh) must not hang the summary.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.handle.kill('SIGKILL');
        resolve();
      }, 10_000);
    });
    await Promise.race([this.pumped, late]);
    clearTimeout(timer);
    await this.pumped;
  }
}
