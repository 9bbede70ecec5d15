/**
 * Per-node setup of a director: the IPVS modules, the sysctls its modes
 * need, static VIPs when nothing else owns them, the send/expect checker,
 * and its firewall file. keepalived.conf, lvs.cf and the ipvsadm rules are
 * rendered elsewhere; the lead puts them in the same bundle.
 */
import { isL4, type Installation } from '../model.js';
import { addressOf, cidrContains } from '../net.js';
import { SEND_EXPECT_SCRIPT_PATH, renderSendExpectScript } from './check-scripts.js';
import { addSysctls, emptyPlan, isContainer, renderSetup } from './real-server.js';
import type { NodeSetup } from './types.js';

/** The IPVS modules a director uses: ip_vs and one ip_vs_<scheduler> per scheduler of an L4 service. */
export function ipvsModules(model: Installation): string[] {
  const l4 = model.services.filter((s) => isL4(s.mode));
  if (l4.length === 0) return [];
  return ['ip_vs', ...new Set(l4.map((s) => `ip_vs_${s.scheduler}`))];
}

/**
 * Who brings the VIPs up on this director, when not our script: keepalived
 * (vrrp block), Piranha's pulse/lvs, or an unknown failover manager of a pair.
 */
function vipOwner(model: Installation): string | undefined {
  if (model.vrrp) return 'keepalived VRRP brings the VIPs up on the master';
  if (model.manager === 'piranha') return 'Piranha pulse/lvs brings the VIPs (and nat_router) up on the active router';
  if (model.directors.length > 1) {
    return 'two directors and no vrrp block: the failover manager must own the VIPs (adding them on both would answer ARP twice)';
  }
  return undefined;
}

/**
 * Setup of director `directorName`. Throws for a name that is not a
 * director of the model (a caller bug: names come from the model).
 */
export function renderDirectorSetup(model: Installation, directorName: string): NodeSetup {
  const director = model.directors.find((d) => d.name === directorName);
  if (!director) {
    throw new Error(`no director named ${directorName} (known: ${model.directors.map((d) => d.name).join(', ') || 'none'})`);
  }
  const plan = emptyPlan(model, directorName, 'director');
  const inContainer = isContainer(director.platform);
  for (const s of model.services) plan.summary.push(`Service ${s.name}: ${s.mode.toUpperCase()}, VIP ${s.vip}, ports ${s.ports.join(',')}.`);

  const modules = ipvsModules(model);
  if (modules.length) {
    if (inContainer) {
      plan.moduleNotes.push(
        `Modules: none here. A container cannot load kernel modules: the container host ${director.platform.host ?? '(unnamed)'}`,
        `loads ${modules.join(', ')} (its lvs-toolkit setup).`,
      );
      plan.checks.push(
        'if [ ! -e /proc/net/ip_vs ]; then',
        `  echo "lvs-toolkit: warning: IPVS is not available here yet: load ${modules.join(' ')} on the container host" >&2`,
        'fi',
      );
    } else {
      plan.modules.push(...modules);
    }
  }

  const nat = model.services.some((s) => s.mode === 'nat');
  if (nat) {
    addSysctls(plan, [{ path: 'net/ipv4/ip_forward', value: 1, why: 'NAT: the real servers route their replies through this director' }]);
    if (director.interfaces.length > 1) {
      plan.sysctlNotes.push(
        'Two-arm NAT and rp_filter: strict mode (1) is right as long as each arm only receives what its routes',
        'point at it (clients outside, real servers inside). If clients can also arrive on the inside arm, or',
        'traffic is asymmetric, use loose mode: rp_filter = 2 on all and on both arms (the kernel uses',
        'max(all, iface), Documentation/networking/ip-sysctl.rst). Never 0 on the outside arm: spoofing.',
      );
    }
  }
  const l7 = model.services.some((s) => !isL4(s.mode));
  if (l7 && model.vrrp) {
    addSysctls(plan, [
      { path: 'net/ipv4/ip_nonlocal_bind', value: 1, why: 'L7 behind a VRRP VIP: nginx/haproxy on the backup must bind the VIP it does not hold yet' },
    ]);
  }
  if (model.services.some((s) => isL4(s.mode))) {
    // Only non-default values are written: net.ipv4.vs.* exists only once ip_vs is loaded, and not
    // at all in an unprivileged container (pitfalls.md #4), so a default 0 is not worth failing for.
    if (model.ipvsSysctls.expireQuiescentTemplate) {
      addSysctls(plan, [{ path: 'net/ipv4/vs/expire_quiescent_template', value: 1, why: 'persistence templates of a weight-0 real server expire (ipvs-sysctl.rst)' }]);
    }
    if (model.ipvsSysctls.conntrack) {
      addSysctls(plan, [{ path: 'net/ipv4/vs/conntrack', value: 1, why: 'keep netfilter connection tracking for IPVS connections (ipvs-sysctl.rst)' }]);
    }
  }

  const owner = vipOwner(model);
  const own = director.interfaces.flatMap((i) => (i.address ? [addressOf(i.address)] : []));
  if (owner) {
    plan.network.push(`# No static VIPs: ${owner}.`);
  } else {
    const vips = [...new Set(model.services.map((s) => s.vip))].filter((v) => !own.includes(v));
    for (const vip of vips) {
      const iface = director.interfaces.find((i) => i.address !== undefined && cidrContains(i.address, vip)) ?? director.interfaces[0]!;
      plan.network.push(`ip addr replace ${vip}/32 dev ${iface.name}`);
    }
    if (model.natRouter && !own.includes(addressOf(model.natRouter.address))) {
      plan.network.push('# The real servers\' gateway.', `ip addr replace ${model.natRouter.address} dev ${model.natRouter.interface}`);
    }
  }

  if (model.manager === 'keepalived' && model.services.some((s) => isL4(s.mode) && s.healthCheck.type === 'send-expect')) {
    plan.extraFiles.push({
      path: SEND_EXPECT_SCRIPT_PATH,
      content: renderSendExpectScript(),
      mode: 0o755,
      validator: 'sh',
      description: 'send/expect health check run by keepalived MISC_CHECK',
    });
  }
  plan.unitBefore.push('keepalived.service', 'nginx.service', 'haproxy.service');
  return renderSetup(model, plan);
}
