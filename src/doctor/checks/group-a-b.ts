/** Checks of sections A (kernel, modules, runtime) and B (director network) of pitfalls.md, in that order. */
import type { Check } from '../check.js';
import { check as backupOnly } from './backup-only.js';
import { check as connReuseMode } from './conn-reuse-mode.js';
import { check as containerModules } from './container-modules.js';
import { check as directorFirewall } from './director-firewall.js';
import { check as directorRpFilter } from './director-rp-filter.js';
import { check as drCtInvalid } from './dr-ct-invalid.js';
import { check as forwardPolicy } from './forward-policy.js';
import { check as ipForward } from './ip-forward.js';
import { check as ipVsModules } from './ip-vs-modules.js';
import { check as ipvsExpireSysctls } from './ipvs-expire-sysctls.js';
import { check as ipvsSysctls } from './ipvs-sysctls.js';
import { check as ipvsTimeouts } from './ipvs-timeouts.js';
import { check as nonlocalBind } from './nonlocal-bind.js';
import { check as rsLocalAddress } from './rs-local-address.js';
import { check as syncDaemonFirewall } from './sync-daemon-firewall.js';
import { check as tunPmtu } from './tun-pmtu.js';
import { check as vrrpStrictAccept } from './vrrp-strict-accept.js';
import { check as vsConntrack } from './vs-conntrack.js';

export const GROUP_A_B: Check<any>[] = [
  ipVsModules,
  containerModules,
  ipvsSysctls,
  ipForward,
  nonlocalBind,
  directorRpFilter,
  vsConntrack,
  drCtInvalid,
  forwardPolicy,
  vrrpStrictAccept,
  ipvsExpireSysctls,
  connReuseMode,
  ipvsTimeouts,
  backupOnly,
  rsLocalAddress,
  tunPmtu,
  syncDaemonFirewall,
  directorFirewall,
];
