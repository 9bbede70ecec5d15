/**
 * The whole installation rendered per node: which files go where on each
 * director, balancer, real server and container host, and each node's setup
 * script. `lvs-wizard generate` writes this; the apply engine plans from it.
 */
import { isL4, type Installation } from '../model.js';
import { renderContainerHostSetup } from './container-host.js';
import { renderDirectorSetup } from './director.js';
import { renderHaproxy } from './haproxy.js';
import { renderIpvsadm } from './ipvsadm.js';
import { renderKeepalived } from './keepalived.js';
import { renderLdirectord } from './ldirectord.js';
import { renderLvsCf } from './lvs-cf.js';
import { nginxFiles } from './nginx.js';
import { renderRealServerSetup } from './real-server.js';
import type { GeneratedFile, NodeSetup } from './types.js';

export type NodeRole = 'director' | 'balancer' | 'real-server' | 'container-host';

export interface NodeBundle extends NodeSetup {
  node: string;
  role: NodeRole;
}

/** Every node's files and script, directors first, then real servers, then container hosts. */
export function renderNodes(m: Installation): NodeBundle[] {
  const out: NodeBundle[] = [];
  const hasL4 = m.services.some((s) => isL4(s.mode));
  const hasNginx = m.services.some((s) => s.mode === 'nginx');
  const hasHaproxy = m.services.some((s) => s.mode === 'haproxy');

  for (const d of m.directors) {
    const setup = renderDirectorSetup(m, d.name);
    const files: GeneratedFile[] = [];
    if (m.vrrp || (hasL4 && m.manager === 'keepalived')) {
      files.push({
        path: '/etc/keepalived/keepalived.conf',
        content: renderKeepalived(m, d.name),
        mode: 0o644,
        validator: 'keepalived',
        description: m.vrrp ? 'keepalived: VRRP for the VIPs and the IPVS services with health checks' : 'keepalived: IPVS services with health checks',
      });
    }
    if (hasL4 && m.manager === 'ipvsadm') {
      files.push({ path: '/etc/ipvsadm.rules', content: renderIpvsadm(m), mode: 0o644, validator: 'ipvsadm-restore', description: 'IPVS table for ipvsadm-restore (Debian loads /etc/ipvsadm.rules at boot)' });
    }
    if (hasL4 && m.manager === 'ldirectord') {
      files.push({ path: '/etc/ha.d/ldirectord.cf', content: renderLdirectord(m), mode: 0o644, validator: 'none', description: 'ldirectord: IPVS services and health checks' });
    }
    if (hasL4 && m.manager === 'piranha') {
      files.push({ path: '/etc/sysconfig/ha/lvs.cf', content: renderLvsCf(m), mode: 0o600, validator: 'none', description: 'Piranha pulse/lvs/nanny configuration' });
    }
    if (hasNginx) {
      files.push(...nginxFiles(m, d.name));
    }
    if (hasHaproxy) {
      files.push({ path: '/etc/haproxy/haproxy.cfg', content: renderHaproxy(m, d.name), mode: 0o644, validator: 'haproxy', description: 'HAProxy: frontends and backends for the layer-7 services' });
    }
    out.push({ node: d.name, role: hasL4 ? 'director' : 'balancer', files: [...files, ...setup.files], script: setup.script });
  }

  const seen = new Set<string>();
  for (const s of m.services) {
    for (const r of s.realServers) {
      if (seen.has(r.name)) continue;
      seen.add(r.name);
      out.push({ node: r.name, role: 'real-server', ...renderRealServerSetup(m, r.name) });
    }
  }
  for (const h of m.containerHosts) {
    out.push({ node: h.name, role: 'container-host', ...renderContainerHostSetup(m, h.name) });
  }
  return out;
}
