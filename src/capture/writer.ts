/**
 * `-w DIR`: one classic pcap file per capture point, in the point's own link
 * type, so tshark and Wireshark open each one (a pcapng with one interface
 * per point would be one file, but classic pcap is what every tool reads).
 * Records are buffered and written in blocks: a flood must not cost one
 * write(2) per frame.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pcapFileHeader, pcapRecord } from './pcap.js';
import type { RawFrame } from './types.js';

/** The file name of a point: its name with anything but letters, digits, . _ - turned into "_" ("dir1:eth0" → "dir1_eth0.pcap"). */
export function pcapFileName(point: string): string {
  return `${point.replace(/[^A-Za-z0-9._-]/g, '_')}.pcap`;
}

const FLUSH_BYTES = 256 * 1024;

interface Open {
  fd: number;
  linkType: number;
  chunks: Uint8Array[];
  bytes: number;
  frames: number;
  path: string;
}

export class PcapDirWriter {
  private readonly files = new Map<string, Open>();

  /** Creates DIR (and parents) now, so a path we cannot write fails before the capture starts. */
  constructor(
    readonly dir: string,
    private readonly snaplen = 65535,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** The header is written with the first frame: the point's link type is known only then. */
  write(point: string, frame: RawFrame): void {
    let f = this.files.get(point);
    if (!f) {
      const path = join(this.dir, pcapFileName(point));
      f = { fd: openSync(path, 'w'), linkType: frame.linkType, chunks: [], bytes: 0, frames: 0, path };
      this.files.set(point, f);
      this.append(f, pcapFileHeader(frame.linkType, this.snaplen));
    }
    // One pcap file holds one link type; a point never changes its own.
    if (frame.linkType !== f.linkType) return;
    this.append(f, pcapRecord(frame));
    f.frames++;
  }

  /** A point that saw nothing still gets its (empty) file, so the directory lists every point. */
  touch(point: string, linkType: number): void {
    if (this.files.has(point)) return;
    const path = join(this.dir, pcapFileName(point));
    const f: Open = { fd: openSync(path, 'w'), linkType, chunks: [], bytes: 0, frames: 0, path };
    this.files.set(point, f);
    this.append(f, pcapFileHeader(linkType, this.snaplen));
  }

  private append(f: Open, bytes: Uint8Array): void {
    f.chunks.push(bytes);
    f.bytes += bytes.length;
    if (f.bytes >= FLUSH_BYTES) this.flush(f);
  }

  private flush(f: Open): void {
    if (f.chunks.length === 0) return;
    writeSync(f.fd, Buffer.concat(f.chunks, f.bytes));
    f.chunks = [];
    f.bytes = 0;
  }

  /** Flush and close every file; what was written, per point. */
  close(): Array<{ point: string; path: string; frames: number }> {
    const out = [];
    for (const [point, f] of this.files) {
      this.flush(f);
      closeSync(f.fd);
      out.push({ point, path: f.path, frames: f.frames });
    }
    this.files.clear();
    return out;
  }
}
