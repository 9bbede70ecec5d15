/** Checks of sections C (real servers), D (VRRP, keepalived) and E (containers) of pitfalls.md. */
import type { Check } from '../check.js';
import { check as containerHostModules } from './container-host-modules.js';
import { check as containerNatRoute } from './container-nat-route.js';
import { check as drL2Adjacency } from './dr-l2-adjacency.js';
import { check as ipvsTableSync } from './ipvs-table-sync.js';
import { check as keepalivedConfigTest } from './keepalived-config-test.js';
import { check as openvzIpip } from './openvz-ipip.js';
import { check as openvzVenetVip } from './openvz-venet-vip.js';
import { check as portMapping } from './port-mapping.js';
import { check as rsArpSysctls } from './rs-arp-sysctls.js';
import { check as rsFirewall } from './rs-firewall.js';
import { check as rsListening } from './rs-listening.js';
import { check as rsNatRoute } from './rs-nat-route.js';
import { check as rsRpFilter } from './rs-rp-filter.js';
import { check as rsTunnel } from './rs-tunnel.js';
import { check as rsVip } from './rs-vip.js';
import { check as vipArpAnswers } from './vip-arp-answers.js';
import { check as vrrpAdvert } from './vrrp-advert.js';
import { check as vrrpFirewall } from './vrrp-firewall.js';
import { check as vrrpSplitBrain } from './vrrp-split-brain.js';
import { check as vrrpTransport } from './vrrp-transport.js';
import { check as vrrpVrid } from './vrrp-vrid.js';

export const GROUP_C_D_E: Check<any>[] = [
  rsVip,
  rsListening,
  rsArpSysctls,
  vipArpAnswers,
  rsRpFilter,
  rsTunnel,
  rsNatRoute,
  drL2Adjacency,
  portMapping,
  rsFirewall,
  vrrpFirewall,
  vrrpTransport,
  vrrpVrid,
  vrrpAdvert,
  keepalivedConfigTest,
  ipvsTableSync,
  vrrpSplitBrain,
  openvzVenetVip,
  openvzIpip,
  containerHostModules,
  containerNatRoute,
];
