/**
 * fast-check arbitraries of answers files: valid designs (built inside the
 * valid space and then filtered by validate()) and invalid ones (a valid
 * design with one known defect injected).
 */
import fc from 'fast-check';
import { SCHEDULERS, type InstallationInput } from '../../src/core/model.js';
import { normalize } from '../../src/core/normalize.js';
import { validate } from '../../src/core/validate.js';

const L7_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sh'] as const;

const checkArb = (l7: boolean) =>
  l7
    ? fc.constantFrom<Record<string, unknown>>({ type: 'none' }, { type: 'tcp' }, { type: 'http', path: '/health', status: 200 })
    : fc.oneof(
        fc.constant({ type: 'none' }),
        fc.record({ type: fc.constant('tcp') }),
        fc.record({ type: fc.constantFrom('http', 'https'), path: fc.constantFrom('/', '/health', '/status.html'), status: fc.constantFrom(200, 204, 301) }),
        fc.record({ type: fc.constant('send-expect'), send: fc.constantFrom('GET / HTTP/1.0\r\n\r\n', 'PING\r\n'), expect: fc.constantFrom('HTTP', '+PONG'), regex: fc.boolean() }),
        fc.record({ type: fc.constant('script'), command: fc.constantFrom('/usr/local/bin/check-app', '/usr/lib/check.sh') }),
      );

const timersArb = fc.record({
  delayLoop: fc.integer({ min: 1, max: 30 }),
  connectTimeout: fc.integer({ min: 1, max: 10 }),
  retry: fc.integer({ min: 0, max: 5 }),
  delayBeforeRetry: fc.integer({ min: 1, max: 10 }),
});

/** A valid answers object (plain data, as an answers file holds). */
export const validAnswers: fc.Arbitrary<InstallationInput> = fc
  .record({
    mode: fc.constantFrom('nat', 'dr', 'tun', 'nginx', 'haproxy'),
    pair: fc.boolean(),
    version: fc.constantFrom(2, 3),
    advertInt: fc.integer({ min: 1, max: 5 }),
    advertFrac: fc.constantFrom(0.1, 0.5, 0.25),
    transport: fc.constantFrom('unicast', 'multicast'),
    auth: fc.boolean(),
    nServices: fc.integer({ min: 1, max: 3 }),
    nReal: fc.integer({ min: 1, max: 4 }),
    subnet: fc.integer({ min: 1, max: 250 }),
    services: fc.array(
      fc.record({
        schedulerL4: fc.constantFrom(...SCHEDULERS),
        schedulerL7: fc.constantFrom(...L7_SCHEDULERS),
        port: fc.integer({ min: 1, max: 65535 }),
        secondPort: fc.integer({ min: 1, max: 65535 }),
        fwmark: fc.boolean(),
        udp: fc.boolean(),
        persistence: fc.option(fc.integer({ min: 1, max: 3600 }), { nil: undefined }),
        weights: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 4, maxLength: 4 }),
        check: fc.boolean(),
        quiescent: fc.boolean(),
        timers: timersArb,
      }),
      { minLength: 3, maxLength: 3 },
    ),
    check: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    checksL4: fc.array(checkArb(false), { minLength: 3, maxLength: 3 }),
    checksL7: fc.array(checkArb(true), { minLength: 3, maxLength: 3 }),
  })
  .map((g) => {
    const l7 = g.mode === 'nginx' || g.mode === 'haproxy';
    const outside = `10.${g.subnet}.0`;
    const inside = g.mode === 'nat' ? `10.${g.subnet}.1` : outside;
    const twoArm = g.mode === 'nat';
    const directors = (g.pair ? [1, 2] : [1]).map((i) => ({
      name: `dir${i}`,
      interfaces: twoArm
        ? [
            { name: 'eth0', address: `${outside}.${i}/24` },
            { name: 'eth1', address: `${inside}.${i}/24` },
          ]
        : [{ name: 'eth0', address: `${outside}.${i}/24` }],
    }));
    const useVrrp = g.pair || g.version === 3;
    const vrrp = useVrrp
      ? {
          version: g.version as 2 | 3,
          advertInt: g.version === 3 ? g.advertFrac : g.advertInt,
          transport: g.transport as 'unicast' | 'multicast',
          ...(g.auth && g.version === 2 ? { auth: { type: 'PASS' as const, password: 'secret' } } : {}),
        }
      : undefined;
    const realServers = Array.from({ length: g.nReal }, (_, i) => ({ name: `rs${i + 1}`, address: `${inside}.${11 + i}` }));
    const services = g.services.slice(0, g.nServices).map((s, si) => {
      const protocol = !l7 && s.udp ? 'udp' : g.mode === 'nginx' && s.udp ? 'udp' : 'tcp';
      const fwmark = !l7 && s.fwmark;
      const ports = fwmark ? [...new Set([s.port, s.secondPort])] : [s.port];
      const rsPort = fwmark ? 0 : s.port;
      const check = (l7 ? g.checksL7[si]! : g.checksL4[si]!) as { type: string; port?: number };
      const healthCheck = fwmark && check.type === 'tcp' ? { ...check, port: ports[0] } : protocol === 'udp' && (check.type === 'http' || check.type === 'https') ? { type: 'none' } : check;
      return {
        name: `svc${si + 1}`,
        vip: `${outside}.${100 + si}`,
        protocol,
        ports,
        ...(fwmark ? { fwmark: 100 + si } : {}),
        scheduler: l7 ? s.schedulerL7 : s.schedulerL4,
        ...(s.persistence !== undefined && !l7 ? { persistence: { timeout: s.persistence } } : {}),
        mode: g.mode,
        realServers: realServers.map((r, i) => ({ ...r, port: rsPort, weight: s.weights[i]! })),
        healthCheck,
        checkTimers: s.timers,
        quiescent: !l7 && s.quiescent,
      };
    });
    const answers = {
      version: 1 as const,
      name: 'prop',
      manager: 'keepalived' as const,
      directors,
      ...(vrrp ? { vrrp } : {}),
      ...(g.mode === 'nat' && g.pair ? { natRouter: { address: `${inside}.254/24`, interface: 'eth1' } } : {}),
      services,
      ipvsSysctls: { expireQuiescentTemplate: true, conntrack: false },
    };
    return answers as unknown as InstallationInput;
  })
  .filter((a) => {
    const n = normalize(a);
    return n.ok && !validate(n.model).some((p) => p.severity === 'error');
  });
