/** The README's timer-profile table comes from these functions; this holds it to them. */
import { describe, expect, it } from 'vitest';
import { describeProfile, detectionSeconds, failoverSeconds, PROFILES } from '../../src/core/timers.js';

const r2 = (x: number) => Math.round(x * 100) / 100;

describe('timer profiles', () => {
  it.each([
    ['fast', 3, 0.1, 0.36, 1, 2],
    ['default', 2, 1, 3.61, 4, 10],
    ['conservative', 2, 2, 6.61, 19, 39],
  ] as const)('%s: VRRP v%d advert %ss -> failover %ss, detection %s s refused / %s s silent', (name, version, advert, failover, refused, silent) => {
    const p = PROFILES[name];
    expect(p.vrrpVersion).toBe(version);
    expect(p.advertInt).toBe(advert);
    expect(r2(failoverSeconds(p.advertInt, 100, p.vrrpVersion))).toBe(failover);
    expect(detectionSeconds(p.check)).toEqual({ refused, silent });
  });

  it('VRRPv2 skew is in seconds, v3 skew scales with the advert (RFC 3768 / RFC 5798)', () => {
    expect(failoverSeconds(1, 255, 2)).toBeCloseTo(3 + 1 / 256);
    expect(failoverSeconds(0.1, 0, 3)).toBeCloseTo(0.4);
  });

  it('describes a profile in one line with both times', () => {
    expect(describeProfile('fast')).toBe('fast: VRRP v3 advert 0.1s -> failover ~0.36s; checks every 1s -> a dead server is out after ~1s (refused) to ~2s (silent)');
  });
});
