/**
 * Timer profiles: one word that sets VRRP and health-checker timers, and the
 * failover and detection times those timers imply.
 */
import type { CheckTimers, TimerProfile } from './model.js';

export interface ProfileTimers {
  vrrpVersion: 2 | 3;
  advertInt: number;
  check: CheckTimers;
}

export const PROFILES: Record<TimerProfile, ProfileTimers> = {
  // Sub-second adverts need VRRP v3: keepalived rounds a v2 advert_int up to 1 s.
  fast: { vrrpVersion: 3, advertInt: 0.1, check: { delayLoop: 1, connectTimeout: 1, retry: 0, delayBeforeRetry: 1 } },
  default: { vrrpVersion: 2, advertInt: 1, check: { delayLoop: 3, connectTimeout: 3, retry: 1, delayBeforeRetry: 1 } },
  conservative: { vrrpVersion: 2, advertInt: 2, check: { delayLoop: 10, connectTimeout: 5, retry: 3, delayBeforeRetry: 3 } },
};

/**
 * Time for a backup to take over after the master dies silently: the VRRP
 * master-down interval, 3 x advert + skew (RFC 5798 section 6.1; RFC 3768 for v2
 * where the skew is in whole seconds of (256-priority)/256).
 */
export function failoverSeconds(advertInt: number, backupPriority: number, version: 2 | 3): number {
  const skew = version === 3 ? ((256 - backupPriority) * advertInt) / 256 : (256 - backupPriority) / 256;
  return 3 * advertInt + skew;
}

/**
 * Worst-case time for the checker to notice a dead real server that does not
 * answer at all (a cut link): one full loop, every attempt timing out, and the
 * pauses between retries. A refused connection (RST) is noticed sooner.
 */
export function detectionSeconds(t: CheckTimers): { refused: number; silent: number } {
  return {
    refused: t.delayLoop + t.retry * t.delayBeforeRetry,
    silent: t.delayLoop + (t.retry + 1) * t.connectTimeout + t.retry * t.delayBeforeRetry,
  };
}

export function describeProfile(name: TimerProfile): string {
  const p = PROFILES[name];
  const f = failoverSeconds(p.advertInt, 100, p.vrrpVersion);
  const d = detectionSeconds(p.check);
  return `${name}: VRRP v${p.vrrpVersion} advert ${p.advertInt}s -> failover ~${round(f)}s; checks every ${p.check.delayLoop}s -> a dead server is out after ~${round(d.refused)}s (refused) to ~${round(d.silent)}s (silent)`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
