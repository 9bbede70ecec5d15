/**
 * The remote source through real Hosts: tcpdump runs "over there" (a
 * throw-away network namespace, reached with `ip netns exec`), its pcap
 * stream is decoded here; its closing counters become the point's stats; the
 * failures issue 5 names come out as CaptureErrors that say what to do.
 */
import { describe, expect, it } from 'vitest';
import { decode } from '../../../src/capture/decode.js';
import { CaptureError } from '../../../src/capture/sources/errors.js';
import { openRemote, parseTcpdumpStats, tcpdumpArgv } from '../../../src/capture/sources/remote.js';
import type { RawFrame } from '../../../src/capture/types.js';
import { PrefixHost } from '../../../src/host/prefix.js';
import { hostFor } from '../../../src/host/targets.js';
import { LocalHost } from '../../../src/host/local.js';
import { runIn, withNetns } from '../../helpers/netns.js';

/** Three UDP datagrams to 10.77.0.9:9, one at a time. */
const SEND_THREE = `const s = require('node:dgram').createSocket('udp4');
let n = 0;
const next = () => (n++ < 3 ? s.send('x', 9, '10.77.0.9', () => setTimeout(next, 50)) : s.close());
next();`;

const point = (iface: string) => ({ name: `far:${iface}`, host: 'far', iface });

async function expectCaptureError(p: Promise<unknown>): Promise<CaptureError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CaptureError) return e;
    throw e;
  }
  throw new Error('expected a CaptureError');
}

describe('parseTcpdumpStats', () => {
  it('reads the counters tcpdump 4.99 prints when it ends (real stderr)', () => {
    const stderr = 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 256 bytes\n12 packets captured\n14 packets received by filter\n2 packets dropped by kernel\n';
    expect(parseTcpdumpStats(stderr)).toEqual({ captured: 12, receivedByFilter: 14, droppedByKernel: 2 });
    expect(parseTcpdumpStats('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n3 packets dropped by interface\n')).toEqual({
      captured: 1,
      receivedByFilter: 1,
      droppedByKernel: 0,
      droppedByInterface: 3,
    });
    expect(parseTcpdumpStats('tcpdump: eth7: No such device exists\n')).toEqual({});
  });

  it('runs tcpdump unbuffered and in immediate mode, numeric, 256-byte snaps, pcap on stdout, the filter as one argument', () => {
    expect(tcpdumpArgv('eth0', 'host 10.0.0.100 or icmp')).toEqual(['tcpdump', '-U', '--immediate-mode', '-n', '-s', '256', '-w', '-', '-i', 'eth0', 'host 10.0.0.100 or icmp']);
  });
});

describe('openRemote through ip netns exec', () => {
  it('decodes the frames tcpdump captured there, and its counters after stop', async () => {
    await withNetns(['eth0'], async (ns) => {
      runIn(ns, ['ip', 'link', 'set', 'p0', 'up']);
      runIn(ns, ['ip', 'addr', 'add', '10.77.0.1/24', 'dev', 'eth0']);
      runIn(ns, ['ip', 'neigh', 'add', '10.77.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'eth0']);
      const src = await openRemote(point('eth0'), hostFor(`netns:${ns}`), { filter: 'udp port 9' });
      const frames: RawFrame[] = [];
      const pump = (async () => {
        for await (const f of src.frames()) frames.push(f);
      })();
      // Three datagrams leave eth0 toward a neighbour that never answers.
      const sent = runIn(ns, [process.execPath, '-e', SEND_THREE]);
      expect(sent.exitCode, sent.stderr).toBe(0);
      await src.stop();
      await pump;
      expect(frames).toHaveLength(3);
      expect(frames.map((f) => decode(f).ip?.dst)).toEqual(['10.77.0.9', '10.77.0.9', '10.77.0.9']);
      expect(frames[0]!.linkType).toBe(1);
      expect(src.stats()).toEqual({ received: 3, dropped: 0 });
    });
  });

  it('an interface that does not exist there: no-such-interface, naming it and the host', async () => {
    await withNetns(['eth0'], async (ns) => {
      const e = await expectCaptureError(openRemote(point('eth7'), hostFor(`netns:${ns}`), { filter: '' }));
      expect(e.kind).toBe('no-such-interface');
      expect(e.message).toContain(`no interface eth7 on netns:${ns}`);
    });
  });

  it('an interface that is down there (a TUN real server\'s tunl0 without ipip): interface-down, with the command that brings it up', async () => {
    await withNetns(['eth0'], async (ns) => {
      runIn(ns, ['ip', 'link', 'set', 'eth0', 'down']);
      const e = await expectCaptureError(openRemote(point('eth0'), hostFor(`netns:${ns}`), { filter: '' }));
      expect(e.kind, `${e.message}\n${e.detail}`).toBe('interface-down');
      expect(e.message).toBe(`eth0 is down on netns:${ns} (point far:eth0)`);
      expect(e.hint).toBe('bring it up there: ip link set eth0 up');
    });
  });

  it('tcpdump missing (exit 127): "install tcpdump on HOST"', async () => {
    const host = new PrefixHost({ prefix: ['env', 'PATH=/nonexistent'], name: 'bare-host', on: new LocalHost() });
    const e = await expectCaptureError(openRemote(point('eth0'), host, { filter: '' }));
    expect(e.kind).toBe('missing-tool');
    expect(e.message).toBe('tcpdump is not installed on bare-host (point far:eth0)');
    expect(e.hint).toContain('install tcpdump on bare-host');
  });

  it('without root there: permission, saying CAP_NET_RAW', async () => {
    await withNetns(['eth0'], async (ns) => {
      const host = new PrefixHost({ prefix: ['ip', 'netns', 'exec', ns, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], name: 'nobody', on: new LocalHost() });
      const e = await expectCaptureError(openRemote(point('eth0'), host, { filter: '' }));
      expect(e.kind, `${e.message}\n${e.detail}`).toBe('permission');
      expect(e.message).toContain('needs root or CAP_NET_RAW');
    });
  });
});
