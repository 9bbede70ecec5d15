/**
 * Answers (loose, human-written) -> Installation (every field explicit).
 * Structural errors come from zod with their path; semantic checks live in
 * validate.ts and run on the normalized model.
 */
import type { ZodError } from 'zod';
import {
  InstallationInputSchema,
  type Installation,
  type NormalizedService,
  type NormalizedVrrp,
  type VrrpInstance,
} from './model.js';
import { pathToString, type Problem } from './problems.js';
import { PROFILES } from './timers.js';

export type NormalizeResult = { ok: true; model: Installation } | { ok: false; problems: Problem[] };

export function zodProblems(err: ZodError, prefix = ''): Problem[] {
  return err.issues.map((issue) => {
    const path = pathToString([...(prefix ? [prefix] : []), ...issue.path]);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    } else if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
      message = `expected ${issue.expected}`;
    }
    return { severity: 'error' as const, path, message };
  });
}

/** Parse and complete an answers object. */
export function normalize(input: unknown): NormalizeResult {
  const parsed = InstallationInputSchema.safeParse(input);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const a = parsed.data;
  const profile = PROFILES[a.timerProfile];

  const services: NormalizedService[] = a.services.map((s) => ({
    ...s,
    realServers: s.realServers.map((r) => ({
      ...r,
      port: r.port ?? (s.fwmark !== undefined ? 0 : s.ports[0]!),
    })),
    checkTimers: s.checkTimers ?? { ...profile.check },
  }));

  const directors = a.directors.map((d, i) => ({
    ...d,
    priority: d.priority ?? (a.vrrp ? (i === 0 ? 150 : 100) : undefined),
  }));

  let vrrp: NormalizedVrrp | undefined;
  if (a.vrrp) {
    const v = a.vrrp;
    const instances: VrrpInstance[] = v.instances ?? defaultInstances(a.directors[0]?.interfaces[0]?.name ?? 'eth0', services, a.natRouter);
    vrrp = {
      ...v,
      version: v.version ?? profile.vrrpVersion,
      advertInt: v.advertInt ?? profile.advertInt,
      instances,
    };
  }

  const { vrrp: _loose, ...rest } = a;
  const model: Installation = { ...rest, directors, services, ...(vrrp ? { vrrp } : {}) };
  return { ok: true, model };
}

function defaultInstances(
  iface: string,
  services: NormalizedService[],
  natRouter: { address: string; interface: string } | undefined,
): VrrpInstance[] {
  const addresses: VrrpInstance['addresses'] = [];
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.vip)) continue;
    seen.add(s.vip);
    addresses.push({ address: `${s.vip}/32` });
  }
  if (natRouter) addresses.push({ address: natRouter.address, interface: natRouter.interface });
  // One advert carries at most 255 addresses; keepalived moves the rest out of the packet
  // ("excess moved to eVIPs") and warns, so larger designs get one instance per 255.
  const instances: VrrpInstance[] = [];
  for (let i = 0; i * MAX_VIPS_PER_INSTANCE < addresses.length; i++) {
    instances.push({ name: `VI_${i + 1}`, vrid: 51 + i, interface: iface, addresses: addresses.slice(i * MAX_VIPS_PER_INSTANCE, (i + 1) * MAX_VIPS_PER_INSTANCE) });
  }
  return instances;
}

/** The most addresses one VRRP advert can list (RFC 5798: an 8-bit count). */
export const MAX_VIPS_PER_INSTANCE = 255;
