/**
 * Live capture on this machine with the `cap` binding to libpcap: the BPF
 * filter is compiled by libpcap and attached to the packet socket, so the
 * kernel drops what we do not want before it is copied to us, and the ring
 * buffer is large (64 MB by default) so a burst does not overflow it.
 *
 * What cap 0.2.1 does and does not give (read in its src/binding.cc):
 *  - `open(device, filter, bufferSize, buffer)` sets snaplen 65535,
 *    promiscuous mode and immediate mode, and returns the link type as a
 *    name ("ETHERNET", "LINKTYPE_LINUX_SLL", …, "Unknown linktype N");
 *  - each frame is copied into our one buffer and announced as
 *    `packet(nbytes, truncated)` with no timestamp: we stamp it when Node
 *    reads it (immediate mode makes that close to the kernel's time);
 *  - no `pcap_stats()`: the kernel's count of frames the ring buffer lost is
 *    out of reach, so drops are the interface's own `rx_dropped` counter
 *    (/sys/class/net/IF/statistics) over the capture, plus frames our own
 *    queue refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { LINKTYPE, type CapturePoint, type CaptureSource, type PointStats, type RawFrame } from '../types.js';
import { CaptureError } from './errors.js';
import { FrameQueue } from './queue.js';

export interface LiveOptions {
  /** A pcap-filter(7) expression; empty captures everything. */
  filter: string;
  /** libpcap's ring buffer (pcap_set_buffer_size), in MiB. */
  bufferMb?: number;
  /** Frames held for the tracer before new ones count as dropped. */
  maxQueued?: number;
  /** Where interface counters are read; /sys/class/net by default. */
  sysNet?: string;
}

/** The default ring buffer: ≥ 64 MB, as issue 5 asks, for floods on a busy director. */
export const DEFAULT_BUFFER_MB = 64;

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
}

type CapModule = { Cap: new () => CapHandle };

let capModule: CapModule | undefined;

/** cap is a native add-on (CommonJS): loaded on first use, so nothing else pays for it. */
function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    capModule = createRequire(import.meta.url)('cap') as CapModule;
    return capModule;
  } catch (e) {
    throw new CaptureError(
      'missing-tool',
      'the live capture binding (cap) is not built on this machine',
      'install libpcap-dev and run `npm rebuild cap`, or capture with --at local:IFACE (tcpdump)',
      e instanceof Error ? e.message : String(e),
    );
  }
}

/** cap's link-type names back to pcap LINKTYPE_* numbers. */
export function linkTypeOf(name: string): number | undefined {
  switch (name) {
    case 'ETHERNET':
      return LINKTYPE.ETHERNET;
    case 'LINKTYPE_LINUX_SLL':
      return LINKTYPE.LINUX_SLL;
    case 'RAW':
      return LINKTYPE.RAW;
    case 'NULL':
      return 0;
    case 'IEEE802_11_RADIO':
      return 127;
    default: {
      const m = /Unknown linktype (\d+)/.exec(name);
      return m ? Number(m[1]) : undefined;
    }
  }
}

/** Microseconds since the epoch, finer than Date.now(). */
function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function readCounter(sysNet: string, iface: string, name: string): number | undefined {
  try {
    const n = Number(readFileSync(`${sysNet}/${iface}/statistics/${name}`, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** libpcap's words for a missing CAP_NET_RAW ("socket: Operation not permitted", "You don't have permission…"). */
function isPermission(msg: string): boolean {
  return /Operation not permitted|permission|EPERM/i.test(msg);
}

/**
 * Start capturing on `point.iface` of this machine. Throws CaptureError:
 * 'no-such-interface' (named), 'permission' (CAP_NET_RAW), 'missing-tool'
 * (cap not built), 'failed' (a bad filter: libpcap's words).
 */
export async function openLive(point: CapturePoint, opts: LiveOptions): Promise<CaptureSource> {
  const sysNet = opts.sysNet ?? '/sys/class/net';
  // Checked before libpcap: for a missing device cap prints a warning of its own to stderr first.
  if (point.iface !== 'any' && !existsSync(`${sysNet}/${point.iface}`)) {
    throw new CaptureError('no-such-interface', `no interface ${point.iface} on this machine (point ${point.name})`, 'list them with `ip -br link`; name the right one with --at local:IFACE');
  }
  const { Cap } = loadCap();
  const cap = new Cap();
  const buffer = Buffer.alloc(65536);
  const bufferBytes = Math.round((opts.bufferMb ?? DEFAULT_BUFFER_MB) * 1024 * 1024);
  let linkName: string;
  try {
    linkName = cap.open(point.iface, opts.filter, bufferBytes, buffer);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // No cap.close() here: after a failed open its poll handle was never
    // initialised, and close() stops it anyway (a crash, seen with cap 0.2.1).
    if (isPermission(msg)) {
      throw new CaptureError('permission', `capturing on ${point.iface} needs root or CAP_NET_RAW (libpcap: ${msg})`, 'run as root (sudo), or: sudo setcap cap_net_raw,cap_net_admin+eip "$(command -v node)"');
    }
    if (/No such device/i.test(msg)) throw new CaptureError('no-such-interface', `no interface ${point.iface} on this machine (point ${point.name})`, 'list them with `ip -br link`');
    throw new CaptureError('failed', `cannot capture on ${point.iface}: ${msg}`, /syntax|filter/i.test(msg) ? `the filter was: ${opts.filter}` : undefined);
  }
  const linkType = linkTypeOf(linkName);
  if (linkType === undefined) {
    cap.close();
    throw new CaptureError('failed', `cannot capture on ${point.iface}: libpcap reports link type ${JSON.stringify(linkName)}, which we do not decode`);
  }
  return new LiveSource(point, cap, buffer, linkType, sysNet, opts.maxQueued);
}

class LiveSource implements CaptureSource {
  private readonly queue: FrameQueue;
  private received = 0;
  private readonly rxDropped0: number | undefined;
  private rxDroppedEnd: number | undefined;
  private stopped = false;

  constructor(
    readonly point: CapturePoint,
    private readonly cap: CapHandle,
    buffer: Buffer,
    private readonly linkType: number,
    private readonly sysNet: string,
    maxQueued: number | undefined,
  ) {
    this.queue = new FrameQueue(maxQueued);
    this.rxDropped0 = readCounter(sysNet, point.iface, 'rx_dropped');
    cap.on('packet', (nbytes) => {
      this.received++;
      // cap reuses its buffer for the next frame: copy now.
      const frame: RawFrame = { timeUs: nowUs(), linkType: this.linkType, data: new Uint8Array(buffer.subarray(0, nbytes)), origLen: nbytes };
      this.queue.push(frame);
    });
  }

  frames(): AsyncIterable<RawFrame> {
    return this.queue;
  }

  /** The interface's link type (for an empty -w file of a point that saw nothing). */
  get frameLinkType(): number {
    return this.linkType;
  }

  stats(): PointStats {
    const now = this.rxDroppedEnd ?? readCounter(this.sysNet, this.point.iface, 'rx_dropped');
    const ifDropped = this.rxDropped0 !== undefined && now !== undefined ? Math.max(0, now - this.rxDropped0) : undefined;
    return {
      received: this.received,
      dropped: (ifDropped ?? 0) + this.queue.overflowed,
      ...(ifDropped !== undefined ? { ifDropped } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.rxDroppedEnd = readCounter(this.sysNet, this.point.iface, 'rx_dropped');
    this.cap.close();
    this.queue.end();
  }
}
