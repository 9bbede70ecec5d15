/**
 * The contract between capture's three stages (DESIGN rule 6): a source
 * yields raw frames of one capture point, decode turns a frame into a packet,
 * correlate follows flows across points. Sources do I/O; decode and
 * correlate are pure.
 */

/** pcap link-layer header types we decode (www.tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

/** One frame as captured at one point, before decoding. */
export interface RawFrame {
  /** Capture time in microseconds since the Unix epoch (pcap's resolution; nanosecond files are rounded). */
  timeUs: number;
  /** pcap LINKTYPE_* of `data`. */
  linkType: number;
  /** The captured bytes (possibly truncated by the snap length). */
  data: Uint8Array;
  /** The frame's length on the wire. */
  origLen: number;
}

/** Where a capture happens: a name the user and the verdicts use, the host it runs on, the interface. */
export interface CapturePoint {
  /** "dir1:eth0", "rs1:tunl0", or the node's role-ish name under --lab. */
  name: string;
  /** Host.describe() of where it runs, or "file" for -r. */
  host: string;
  iface: string;
}

/** Counters of one point, read at the end (and during, for the live view). */
export interface PointStats {
  received: number;
  /** Dropped by the kernel or the capture buffer; undefined when the source cannot know (a pcap file). */
  dropped: number | undefined;
  /** Dropped by the interface (ifconfig's "dropped"), when the source can read it. */
  ifDropped?: number;
}

/** A running capture at one point. */
export interface CaptureSource {
  readonly point: CapturePoint;
  /** Frames as they arrive; ends when the capture stops (count, duration, stop(), end of file). */
  frames(): AsyncIterable<RawFrame>;
  stats(): PointStats;
  /** Stop capturing; frames() then ends. Safe to call twice. */
  stop(): Promise<void>;
}

/** What a capture point stands for on the path of a connection through the director. */
export type PointRole =
  /** The client's own interface (or a neighbour on the client's segment). */
  | 'client'
  /** The director's interface where requests to the VIP arrive. */
  | 'director-in'
  /** The director's interface toward the real servers (the same interface as director-in on a one-arm director). */
  | 'director-out'
  /** A real server's interface where requests arrive (eth0; for TUN the outer IPIP packet). */
  | 'rs-in'
  /** A TUN real server's tunl0 (the decapsulated request). */
  | 'rs-tunl0';

export interface TracePoint extends CapturePoint {
  role: PointRole;
  /** For rs-in / rs-tunl0: the backend (node name under --lab) this point belongs to. */
  backend?: string;
}

export interface TraceBackend {
  /** Node name under --lab, else the RIP. */
  name: string;
  rip: string;
  port?: number;
  /** The real server's MAC on the director's segment, when known (DR: the director rewrites the destination MAC to it). */
  mac?: string;
}

/** Everything correlate needs to know about the service being traced. */
export interface TraceSpec {
  vip: string;
  /** Undefined: every port of the VIP. */
  port?: number;
  proto: 'tcp' | 'udp';
  mode: 'nat' | 'dr' | 'tun';
  /** The director's address toward the real servers (NAT: their gateway), when known. */
  directorRip?: string;
  backends: TraceBackend[];
  points: TracePoint[];
}

/** `lvs-trace --json`, as documented in the README (issue 5). */
export interface TraceReport {
  flows: Array<{
    client: string;
    vip: string;
    backend: string | null;
    hops: Array<{ point: string; seen: boolean; time: number | null }>;
    verdict: { ok: boolean; stoppedAfter: string | null; stoppedBefore: string | null; cause: string | null; check: string | null };
  }>;
  points: Array<{ name: string; host: string; iface: string; received: number; dropped: number | null }>;
  /** Findings not tied to one flow: ARP answered by several MACs, two VRRP masters, a point that saw nothing. */
  notes?: Array<{ cause: string; check: string | null; evidence: string }>;
}
