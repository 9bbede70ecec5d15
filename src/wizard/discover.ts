/**
 * What the wizard can find instead of asking: the director's interfaces
 * (`ip -j addr`) and the containers this machine runs (LXD `lxc list --format
 * json`, LXC `lxc-ls -f`, OpenVZ `vzlist -j`), through a Host so it works the
 * same locally, over ssh or in a lab. The parsers are pure and take the
 * tools' text; a missing tool is simply "none found".
 */
import { containersFrom } from '../doctor/roles.js';
import type { Host } from '../host/types.js';
import type { DiscoveredInterface, DiscoveredServer } from './state.js';

interface IpAddrLink {
  ifname?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

/** `ip -j addr show` -> every interface with its first IPv4 address (ip-address(8) JSON). */
export function interfacesFromIpJson(text: string): DiscoveredInterface[] {
  let links: unknown;
  try {
    links = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  return (links as IpAddrLink[]).flatMap((l) => {
    if (!l.ifname) return [];
    const v4 = (l.addr_info ?? []).find((a) => a.family === 'inet' && a.local && a.prefixlen !== undefined);
    return [{ name: l.ifname, ...(v4 ? { address: `${v4.local}/${v4.prefixlen}` } : {}) }];
  });
}

interface LxdInstance {
  name?: string;
  state?: { network?: Record<string, { addresses?: Array<{ family?: string; address?: string; scope?: string }> }> };
}

/** LXD's `lxc list --format json`: names (as the doctor reads them) with the first global IPv4 of a non-lo device. */
export function serversFromLxdJson(text: string): DiscoveredServer[] {
  const names = containersFrom({ lxdJson: text }).lxd;
  let list: LxdInstance[] = [];
  try {
    list = JSON.parse(text) as LxdInstance[];
  } catch {
    return [];
  }
  return names.map((name) => {
    const net = list.find((c) => c.name === name)?.state?.network ?? {};
    const address = Object.entries(net)
      .filter(([dev]) => dev !== 'lo')
      .flatMap(([, d]) => d.addresses ?? [])
      .find((a) => a.family === 'inet' && a.scope !== 'local')?.address;
    return { name, platform: 'lxd' as const, ...(address ? { address } : {}) };
  });
}

/**
 * `lxc-ls -f` is a table whose columns line up under a header (NAME STATE
 * AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED); IPV4 lists addresses separated by
 * ", " or "-" when there is none. Columns are cut at the header's offsets.
 */
export function serversFromLxcLs(text: string): DiscoveredServer[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0];
  if (!header || !/^NAME\s/.test(header)) return [];
  const ipv4At = header.indexOf('IPV4');
  const ipv6At = header.indexOf('IPV6');
  return lines.slice(1).flatMap((l) => {
    const name = l.split(/\s+/)[0] ?? '';
    if (!name) return [];
    const cell = ipv4At >= 0 ? l.slice(ipv4At, ipv6At > ipv4At ? ipv6At : undefined).trim() : '';
    const address = cell.split(/[,\s]+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    return [{ name, platform: 'lxc' as const, ...(address ? { address } : {}) }];
  });
}

interface VzEntry {
  ctid?: number | string;
  hostname?: string;
  ip?: string[];
}

/** `vzlist -j`: a container with venet addresses (`ip`) is venet; without, it is taken as veth. */
export function serversFromVzlist(text: string): DiscoveredServer[] {
  const ids = containersFrom({ vzlistJson: text }).openvz;
  let list: VzEntry[] = [];
  try {
    list = JSON.parse(text) as VzEntry[];
  } catch {
    return [];
  }
  return ids.flatMap((id) => {
    const c = list.find((x) => String(x.ctid) === id);
    const ctid = Number(id);
    const address = c?.ip?.find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
    const name = (c?.hostname ?? '').replace(/\..*$/, '') || `ct${id}`;
    return [{ name, platform: address ? ('openvz-venet' as const) : ('openvz-veth' as const), ...(address ? { address } : {}), ...(Number.isInteger(ctid) ? { ctid } : {}) }];
  });
}

async function stdoutOf(host: Host, argv: string[]): Promise<string | undefined> {
  const r = await host.run(argv, { timeoutMs: 10_000 }).catch(() => undefined);
  return r && r.exitCode === 0 ? r.stdout : undefined;
}

export async function discoverInterfaces(host: Host): Promise<DiscoveredInterface[]> {
  const text = await stdoutOf(host, ['ip', '-j', 'addr', 'show']);
  return text ? interfacesFromIpJson(text) : [];
}

/** Every container the three managers list, LXD first. */
export async function discoverServers(host: Host): Promise<DiscoveredServer[]> {
  const [lxd, lxc, vz] = await Promise.all([
    stdoutOf(host, ['lxc', 'list', '--format', 'json']),
    stdoutOf(host, ['lxc-ls', '-f']),
    stdoutOf(host, ['vzlist', '-j']),
  ]);
  return [...(lxd ? serversFromLxdJson(lxd) : []), ...(lxc ? serversFromLxcLs(lxc) : []), ...(vz ? serversFromVzlist(vz) : [])];
}
