/**
 * `-w DIR` and `-r POINT=FILE`: the pcaps we write are read back by the real
 * tshark with the same packet count, and by our file source frame for frame.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/pcap.js';
import { CaptureError } from '../../src/capture/sources/errors.js';
import { openFile, parseReadSpec } from '../../src/capture/sources/file.js';
import type { RawFrame } from '../../src/capture/types.js';
import { PcapDirWriter, pcapFileName } from '../../src/capture/writer.js';
import { ROOT } from '../helpers/fixtures.js';
import { run } from '../helpers/netns.js';

const RECORDED = join(ROOT, 'fixtures', 'pcaps', 'healthy-dr');

function tsharkCount(path: string): number {
  const r = run(['tshark', '-r', path, '-T', 'fields', '-e', 'frame.number']);
  if (r.exitCode !== 0) throw new Error(`tshark -r ${path} exited ${r.exitCode}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).length;
}

describe('PcapDirWriter', () => {
  it('writes one classic pcap per point that tshark reads with the same packet count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-trace-w-'));
    try {
      const w = new PcapDirWriter(join(dir, 'out'));
      const points = { 'client:eth0': 'client.pcap', 'rs1:eth0': 'rs1.pcap' };
      const want: Record<string, RawFrame[]> = {};
      for (const [point, file] of Object.entries(points)) {
        const src = await openFile({ name: point, host: 'file', iface: 'eth0' }, join(RECORDED, file));
        want[point] = [];
        for await (const f of src.frames()) {
          w.write(point, f);
          want[point].push(f);
        }
      }
      w.touch('rs2:tunl0', 101);
      const written = w.close();
      expect(readdirSync(join(dir, 'out')).sort()).toEqual(['client_eth0.pcap', 'rs1_eth0.pcap', 'rs2_tunl0.pcap']);
      for (const { point, path, frames } of written) {
        const n = want[point]?.length ?? 0;
        expect(frames).toBe(n);
        expect(tsharkCount(path), path).toBe(n);
      }
      expect(want['client:eth0']!.length).toBeGreaterThan(10);
      // Our reader gets back the very frames (time, link type, bytes).
      const again = readCaptureFile(new Uint8Array(readFileSync(join(dir, 'out', 'rs1_eth0.pcap'))), 'rs1');
      const plain = (fs: RawFrame[]) => fs.map((f) => ({ timeUs: f.timeUs, linkType: f.linkType, origLen: f.origLen, data: Buffer.from(f.data).toString('hex') }));
      expect(plain(again)).toEqual(plain(want['rs1:eth0']!));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names files after their points, safely', () => {
    expect(pcapFileName('dir1:eth0')).toBe('dir1_eth0.pcap');
    expect(pcapFileName('../x/y')).toBe('.._x_y.pcap');
  });
});

describe('file source', () => {
  it('-r takes POINT=FILE and nothing else', () => {
    expect(parseReadSpec('dir1:eth0=/tmp/a=b.pcap')).toEqual({ name: 'dir1:eth0', path: '/tmp/a=b.pcap' });
    expect(() => parseReadSpec('capture.pcap')).toThrow(/expected POINT=FILE/);
  });

  it('a missing file or one that is not a capture: bad-file, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-trace-r-'));
    try {
      const junk = join(dir, 'junk.pcap');
      writeFileSync(junk, 'hello, this is text\n');
      const missing = await openFile({ name: 'p', host: 'file', iface: 'eth0' }, join(dir, 'none.pcap')).catch((e: unknown) => e);
      expect((missing as CaptureError).kind).toBe('bad-file');
      expect((missing as CaptureError).message).toContain('none.pcap (point p): no such file');
      const bad = await openFile({ name: 'p', host: 'file', iface: 'eth0' }, junk).catch((e: unknown) => e);
      expect((bad as CaptureError).kind).toBe('bad-file');
      expect((bad as CaptureError).message).toContain('is not a capture file we can read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports the file frame count as received and drops as unknown', async () => {
    const src = await openFile({ name: 'p', host: 'file', iface: 'eth0' }, join(RECORDED, 'rs2.pcap'));
    let n = 0;
    for await (const _ of src.frames()) n++;
    expect(src.stats()).toEqual({ received: n, dropped: undefined });
    expect(n).toBe(tsharkCount(join(RECORDED, 'rs2.pcap')));
  });
});
