import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PcapFormatError, PcapStreamReader, pcapFileHeader, pcapRecord, readCaptureFile } from '../../src/capture/pcap.js';
import { LINKTYPE, type RawFrame } from '../../src/capture/types.js';
import { PCAPS } from './scenarios.js';

const bytesOf = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(PCAPS, rel)));
const read = (rel: string): RawFrame[] => readCaptureFile(bytesOf(rel), rel);

/** tcpdump's own reading: one epoch timestamp (µs) per packet. */
function tcpdumpTimes(rel: string, precision: 'micro' | 'nano' = 'micro'): number[] {
  const out = execFileSync('tcpdump', ['-tt', '-n', `--time-stamp-precision=${precision}`, '-r', join(PCAPS, rel)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => /^\d+\.\d+ /.test(l))
    .map((l) => {
      const [sec, frac] = l.split(' ')[0]!.split('.');
      return precision === 'nano' ? Number(sec) * 1_000_000 + Math.round(Number(frac) / 1000) : Number(sec) * 1_000_000 + Number(frac);
    });
}

describe('classic pcap as tcpdump wrote it in the lab', () => {
  test.each(['healthy-nat/dir1-eth1.pcap', 'healthy-tun/rs1-tunl0.pcap', 'vrrp-split-brain/dir2-eth0.pcap', 'link-types/sll.pcap', 'link-types/sll2.pcap'])('%s: same packets and timestamps as tcpdump -r', (rel) => {
    const frames = read(rel);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.map((f) => f.timeUs)).toEqual(tcpdumpTimes(rel));
  });

  test('link types: Ethernet, raw IP on tunl0, Linux cooked v1 and v2', () => {
    expect(read('healthy-nat/client.pcap')[0]!.linkType).toBe(LINKTYPE.ETHERNET);
    expect(read('healthy-tun/rs1-tunl0.pcap')[0]!.linkType).toBe(LINKTYPE.RAW);
    expect(read('link-types/sll.pcap')[0]!.linkType).toBe(LINKTYPE.LINUX_SLL);
    expect(read('link-types/sll2.pcap')[0]!.linkType).toBe(LINKTYPE.LINUX_SLL2);
  });

  test('nanosecond file (tcpdump --time-stamp-precision=nano): rounded to microseconds', () => {
    const frames = read('link-types/nano.pcap');
    expect(frames).toHaveLength(3);
    expect(frames.map((f) => f.timeUs)).toEqual(tcpdumpTimes('link-types/nano.pcap', 'nano'));
  });

  test('snap length 256: captured bytes cut, the wire length kept', () => {
    const big = read('healthy-nat/client.pcap').filter((f) => f.origLen > 256);
    for (const f of read('healthy-nat/dir1-eth1.pcap')) expect(f.data.byteLength).toBe(Math.min(256, f.origLen));
    expect(big.every((f) => f.data.byteLength === 256)).toBe(true);
  });

  test('big-endian files read the same (header and records byte-swapped)', () => {
    const le = bytesOf('healthy-dr/client.pcap');
    const be = Uint8Array.from(le);
    const v = new DataView(be.buffer);
    const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
    v.setUint32(0, src.getUint32(0, true), false);
    v.setUint16(4, src.getUint16(4, true), false);
    v.setUint16(6, src.getUint16(6, true), false);
    for (const o of [8, 12, 16, 20]) v.setUint32(o, src.getUint32(o, true), false);
    let at = 24;
    while (at < be.byteLength) {
      for (const o of [0, 4, 8, 12]) v.setUint32(at + o, src.getUint32(at + o, true), false);
      at += 16 + src.getUint32(at + 8, true);
    }
    expect(readCaptureFile(be, 'be.pcap')).toEqual(readCaptureFile(le, 'le.pcap'));
  });

  test('writer: header + records of the frames read give back the very bytes tcpdump wrote', () => {
    for (const rel of ['healthy-nat/rs1.pcap', 'healthy-tun/rs2-tunl0.pcap']) {
      const original = bytesOf(rel);
      const frames = read(rel);
      const parts = [pcapFileHeader(frames[0]!.linkType, 256), ...frames.map(pcapRecord)];
      expect(Buffer.concat(parts)).toEqual(Buffer.from(original));
    }
  });
});

describe('pcapng (editcap -F pcapng of a lab capture)', () => {
  test('same frames as the classic file it was converted from', () => {
    expect(read('link-types/rs1-tun.pcapng')).toEqual(read('healthy-tun/rs1.pcap'));
  });

  test('a cut block is an error naming the file and the offset', () => {
    const b = bytesOf('link-types/rs1-tun.pcapng');
    const cut = b.subarray(0, b.byteLength - 10);
    expect(() => readCaptureFile(cut, 'cut.pcapng')).toThrow(/cut\.pcapng: pcapng block of type 6 claims \d+ bytes, only \d+ are left: the file is cut short \(at byte \d+\)/);
  });
});

describe('stream reader (tcpdump -U -w - arriving in pieces)', () => {
  test('any chunking gives the same frames as the whole file', () => {
    const whole = bytesOf('healthy-tun/dir1-eth0.pcap');
    const expected = readCaptureFile(whole, 'x');
    for (const size of [1, 7, 16, 24, 100, 4096]) {
      const r = new PcapStreamReader();
      const got: RawFrame[] = [];
      for (let i = 0; i < whole.byteLength; i += size) got.push(...r.push(whole.subarray(i, i + size)));
      r.end();
      expect(got).toEqual(expected);
      expect(r.linkType).toBe(LINKTYPE.ETHERNET);
      expect(r.snaplen).toBe(256);
    }
  });

  test('nothing known before the header is complete', () => {
    const r = new PcapStreamReader();
    expect(r.push(bytesOf('healthy-nat/rs1.pcap').subarray(0, 10))).toEqual([]);
    expect(r.linkType).toBeUndefined();
  });
});

describe('malformed input: clear errors with the byte offset', () => {
  const good = bytesOf('healthy-nat/client.pcap');

  test('bad magic', () => {
    const bad = Uint8Array.from(good);
    bad.set([0x7f, 0x45, 0x4c, 0x46], 0);
    let err: unknown;
    try {
      readCaptureFile(bad, 'elf.bin');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PcapFormatError);
    expect((err as PcapFormatError).offset).toBe(0);
    expect((err as Error).message).toBe('elf.bin: not a pcap capture: magic number 0x7f454c46, expected a1b2c3d4 or a1b23c4d (either byte order) or a pcapng section header (at byte 0)');
  });

  test('the UTF-8 mangling of a pcap (a text pipe) is caught at the magic', () => {
    const mangled = Buffer.from(Buffer.from(good).toString('utf8'), 'utf8');
    expect(() => readCaptureFile(mangled, 'mangled.pcap')).toThrow(/magic number 0xefbfbdc3/);
  });

  test('truncated file header', () => {
    expect(() => readCaptureFile(good.subarray(0, 10), 'short.pcap')).toThrow('short.pcap: the pcap file header needs 24 bytes, only 10 are there (at byte 0)');
  });

  test('truncated last record: the file and the record start are named', () => {
    const frames = readCaptureFile(good, 'x');
    const lastStart = good.byteLength - 16 - frames[frames.length - 1]!.data.byteLength;
    let err: PcapFormatError | undefined;
    try {
      readCaptureFile(good.subarray(0, good.byteLength - 5), 'cut.pcap');
    } catch (e) {
      err = e as PcapFormatError;
    }
    expect(err?.offset).toBe(lastStart);
    expect(err?.message).toMatch(/^cut\.pcap: the file ended in the middle of a record \(\d+ bytes of it are there\)/);
  });

  test('stream end() inside the header or a record', () => {
    const r = new PcapStreamReader('dir1:eth0');
    r.push(good.subarray(0, 30));
    expect(() => r.end()).toThrow('dir1:eth0: the stream ended in the middle of a record (6 bytes of it arrived) (at byte 24)');
    const h = new PcapStreamReader();
    h.push(good.subarray(0, 5));
    expect(() => h.end()).toThrow(/inside the pcap file header/);
  });

  test('a record longer than any snap length is corruption, not a big packet', () => {
    const bad = Uint8Array.from(good);
    new DataView(bad.buffer).setUint32(24 + 8, 0x7fffffff, true);
    expect(() => readCaptureFile(bad, 'big.pcap')).toThrow('big.pcap: record claims 2147483647 captured bytes, more than the snap length 256: the file is corrupt (at byte 24)');
  });

  test('a pcapng stream is refused by the classic stream reader with a hint', () => {
    expect(() => new PcapStreamReader().push(bytesOf('link-types/rs1-tun.pcapng'))).toThrow(/read the whole file with readCaptureFile/);
  });
});
