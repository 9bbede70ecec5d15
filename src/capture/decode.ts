/**
 * Frame decoding, pure and our own (issue 5: cap's decoders get ICMP wrong).
 * Every read is bounds-checked against the captured bytes: a frame cut by the
 * snap length or malformed on the wire becomes `Packet.error` with the offset,
 * and the layers before it stay filled, so a verdict can still use them.
 */
import type {
  ArpLayer,
  CookedLayer,
  IcmpLayer,
  IcmpOriginal,
  Ipv4Layer,
  L4Layer,
  Packet,
  TcpLayer,
  UdpLayer,
  VrrpLayer,
} from './packet.js';
import { LINKTYPE, type RawFrame } from './types.js';

export type { Packet } from './packet.js';

/** LINKTYPE_IPV4 (228): raw IPv4 without a version check, written by some tools for tunnels. */
const LINKTYPE_IPV4 = 228;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
/** 802.1Q, 802.1ad (QinQ outer) and the pre-standard 0x9100 QinQ tag. */
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);

const PROTO_ICMP = 1;
const PROTO_IPIP = 4;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_VRRP = 112;

/** ICMP types whose body quotes the offending datagram (RFC 792). */
const ICMP_QUOTING = new Set([3, 4, 5, 11, 12]);

/** Thrown inside this module only: the layer at `offset` is short or malformed. */
class Malformed {
  constructor(
    readonly what: string,
    readonly offset: number,
  ) {}
}

function need(data: Uint8Array, offset: number, length: number, layer: string): void {
  if (offset + length > data.byteLength) {
    throw new Malformed(`${layer} needs ${length} bytes, only ${Math.max(0, data.byteLength - offset)} were captured`, offset);
  }
}

const u16 = (d: Uint8Array, o: number): number => (d[o]! << 8) | d[o + 1]!;
const u32 = (d: Uint8Array, o: number): number => ((d[o]! << 24) >>> 0) + (d[o + 1]! << 16) + (d[o + 2]! << 8) + d[o + 3]!;
const ipv4 = (d: Uint8Array, o: number): string => `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
const mac = (d: Uint8Array, o: number, n = 6): string =>
  Array.from(d.subarray(o, o + n), (b) => b.toString(16).padStart(2, '0')).join(':');

/**
 * Decode one captured frame. Never throws: a layer that is cut short or
 * malformed is reported in `error` (what, at which byte of the frame).
 */
export function decode(frame: RawFrame): Packet {
  const pkt: Packet = { timeUs: frame.timeUs, origLen: frame.origLen };
  try {
    decodeLink(frame, pkt);
  } catch (e) {
    if (e instanceof Malformed) pkt.error = { what: e.what, offset: e.offset };
    else pkt.error = { what: `decoder fault: ${e instanceof Error ? e.message : String(e)}`, offset: 0 };
  }
  return pkt;
}

function decodeLink(frame: RawFrame, pkt: Packet): void {
  const d = frame.data;
  switch (frame.linkType) {
    case LINKTYPE.ETHERNET: {
      need(d, 0, 14, 'Ethernet header');
      pkt.eth = { dst: mac(d, 0), src: mac(d, 6), vlans: [] };
      let type = u16(d, 12);
      let at = 14;
      while (VLAN_TAGS.has(type)) {
        need(d, at, 4, '802.1Q tag');
        pkt.eth.vlans.push(u16(d, at) & 0x0fff);
        type = u16(d, at + 2);
        at += 4;
      }
      decodeNetwork(d, at, type, pkt);
      return;
    }
    case LINKTYPE.LINUX_SLL: {
      // packet(7) / pcap-linktype: pkttype, ARPHRD type, address length, 8 address bytes, protocol.
      need(d, 0, 16, 'Linux cooked (SLL) header');
      const addrLen = Math.min(u16(d, 4), 8);
      pkt.cooked = { version: 1, packetType: u16(d, 0), hardwareType: u16(d, 2), address: addrLen > 0 ? mac(d, 6, addrLen) : undefined };
      decodeNetwork(d, 16, u16(d, 14), pkt);
      return;
    }
    case LINKTYPE.LINUX_SLL2: {
      need(d, 0, 20, 'Linux cooked v2 (SLL2) header');
      const addrLen = Math.min(d[11]!, 8);
      const cooked: CookedLayer = {
        version: 2,
        packetType: d[10]!,
        hardwareType: u16(d, 8),
        address: addrLen > 0 ? mac(d, 12, addrLen) : undefined,
        ifindex: u32(d, 4),
      };
      pkt.cooked = cooked;
      decodeNetwork(d, 20, u16(d, 0), pkt);
      return;
    }
    case LINKTYPE.RAW:
    case LINKTYPE_IPV4: {
      need(d, 0, 1, 'raw IP header');
      const version = d[0]! >> 4;
      if (version !== 4) throw new Malformed(`raw IP version ${version}: only IPv4 is decoded`, 0);
      decodeNetwork(d, 0, ETHERTYPE_IPV4, pkt);
      return;
    }
    default:
      throw new Malformed(`link type ${frame.linkType} is not decoded (Ethernet 1, raw IP 101, Linux cooked 113 and 276 are)`, 0);
  }
}

function decodeNetwork(d: Uint8Array, at: number, etherType: number, pkt: Packet): void {
  pkt.etherType = etherType;
  if (etherType === ETHERTYPE_ARP) {
    pkt.arp = decodeArp(d, at);
    return;
  }
  if (etherType !== ETHERTYPE_IPV4) return;
  const outer = decodeIpv4(d, at, 'IPv4 header');
  pkt.ip = outer;
  let ip = outer;
  let payload = at + outer.headerLength;
  if (outer.proto === PROTO_IPIP && outer.fragmentOffset === 0) {
    const inner = decodeIpv4(d, payload, 'inner IPv4 header (IPIP)');
    pkt.inner = inner;
    ip = inner;
    payload += inner.headerLength;
  }
  if (ip.fragmentOffset !== 0) return;
  const l4 = decodeTransport(d, payload, ip);
  if (l4) pkt.l4 = l4;
}

function decodeArp(d: Uint8Array, at: number): ArpLayer {
  need(d, at, 8, 'ARP header');
  const hlen = d[at + 4]!;
  const plen = d[at + 5]!;
  if (hlen !== 6 || plen !== 4) throw new Malformed(`ARP with hardware length ${hlen} and protocol length ${plen}: only Ethernet/IPv4 (6/4) is decoded`, at + 4);
  need(d, at, 28, 'ARP Ethernet/IPv4 body');
  return { op: u16(d, at + 6), senderMac: mac(d, at + 8), senderIp: ipv4(d, at + 14), targetMac: mac(d, at + 18), targetIp: ipv4(d, at + 24) };
}

function decodeIpv4(d: Uint8Array, at: number, layer: string): Ipv4Layer {
  need(d, at, 20, layer);
  const version = d[at]! >> 4;
  if (version !== 4) throw new Malformed(`${layer}: version ${version}, expected 4`, at);
  const headerLength = (d[at]! & 0x0f) * 4;
  if (headerLength < 20) throw new Malformed(`${layer}: header length ${headerLength} is below the minimum 20`, at);
  need(d, at, headerLength, `${layer} with options`);
  const totalLength = u16(d, at + 2);
  const frag = u16(d, at + 6);
  return {
    src: ipv4(d, at + 12),
    dst: ipv4(d, at + 16),
    proto: d[at + 9]!,
    ttl: d[at + 8]!,
    id: u16(d, at + 4),
    headerLength,
    totalLength,
    fragmentOffset: (frag & 0x1fff) * 8,
    moreFragments: (frag & 0x2000) !== 0,
    dontFragment: (frag & 0x4000) !== 0,
  };
}

/** Bytes of IP payload per the header; 0 total length happens with TSO on the sending host, then trust the capture. */
function payloadLength(ip: Ipv4Layer, d: Uint8Array, at: number): number {
  if (ip.totalLength === 0) return Math.max(0, d.byteLength - at);
  return Math.max(0, ip.totalLength - ip.headerLength);
}

function decodeTransport(d: Uint8Array, at: number, ip: Ipv4Layer): L4Layer | undefined {
  switch (ip.proto) {
    case PROTO_TCP:
      return decodeTcp(d, at, ip);
    case PROTO_UDP:
      return decodeUdp(d, at, ip);
    case PROTO_ICMP:
      return decodeIcmp(d, at);
    case PROTO_VRRP:
      return decodeVrrp(d, at);
    default:
      return undefined;
  }
}

function decodeTcp(d: Uint8Array, at: number, ip: Ipv4Layer): TcpLayer {
  need(d, at, 20, 'TCP header');
  const dataOffset = (d[at + 12]! >> 4) * 4;
  if (dataOffset < 20) throw new Malformed(`TCP data offset ${dataOffset} is below the minimum 20`, at + 12);
  const f = d[at + 13]!;
  return {
    kind: 'tcp',
    srcPort: u16(d, at),
    dstPort: u16(d, at + 2),
    seq: u32(d, at + 4),
    ack: u32(d, at + 8),
    flags: { fin: (f & 0x01) !== 0, syn: (f & 0x02) !== 0, rst: (f & 0x04) !== 0, psh: (f & 0x08) !== 0, ack: (f & 0x10) !== 0, urg: (f & 0x20) !== 0 },
    payloadLength: Math.max(0, payloadLength(ip, d, at) - dataOffset),
  };
}

function decodeUdp(d: Uint8Array, at: number, ip: Ipv4Layer): UdpLayer {
  need(d, at, 8, 'UDP header');
  const length = u16(d, at + 4);
  if (length !== 0 && length < 8) throw new Malformed(`UDP length ${length} is below the header's 8 bytes`, at + 4);
  return { kind: 'udp', srcPort: u16(d, at), dstPort: u16(d, at + 2), payloadLength: Math.max(0, (length || payloadLength(ip, d, at)) - 8) };
}

function decodeIcmp(d: Uint8Array, at: number): IcmpLayer {
  need(d, at, 8, 'ICMP header');
  const icmp: IcmpLayer = { kind: 'icmp', type: d[at]!, code: d[at + 1]! };
  if (icmp.type === 0 || icmp.type === 8) icmp.echo = { id: u16(d, at + 4), seq: u16(d, at + 6) };
  if (ICMP_QUOTING.has(icmp.type) && d.byteLength > at + 8) icmp.original = decodeQuoted(d, at + 8);
  return icmp;
}

/**
 * The datagram an ICMP error quotes: its IP header, then as much as the
 * sender put in (Linux quotes up to 576 bytes in all, icmp_send()), at least 8.
 * A TUN request quoted by `protocol 4 unreachable` is IPIP: its inner header
 * names the client and the VIP. Decoded as far as the quote goes.
 */
function decodeQuoted(d: Uint8Array, at: number): IcmpOriginal {
  const ip = decodeIpv4(d, at, 'IPv4 header quoted by ICMP');
  const original: IcmpOriginal = { ip };
  let next = at + ip.headerLength;
  let proto = ip.proto;
  if (ip.proto === PROTO_IPIP && ip.fragmentOffset === 0 && d.byteLength >= next + 20) {
    const inner = decodeIpv4(d, next, 'inner IPv4 header quoted by ICMP');
    original.inner = inner;
    next += inner.headerLength;
    proto = inner.proto;
  }
  if ((proto === PROTO_TCP || proto === PROTO_UDP) && d.byteLength >= next + 4 && (original.inner ?? ip).fragmentOffset === 0) {
    original.srcPort = u16(d, next);
    original.dstPort = u16(d, next + 2);
  }
  return original;
}

function decodeVrrp(d: Uint8Array, at: number): VrrpLayer {
  need(d, at, 8, 'VRRP header');
  const version = d[at]! >> 4;
  const count = d[at + 3]!;
  // RFC 3768 §5.3 (v2): auth type, advert interval in seconds. RFC 5798 §5.2 (v3): 12-bit interval in centiseconds.
  let intervalCs: number;
  if (version === 2) intervalCs = d[at + 5]! * 100;
  else if (version === 3) intervalCs = u16(d, at + 4) & 0x0fff;
  else throw new Malformed(`VRRP version ${version}: only 2 and 3 are decoded`, at);
  need(d, at + 8, count * 4, `VRRP address list (${count} addresses)`);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(ipv4(d, at + 8 + i * 4));
  return { kind: 'vrrp', version, type: d[at]! & 0x0f, vrid: d[at + 1]!, priority: d[at + 2]!, intervalCs, addresses };
}

/** The layer types, so callers of decode need one import. */
export type { ArpLayer, IcmpLayer, Ipv4Layer, TcpLayer, UdpLayer, VrrpLayer, L4Layer } from './packet.js';
