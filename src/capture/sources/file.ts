/**
 * Captures taken elsewhere (`-r point=file.pcap`): a pcap or pcapng file
 * read whole and replayed as the frames of one point. A file cannot say what
 * the kernel dropped, so `dropped` is unknown, not 0.
 */
import { readFile } from 'node:fs/promises';
import { PcapFormatError, readCaptureFile } from '../pcap.js';
import type { CapturePoint, CaptureSource, PointStats, RawFrame } from '../types.js';
import { CaptureError } from './errors.js';

/** `-r NAME=FILE`: the point's name and the file; a path alone is an error (which point would it be?). */
export function parseReadSpec(spec: string): { name: string; path: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) {
    throw new CaptureError('bad-file', `bad -r ${JSON.stringify(spec)}: expected POINT=FILE, e.g. dir1:eth0=director.pcap`, 'the point names are printed by lvs-trace --list-points');
  }
  return { name: spec.slice(0, eq), path: spec.slice(eq + 1) };
}

/** Read the whole file now, so a bad file fails before any capture starts. */
export async function openFile(point: CapturePoint, path: string): Promise<CaptureSource> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CaptureError('bad-file', `cannot read ${path} (point ${point.name}): ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`);
  }
  let frames: RawFrame[];
  try {
    frames = readCaptureFile(bytes, path);
  } catch (e) {
    if (e instanceof PcapFormatError) throw new CaptureError('bad-file', `${path} (point ${point.name}) is not a capture file we can read: ${e.message}`, 'give a pcap or pcapng file (tcpdump -w, tshark -w)');
    throw e;
  }
  return new FileSource(point, frames);
}

class FileSource implements CaptureSource {
  private stopped = false;

  constructor(
    readonly point: CapturePoint,
    private readonly all: RawFrame[],
  ) {}

  async *frames(): AsyncIterable<RawFrame> {
    for (const f of this.all) {
      if (this.stopped) return;
      yield f;
    }
  }

  stats(): PointStats {
    return { received: this.all.length, dropped: undefined };
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
