/**
 * Small, pure IPv4 helpers. IPv6 is kept in mind (addresses are strings and
 * every helper says which family it handles) but only IPv4 is validated today.
 */

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a dotted-quad IPv4 address without a prefix ("10.0.0.1"). */
export function isIPv4(text: string): boolean {
  return IPV4_RE.test(text);
}

/** True for "10.0.0.1/24" (prefix 0..32). */
export function isIPv4Cidr(text: string): boolean {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return false;
  const prefix = Number(m[2]);
  return isIPv4(m[1]!) && prefix >= 0 && prefix <= 32;
}

/** The address part of "10.0.0.1/24" or the address itself. */
export function addressOf(cidrOrIp: string): string {
  const slash = cidrOrIp.indexOf('/');
  return slash === -1 ? cidrOrIp : cidrOrIp.slice(0, slash);
}

/** The prefix of "10.0.0.1/24", or 32 for a bare address. */
export function prefixOf(cidrOrIp: string): number {
  const slash = cidrOrIp.indexOf('/');
  return slash === -1 ? 32 : Number(cidrOrIp.slice(slash + 1));
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

export function intToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Does the subnet of `cidr` ("10.0.0.1/24") contain `ip`? */
export function cidrContains(cidr: string, ip: string): boolean {
  const prefix = prefixOf(cidr);
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : (~((1 << (32 - prefix)) - 1)) >>> 0;
  return ((ipv4ToInt(addressOf(cidr)) & mask) >>> 0) === ((ipv4ToInt(ip) & mask) >>> 0);
}

/** "255.255.255.0" -> 24; undefined when the mask is not contiguous. */
export function netmaskToPrefix(mask: string): number | undefined {
  if (!isIPv4(mask)) return undefined;
  const n = ipv4ToInt(mask);
  let prefix = 0;
  while (prefix < 32 && (n & (0x80000000 >>> prefix)) !== 0) prefix++;
  const rebuilt = prefix === 0 ? 0 : (~((1 << (32 - prefix)) - 1)) >>> 0;
  return rebuilt === n ? prefix : undefined;
}

/** 24 -> "255.255.255.0". */
export function prefixToNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (~((1 << (32 - prefix)) - 1)) >>> 0;
  return intToIpv4(n);
}

/** Network address of a CIDR: "10.0.3.11/24" -> "10.0.3.0/24". */
export function networkOf(cidr: string): string {
  const prefix = prefixOf(cidr);
  const mask = prefix === 0 ? 0 : (~((1 << (32 - prefix)) - 1)) >>> 0;
  return `${intToIpv4((ipv4ToInt(addressOf(cidr)) & mask) >>> 0)}/${prefix}`;
}
