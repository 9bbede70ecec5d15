/**
 * A decoded frame: what decode() returns and correlate reads. One flat record
 * of the layers that were there, because a capture point sees a handful of
 * shapes (Ethernet/ARP, Ethernet/IPv4/L4, IPv4/IPv4/L4 for IPIP) and the
 * correlator asks the same few questions of all of them.
 */

export interface EthernetLayer {
  /** Lowercase, colon-separated. */
  src: string;
  dst: string;
  /** 802.1Q / 802.1ad tags, outermost first (QinQ gives two). */
  vlans: number[];
}

/** Linux cooked capture (tcpdump -i any): the kernel's view of the frame instead of its link header. */
export interface CookedLayer {
  version: 1 | 2;
  /** sll_pkttype: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us (packet(7)). */
  packetType: number;
  /** ARPHRD_* of the interface (1 Ethernet, 768 IPIP tunnel, 772 loopback). */
  hardwareType: number;
  /** The link-layer source address (colon hex), when the kernel gave one. */
  address: string | undefined;
  /** SLL2 only: the interface index. */
  ifindex?: number;
}

export interface ArpLayer {
  /** 1 request, 2 reply. */
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface Ipv4Layer {
  src: string;
  dst: string;
  /** IP protocol number: 1 ICMP, 4 IPIP, 6 TCP, 17 UDP, 112 VRRP. */
  proto: number;
  ttl: number;
  id: number;
  /** Header length in bytes (20 without options). */
  headerLength: number;
  /** Total length from the header (the bytes captured may be fewer: snap length). */
  totalLength: number;
  /** Fragment offset in bytes; only the fragment at 0 carries the ports. */
  fragmentOffset: number;
  moreFragments: boolean;
  dontFragment: boolean;
}

export interface TcpLayer {
  kind: 'tcp';
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean; psh: boolean; urg: boolean };
  /** Payload length from the IP total length (not from the captured bytes). */
  payloadLength: number;
}

export interface UdpLayer {
  kind: 'udp';
  srcPort: number;
  dstPort: number;
  payloadLength: number;
}

/** What an ICMP error quotes of the packet that caused it (RFC 792: the IP header and at least 8 bytes). */
export interface IcmpOriginal {
  ip: Ipv4Layer;
  /** When the quoted packet is IPIP (a TUN request) and enough of it is quoted: its inner header. */
  inner?: Ipv4Layer;
  /** Ports of the quoted TCP/UDP header (of the inner packet for IPIP), when quoted. */
  srcPort?: number;
  dstPort?: number;
}

export interface IcmpLayer {
  kind: 'icmp';
  type: number;
  code: number;
  /** Echo identifier and sequence (types 0 and 8). */
  echo?: { id: number; seq: number };
  /** Destination unreachable (3), source quench (4), redirect (5), time exceeded (11), parameter problem (12). */
  original?: IcmpOriginal;
}

export interface VrrpLayer {
  kind: 'vrrp';
  version: number;
  /** 1 = advertisement. */
  type: number;
  vrid: number;
  /** 0 = the master resigns (RFC 5798 §6.4.3). */
  priority: number;
  /** Advertisement interval in centiseconds (v2's seconds are converted). */
  intervalCs: number;
  addresses: string[];
}

export type L4Layer = TcpLayer | UdpLayer | IcmpLayer | VrrpLayer;

export interface Packet {
  timeUs: number;
  origLen: number;
  eth?: EthernetLayer;
  cooked?: CookedLayer;
  /** The EtherType of the network layer (0x0800 IPv4, 0x0806 ARP, 0x86dd IPv6, ...). */
  etherType?: number;
  arp?: ArpLayer;
  /** The outermost IPv4 header. */
  ip?: Ipv4Layer;
  /** For IPIP (ip.proto 4): the encapsulated header (TUN's client → VIP inside director → RIP). */
  inner?: Ipv4Layer;
  /** The transport of the innermost IPv4 header (absent for non-first fragments and unknown protocols). */
  l4?: L4Layer;
  /** The first layer that could not be decoded: what was wrong and at which byte of the frame. Layers before it are filled. */
  error?: { what: string; offset: number };
}
