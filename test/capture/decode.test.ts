import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { decode, type Packet } from '../../src/capture/decode.js';
import { LINKTYPE } from '../../src/capture/types.js';
import { ether, frame, ipv4, tcp, udp } from './build.js';
import { PCAPS, frames } from './scenarios.js';

/** Flag letters in tcpdump's order (print-tcp.c prints FIN, SYN, RST, PUSH, then "." for ACK). */
function tcpFlags(p: Packet): string {
  if (p.l4?.kind !== 'tcp') return '';
  const f = p.l4.flags;
  return `${f.fin ? 'F' : ''}${f.syn ? 'S' : ''}${f.rst ? 'R' : ''}${f.psh ? 'P' : ''}${f.ack ? '.' : ''}${f.urg ? 'U' : ''}`;
}

/** What tcpdump -n prints for the packet, for the kinds we can say it of; undefined for the rest. */
function tcpdumpText(p: Packet): string | undefined {
  const ip = p.inner ?? p.ip;
  const l4 = p.l4;
  // tcpdump shows the target MAC of a request only when it is not all zeros (gratuitous ARP sends ff:ff...).
  if (p.arp) return p.arp.op === 2 ? `Reply ${p.arp.senderIp} is-at ${p.arp.senderMac}` : `Request who-has ${p.arp.targetIp}${p.arp.targetMac === '00:00:00:00:00:00' ? '' : ` (${p.arp.targetMac})`} tell ${p.arp.senderIp}`;
  if (!ip || !l4) return undefined;
  switch (l4.kind) {
    case 'tcp':
      return `${ip.src}.${l4.srcPort} > ${ip.dst}.${l4.dstPort}: Flags [${tcpFlags(p)}]`;
    case 'udp':
      return `${ip.src}.${l4.srcPort} > ${ip.dst}.${l4.dstPort}: UDP, length ${l4.payloadLength}`;
    case 'vrrp':
      return `${ip.src} > ${ip.dst}: VRRPv${l4.version}, Advertisement, vrid ${l4.vrid}, prio ${l4.priority}, intvl ${l4.intervalCs}cs`;
    case 'icmp':
      if (l4.type === 3 && l4.code === 2) return `ICMP ${ip.src} protocol ${l4.original?.ip.proto} unreachable`;
      if (l4.type === 3 && l4.code === 3) return `ICMP ${l4.original?.ip.dst} ${l4.original?.ip.proto === 6 ? 'tcp' : 'udp'} port ${l4.original?.dstPort} unreachable`;
      return undefined;
  }
}

const recordings = readdirSync(PCAPS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pcap')).sort();

describe('every lab recording decodes as tcpdump reads it', () => {
  test.each(recordings)('%s', (rel) => {
    const [scenario, file] = rel.split('/') as [string, string];
    const packets = frames(scenario, file.replace(/\.pcap$/, '')).map(decode);
    const lines = execFileSync('tcpdump', ['-tt', '-n', '-r', join(PCAPS, rel)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => /^\d+\.\d+ /.test(l));
    expect(packets).toHaveLength(lines.length);
    let compared = 0;
    packets.forEach((p, i) => {
      expect(p.error, `packet ${i + 1}: ${lines[i]}`).toBeUndefined();
      const text = tcpdumpText(p);
      if (text === undefined) return;
      expect(lines[i], `packet ${i + 1}`).toContain(text);
      compared++;
    });
    expect(compared).toBeGreaterThan(0);
  });
});

describe('the layers a verdict needs, from the lab', () => {
  test('TUN: IPIP director → RIP around client → VIP, and the raw inner packet on tunl0', () => {
    const outer = frames('healthy-tun', 'rs1').map(decode).find((p) => p.ip?.proto === 4)!;
    expect(outer.ip).toMatchObject({ src: '10.0.0.1', dst: '10.0.0.11', proto: 4 });
    expect(outer.inner).toMatchObject({ src: '10.0.0.254', dst: '10.0.0.100', proto: 6 });
    expect(outer.l4).toMatchObject({ kind: 'tcp', dstPort: 80, flags: { syn: true, ack: false } });
    const onTunl0 = decode(frames('healthy-tun', 'rs1-tunl0')[0]!);
    expect(onTunl0.eth).toBeUndefined();
    expect(onTunl0.ip).toMatchObject({ src: '10.0.0.254', dst: '10.0.0.100' });
  });

  test('ICMP protocol 4 unreachable quotes the IPIP request: the client and VIP are inside', () => {
    const icmp = frames('tun-rs-without-ipip', 'rs1').map(decode).find((p) => p.l4?.kind === 'icmp')!;
    expect(icmp.ip).toMatchObject({ src: '10.0.0.11', dst: '10.0.0.1' });
    expect(icmp.l4).toMatchObject({
      kind: 'icmp',
      type: 3,
      code: 2,
      original: { ip: { src: '10.0.0.1', dst: '10.0.0.11', proto: 4 }, inner: { src: '10.0.0.254', dst: '10.0.0.100', proto: 6 }, dstPort: 80 },
    });
  });

  test('IPVS without a real server: port unreachable from the VIP quoting the SYN', () => {
    const icmp = frames('nat-all-quiesced', 'client').map(decode).find((p) => p.l4?.kind === 'icmp')!;
    expect(icmp.l4).toMatchObject({ type: 3, code: 3, original: { ip: { src: '10.0.0.254', dst: '10.0.0.100', proto: 6 }, dstPort: 80 } });
  });

  test('VRRPv3 adverts of both directors of the split brain', () => {
    const adverts = frames('vrrp-split-brain', 'dir1-eth0').map(decode).filter((p) => p.l4?.kind === 'vrrp');
    const bySource = new Map(adverts.map((p) => [p.ip!.src, p.l4]));
    expect(bySource.get('10.0.0.1')).toEqual({ kind: 'vrrp', version: 3, type: 1, vrid: 51, priority: 150, intervalCs: 10, addresses: ['10.0.0.100'] });
    expect(bySource.get('10.0.0.2')).toMatchObject({ vrid: 51, priority: 100 });
  });

  test('ARP replies for the VIP from two MACs', () => {
    const replies = frames('dr-arp-leak', 'client').map(decode).filter((p) => p.arp?.op === 2 && p.arp.senderIp === '10.0.0.100');
    expect(new Set(replies.map((p) => p.arp!.senderMac)).size).toBe(2);
  });

  test('Linux cooked v1 and v2: kernel packet type, interface index, UDP inside', () => {
    const v1 = decode(frames('link-types', 'sll')[0]!);
    expect(v1.cooked).toMatchObject({ version: 1, hardwareType: 772 });
    expect(v1.l4).toEqual({ kind: 'udp', srcPort: v1.l4?.kind === 'udp' ? v1.l4.srcPort : 0, dstPort: 9999, payloadLength: 7 });
    const v2 = decode(frames('link-types', 'sll2')[0]!);
    expect(v2.cooked).toMatchObject({ version: 2, hardwareType: 772, ifindex: 1 });
    expect(v2.ip).toMatchObject({ src: '127.0.0.1', dst: '127.0.0.1', proto: 17 });
  });
});

describe('synthetic frames: what the lab does not produce', () => {
  const syn = tcp(40000, 80, { syn: true });
  test('802.1Q and QinQ tags, outermost first', () => {
    const p = decode(frame(ether('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.254', '10.0.0.100', 6, syn), [{ tpid: 0x88a8, id: 100 }, { tpid: 0x8100, id: 200 }]), 1));
    expect(p.eth?.vlans).toEqual([100, 200]);
    expect(p.l4).toMatchObject({ kind: 'tcp', srcPort: 40000, dstPort: 80 });
  });

  test('IP options shift the transport header', () => {
    const p = decode(frame(ipv4('10.0.0.254', '10.0.0.100', 17, udp(5353, 53, [1, 2, 3]), { options: [0x94, 0x04, 0, 0] }), 1, LINKTYPE.RAW));
    expect(p.ip?.headerLength).toBe(24);
    expect(p.l4).toEqual({ kind: 'udp', srcPort: 5353, dstPort: 53, payloadLength: 3 });
  });

  test('fragments: only the first carries ports', () => {
    const first = decode(frame(ipv4('10.0.0.254', '10.0.0.100', 17, udp(1, 2, [9, 9, 9, 9]), { more: true }), 1, LINKTYPE.RAW));
    expect(first.l4).toMatchObject({ kind: 'udp', srcPort: 1, dstPort: 2 });
    const later = decode(frame(ipv4('10.0.0.254', '10.0.0.100', 17, [0, 1, 0, 2, 0, 0, 0, 0], { fragOffset: 1480 }), 1, LINKTYPE.RAW));
    expect(later.ip).toMatchObject({ fragmentOffset: 1480, moreFragments: false });
    expect(later.l4).toBeUndefined();
    expect(later.error).toBeUndefined();
  });

  test('VRRPv2: interval in seconds becomes centiseconds', () => {
    const vrrp = [0x21, 51, 100, 1, 0, 1, 0, 0, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0];
    const p = decode(frame(ipv4('10.0.0.2', '224.0.0.18', 112, vrrp), 1, LINKTYPE.RAW));
    expect(p.l4).toEqual({ kind: 'vrrp', version: 2, type: 1, vrid: 51, priority: 100, intervalCs: 100, addresses: ['10.0.0.100'] });
  });
});

describe('malformed frames never throw: the error says what and where, earlier layers stay', () => {
  const good = ether('02:00:00:00:00:01', '02:00:00:00:00:02', 0x0800, ipv4('10.0.0.254', '10.0.0.100', 6, tcp(40000, 80, { syn: true })));
  test.each([
    ['Ethernet header cut', good.slice(0, 10), { what: 'Ethernet header needs 14 bytes, only 10 were captured', offset: 0 }, false],
    ['IPv4 header cut', good.slice(0, 24), { what: 'IPv4 header needs 20 bytes, only 10 were captured', offset: 14 }, true],
    ['TCP header cut', good.slice(0, 44), { what: 'TCP header needs 20 bytes, only 10 were captured', offset: 34 }, true],
    ['IPv4 header length below 20', [...good.slice(0, 14), 0x42, ...good.slice(15)], { what: 'IPv4 header: header length 8 is below the minimum 20', offset: 14 }, true],
    ['not version 4', [...good.slice(0, 14), 0x65, ...good.slice(15)], { what: 'IPv4 header: version 6, expected 4', offset: 14 }, true],
  ] as const)('%s', (_name, bytes, error, hasEth) => {
    const p = decode(frame([...bytes], 1));
    expect(p.error).toEqual(error);
    expect(p.eth !== undefined).toBe(hasEth);
  });

  test('unknown link type', () => {
    expect(decode({ timeUs: 0, linkType: 9999, data: new Uint8Array(4), origLen: 4 }).error?.what).toMatch(/link type 9999 is not decoded/);
  });

  test('VRRP address count larger than the packet', () => {
    const p = decode(frame(ipv4('10.0.0.2', '224.0.0.18', 112, [0x31, 51, 100, 9, 0, 100, 0, 0, 10, 0, 0, 100]), 1, LINKTYPE.RAW));
    expect(p.error).toEqual({ what: 'VRRP address list (9 addresses) needs 36 bytes, only 4 were captured', offset: 28 });
    expect(p.ip?.proto).toBe(112);
  });

  test('random bytes on every link type: no throw, ever', () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let i = 0; i < 3000; i++) {
      const len = rnd() % 80;
      const data = Uint8Array.from({ length: len }, rnd);
      // Make half of them look like IPv4 so the deeper decoders get exercised.
      if (len > 0 && i % 2 === 0) data[0] = 0x45;
      for (const linkType of [1, 101, 113, 276]) expect(() => decode({ timeUs: i, linkType, data, origLen: len })).not.toThrow();
    }
  });
});
