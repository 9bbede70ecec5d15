/**
 * The live source (cap/libpcap) on a real interface: it must run inside the
 * namespace that owns the interface, so a small probe process is started
 * with `ip netns exec` and imports the built module (npm run build first).
 * It captures what leaves the interface, through the kernel BPF filter, and
 * says CAP_NET_RAW when run without it.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CaptureError } from '../../../src/capture/sources/errors.js';
import { linkTypeOf, openLive } from '../../../src/capture/sources/live.js';
import { ROOT } from '../../helpers/fixtures.js';
import { runIn, withNetns } from '../../helpers/netns.js';

const LIVE_JS = join(ROOT, 'dist', 'capture', 'sources', 'live.js');
const DECODE_JS = join(ROOT, 'dist', 'capture', 'decode.js');

/** Capture with `filter` on eth0 while 5 datagrams go to port 9 and 2 to port 7; print what was seen. */
const PROBE = `
import { openLive } from ${JSON.stringify(LIVE_JS)};
import { decode } from ${JSON.stringify(DECODE_JS)};
import dgram from 'node:dgram';
try {
  const src = await openLive({ name: 'n:eth0', host: 'local', iface: 'eth0' }, { filter: process.argv[1] });
  const seen = [];
  const pump = (async () => { for await (const f of src.frames()) seen.push({ linkType: f.linkType, port: decode(f).l4?.dstPort, t: f.timeUs }); })();
  const s = dgram.createSocket('udp4');
  for (const port of [9, 9, 7, 9, 7, 9, 9]) await new Promise((r) => s.send('x', port, '10.78.0.9', r));
  s.close();
  await new Promise((r) => setTimeout(r, 300));
  await src.stop();
  await pump;
  console.log(JSON.stringify({ seen, stats: src.stats() }));
} catch (e) {
  console.log(JSON.stringify({ error: { kind: e.kind, message: e.message, hint: e.hint } }));
}
`;

function probe(ns: string, filter: string, prefix: string[] = []): { seen?: Array<{ linkType: number; port: number; t: number }>; stats?: unknown; error?: { kind: string; message: string; hint: string } } {
  const r = runIn(ns, [...prefix, process.execPath, '--input-type=module', '-e', PROBE, filter]);
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } catch {
    throw new Error(`probe printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  }
}

function prepare(ns: string): void {
  runIn(ns, ['ip', 'link', 'set', 'p0', 'up']);
  runIn(ns, ['ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'eth0']);
  runIn(ns, ['ip', 'neigh', 'add', '10.78.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'eth0']);
}

describe('openLive', () => {
  it('captures what leaves the interface, filtered in the kernel, stamped in order', async () => {
    await withNetns(['eth0'], async (ns) => {
      prepare(ns);
      const out = probe(ns, 'udp dst port 9');
      expect(out.error).toBeUndefined();
      expect(out.seen!.map((s) => s.port)).toEqual([9, 9, 9, 9, 9]);
      expect(out.seen!.every((s) => s.linkType === 1)).toBe(true);
      const times = out.seen!.map((s) => s.t);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      // Stamped when read: within a minute of now (a zero or seconds-based stamp would fail).
      expect(Math.abs(times[0]! / 1000 - Date.now())).toBeLessThan(60_000);
      expect(out.stats).toEqual({ received: 5, dropped: 0, ifDropped: 0 });
    });
  });

  it('without CAP_NET_RAW: a permission error that says so', async () => {
    await withNetns(['eth0'], async (ns) => {
      prepare(ns);
      const out = probe(ns, '', ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
      expect(out.error?.kind).toBe('permission');
      expect(out.error?.message).toMatch(/^capturing on eth0 needs root or CAP_NET_RAW/);
    });
  });

  it('an interface that does not exist: named, before libpcap is asked', async () => {
    const e = await openLive({ name: 'dir1:nosuch9', host: 'local', iface: 'nosuch9' }, { filter: '' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CaptureError);
    expect((e as CaptureError).kind).toBe('no-such-interface');
    expect((e as CaptureError).message).toBe('no interface nosuch9 on this machine (point dir1:nosuch9)');
  });

  it("maps cap's link-type names to pcap numbers", () => {
    expect(linkTypeOf('ETHERNET')).toBe(1);
    expect(linkTypeOf('LINKTYPE_LINUX_SLL')).toBe(113);
    expect(linkTypeOf('RAW')).toBe(101);
    expect(linkTypeOf('Unknown linktype 276')).toBe(276);
    expect(linkTypeOf('bogus')).toBeUndefined();
  });
});
