/**
 * The topology model: one zod schema for a whole installation, the single
 * source of truth every renderer reads and every importer produces.
 *
 * Two shapes share this file:
 *  - `InstallationInput` is what a person writes in an answers file: most
 *    fields optional, timers may come from a profile.
 *  - `Installation` is the normalized form (see normalize.ts): every field
 *    explicit. Renderers take only this; round-trip tests compare this.
 */
import { z } from 'zod';
import { isIPv4, isIPv4Cidr } from './net.js';

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf'] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

/** One line each, for the wizard and for `--help` texts. */
export const SCHEDULER_HELP: Record<Scheduler, string> = {
  rr: 'round robin: each real server in turn',
  wrr: 'weighted round robin: in turn, in proportion to weight',
  lc: 'least connections: the server with the fewest active connections',
  wlc: 'weighted least connections: fewest connections per unit of weight (keepalived default)',
  lblc: 'locality-based least connections: same destination to the same server unless it is overloaded (caches)',
  lblcr: 'locality-based least connections with replication: like lblc, with a set of servers per destination',
  dh: 'destination hashing: static map of destination address to server',
  sh: 'source hashing: static map of client address to server (a form of stickiness)',
  sed: 'shortest expected delay: (active+1)/weight, smallest wins',
  nq: 'never queue: an idle server if there is one, otherwise sed',
  mh: 'maglev hashing: consistent hashing of the client, little reshuffling when servers change',
  fo: 'weighted failover: always the available server with the highest weight',
  ovf: 'overflow: the highest-weight server until its active connections exceed its weight',
};

export const MODES = ['nat', 'dr', 'tun', 'nginx', 'haproxy'] as const;
export type Mode = (typeof MODES)[number];
export const L4_MODES = ['nat', 'dr', 'tun'] as const;
export type L4Mode = (typeof L4_MODES)[number];
export function isL4(mode: Mode): mode is L4Mode {
  return mode === 'nat' || mode === 'dr' || mode === 'tun';
}

export const PLATFORMS = ['host', 'lxc', 'lxd', 'openvz-venet', 'openvz-veth'] as const;
export type PlatformType = (typeof PLATFORMS)[number];

export const TIMER_PROFILES = ['fast', 'default', 'conservative'] as const;
export type TimerProfile = (typeof TIMER_PROFILES)[number];

export const MANAGERS = ['keepalived', 'ipvsadm', 'ldirectord', 'piranha'] as const;
export type Manager = (typeof MANAGERS)[number];

const ipv4 = z.string().refine(isIPv4, { message: 'expected an IPv4 address like 10.0.0.1' });
const ipv4Cidr = z.string().refine(isIPv4Cidr, { message: 'expected an IPv4 address with a prefix like 10.0.0.1/24' });
const ipv4OrCidr = z.string().refine((s) => isIPv4(s) || isIPv4Cidr(s), {
  message: 'expected an IPv4 address, optionally with a prefix (10.0.0.1 or 10.0.0.1/24)',
});
const port = z.number().int().min(1, 'ports are 1..65535').max(65535, 'ports are 1..65535');
const ifname = z
  .string()
  .min(1)
  .max(15, 'Linux interface names are at most 15 characters')
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'interface names are letters, digits and _ . : - @');
const nodeName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'node names start with a letter or digit and contain letters, digits, _ . -');

export const PlatformSchema = z.strictObject({
  type: z.enum(PLATFORMS),
  /** Name of the container host (a `containerHosts` entry) for a container. */
  host: nodeName.optional(),
  /** OpenVZ container id (vzctl CTID). */
  ctid: z.number().int().min(1).max(2147483647).optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const HealthCheckSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('tcp'), port: port.optional() }),
  z.strictObject({
    type: z.enum(['http', 'https']),
    path: z.string().startsWith('/', 'an HTTP check path starts with /'),
    /** Expected status code (keepalived `status_code`). */
    status: z.number().int().min(100).max(599).optional(),
    /** Expected MD5 digest of the body (keepalived `digest`). */
    digest: z.string().regex(/^[0-9a-f]{32}$/, 'a digest is 32 lowercase hex digits (md5)').optional(),
    port: port.optional(),
    virtualhost: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('send-expect'),
    send: z.string(),
    expect: z.string(),
    regex: z.boolean().default(false),
    port: port.optional(),
  }),
  z.strictObject({ type: z.literal('script'), command: z.string().min(1) }),
]);
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

export const CheckTimersSchema = z.strictObject({
  /** Seconds between checks of one real server (keepalived `delay_loop`). */
  delayLoop: z.number().positive().max(86400),
  connectTimeout: z.number().positive().max(3600),
  retry: z.number().int().min(0).max(100),
  delayBeforeRetry: z.number().min(0).max(3600),
});
export type CheckTimers = z.infer<typeof CheckTimersSchema>;

export const RealServerSchema = z.strictObject({
  name: nodeName,
  address: ipv4,
  /** Port on the real server; 0 (fwmark services only) keeps the client's destination port. Default: the service's first port, or 0 for fwmark. */
  port: z.number().int().min(0, 'ports are 0..65535 (0 only for fwmark services)').max(65535, 'ports are 0..65535').optional(),
  weight: z.number().int().min(0, 'weights are 0..65535').max(65535, 'weights are 0..65535').default(1),
  platform: PlatformSchema.default({ type: 'host' }),
  /** The interface that faces the director (default eth0). */
  interface: ifname.default('eth0'),
  /** NAT: the default gateway the real server uses (must be the director's NAT address). */
  gateway: ipv4.optional(),
});
export type RealServer = z.infer<typeof RealServerSchema>;

export const ServiceSchema = z.strictObject({
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'service names are letters, digits, _ . -'),
  vip: ipv4,
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** The ports of the service. One port; or several bundled by `fwmark`. */
  ports: z.array(port).min(1, 'a service needs at least one port'),
  /** Firewall mark that bundles several ports (or addresses) into one IPVS service. */
  fwmark: z.number().int().min(1).max(4294967295).optional(),
  scheduler: z.enum(SCHEDULERS).default('wlc'),
  persistence: z
    .strictObject({
      timeout: z.number().int().min(1).max(2678400),
      netmask: ipv4.optional(),
    })
    .optional(),
  mode: z.enum(MODES),
  realServers: z.array(RealServerSchema),
  healthCheck: HealthCheckSchema.default({ type: 'tcp' }),
  checkTimers: CheckTimersSchema.optional(),
  sorryServer: z.strictObject({ address: ipv4, port: port.optional() }).optional(),
  /** On failure set weight 0 instead of removing the real server (keepalived inhibit_on_failure, Piranha quiesce). */
  quiescent: z.boolean().default(false),
  /** Layer 7 only: map a port on a container host to the balancer (seed 003's DNAT 8000 -> 80). */
  hostPortMap: z
    .strictObject({
      host: nodeName,
      interface: ifname.default('eth0'),
      port,
    })
    .optional(),
});
export type Service = z.infer<typeof ServiceSchema>;

export const DirectorSchema = z.strictObject({
  name: nodeName,
  platform: PlatformSchema.default({ type: 'host' }),
  /** Interfaces with their own (non-floating) addresses. One-arm: one; two-arm: outside first, inside second. */
  interfaces: z
    .array(
      z.strictObject({
        name: ifname,
        /** Own address with prefix. Optional only because an imported config may not say it; generation needs it. */
        address: ipv4Cidr.optional(),
      }),
    )
    .min(1, 'a director needs at least one interface'),
  /** VRRP priority (1..255); the first director of a pair is the master. */
  priority: z.number().int().min(1).max(255).optional(),
});
export type Director = z.infer<typeof DirectorSchema>;

export const VrrpInstanceSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/),
  vrid: z.number().int(),
  interface: ifname,
  /** Addresses this instance floats: "10.0.3.250/32", optionally on another interface. */
  addresses: z.array(z.strictObject({ address: ipv4OrCidr, interface: ifname.optional() })).min(1),
});
export type VrrpInstance = z.infer<typeof VrrpInstanceSchema>;

export const VrrpSchema = z.strictObject({
  /** VRRP version; default 3 with the `fast` profile (sub-second adverts), otherwise 2. */
  version: z.union([z.literal(2), z.literal(3)]).optional(),
  /** Seconds between adverts; fractions need VRRP v3. */
  advertInt: z.number().positive().max(255).optional(),
  transport: z.enum(['unicast', 'multicast']).default('unicast'),
  auth: z
    .strictObject({ type: z.enum(['PASS', 'AH']), password: z.string().min(1).max(8, 'VRRP PASS passwords are at most 8 characters') })
    .optional(),
  nopreempt: z.boolean().default(false),
  instances: z.array(VrrpInstanceSchema).optional(),
  /** IPVS connection sync between the directors (ipvsadm --start-daemon / lvs_sync_daemon). */
  syncDaemon: z.strictObject({ interface: ifname, syncId: z.number().int().min(0).max(255).optional() }).optional(),
});
export type Vrrp = z.infer<typeof VrrpSchema>;

export const ContainerHostSchema = z.strictObject({
  name: nodeName,
  /** Which container manager runs there. */
  kind: z.enum(['lxc', 'lxd', 'openvz']),
  /** The host's interface toward the clients (for DNAT and proxy ARP). */
  interface: ifname.default('eth0'),
});
export type ContainerHost = z.infer<typeof ContainerHostSchema>;

export const InstallationInputSchema = z.strictObject({
  version: z.literal(1).default(1),
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/).default('lvs'),
  /** What runs the IPVS table on the directors. */
  manager: z.enum(MANAGERS).default('keepalived'),
  timerProfile: z.enum(TIMER_PROFILES).default('default'),
  directors: z.array(DirectorSchema).max(2, 'one director, or two for a VRRP pair'),
  vrrp: VrrpSchema.optional(),
  /** NAT: floating gateway address of the real servers (Piranha nat_router). */
  natRouter: z.strictObject({ address: ipv4Cidr, interface: ifname }).optional(),
  services: z.array(ServiceSchema).min(1, 'describe at least one service'),
  containerHosts: z.array(ContainerHostSchema).default([]),
  firewall: z.enum(['nftables', 'iptables', 'none']).default('nftables'),
  /** Piranha (pulse/lvs/nanny) settings with no keepalived equivalent, kept so lvs.cf round-trips. */
  piranha: z
    .strictObject({
      serialNo: z.number().int().min(0).optional(),
      heartbeat: z.boolean().optional(),
      heartbeatPort: port.optional(),
      keepalive: z.number().positive().optional(),
      deadtime: z.number().positive().optional(),
      monitorLinks: z.boolean().optional(),
      syncDaemon: z.boolean().optional(),
      debugLevel: z.string().optional(),
      /** Heartbeat addresses (`primary =`, `backup =`): lvs.cf gives no prefix, so an import cannot put them on a director interface. */
      primary: ipv4.optional(),
      backup: ipv4.optional(),
    })
    .optional(),
  ipvsSysctls: z
    .strictObject({
      expireQuiescentTemplate: z.boolean().default(false),
      conntrack: z.boolean().default(false),
    })
    .default({ expireQuiescentTemplate: false, conntrack: false }),
});
export type InstallationInput = z.input<typeof InstallationInputSchema>;
type Parsed = z.output<typeof InstallationInputSchema>;

/** The normalized model: what renderers consume. */
export type Installation = Omit<Parsed, 'services' | 'vrrp'> & {
  services: NormalizedService[];
  vrrp?: NormalizedVrrp;
};
export type NormalizedRealServer = Omit<RealServer, 'port'> & { port: number };
export type NormalizedService = Omit<Service, 'realServers' | 'checkTimers'> & {
  realServers: NormalizedRealServer[];
  checkTimers: CheckTimers;
};
export type NormalizedVrrp = Omit<Vrrp, 'advertInt' | 'instances' | 'version'> & {
  version: 2 | 3;
  advertInt: number;
  instances: VrrpInstance[];
};
