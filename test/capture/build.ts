/** Builders of synthetic frames for cases the lab could not produce (byte layouts from RFC 791/793/768, IEEE 802.1Q). */
import { LINKTYPE, type RawFrame } from '../../src/capture/types.js';

const ip4 = (a: string): number[] => a.split('.').map(Number);
const macBytes = (m: string): number[] => m.split(':').map((h) => parseInt(h, 16));
const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

export function ipv4(src: string, dst: string, proto: number, payload: number[], opts: { fragOffset?: number; more?: boolean; options?: number[] } = {}): number[] {
  const options = opts.options ?? [];
  const ihl = 5 + options.length / 4;
  const frag = ((opts.more ? 0x2000 : 0) | ((opts.fragOffset ?? 0) / 8)) & 0xffff;
  return [0x40 | ihl, 0, ...be16(ihl * 4 + payload.length), 0, 1, ...be16(frag), 64, proto, 0, 0, ...ip4(src), ...ip4(dst), ...options, ...payload];
}

export interface TcpFlags { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean; psh?: boolean }

export function tcp(sport: number, dport: number, flags: TcpFlags, seq = 1000, ack = 0, payload: number[] = []): number[] {
  const f = (flags.fin ? 1 : 0) | (flags.syn ? 2 : 0) | (flags.rst ? 4 : 0) | (flags.psh ? 8 : 0) | (flags.ack ? 16 : 0);
  return [...be16(sport), ...be16(dport), ...be32(seq), ...be32(ack), 0x50, f, 0xff, 0xff, 0, 0, 0, 0, ...payload];
}

export function udp(sport: number, dport: number, payload: number[]): number[] {
  return [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
}

export function ether(src: string, dst: string, type: number, payload: number[], vlans: Array<{ tpid: number; id: number }> = []): number[] {
  const tags = vlans.flatMap((v) => [...be16(v.tpid), ...be16(v.id)]);
  return [...macBytes(dst), ...macBytes(src), ...tags, ...be16(type), ...payload];
}

export function frame(bytes: number[], timeUs: number, linkType: number = LINKTYPE.ETHERNET): RawFrame {
  return { timeUs, linkType, data: Uint8Array.from(bytes), origLen: bytes.length };
}
