/**
 * Semantic validation of a normalized installation: every problem at once,
 * each with where it is (a path into the model) and what to do.
 *
 * The checks encode what the kernel and keepalived actually do, not style:
 * each one is a design that looks right on paper and fails on a director.
 */
import { isL4, type Installation, type NormalizedService } from './model.js';
import { addressOf, cidrContains, netmaskToPrefix } from './net.js';
import { MAX_VIPS_PER_INSTANCE } from './normalize.js';
import type { Problem } from './problems.js';

export function validate(m: Installation): Problem[] {
  const out: Problem[] = [];
  const err = (path: string, message: string, hint?: string) =>
    out.push({ severity: 'error', path, message, ...(hint ? { hint } : {}) });
  const warn = (path: string, message: string, hint?: string) =>
    out.push({ severity: 'warning', path, message, ...(hint ? { hint } : {}) });

  const hasL4 = m.services.some((s) => isL4(s.mode));
  const directorAddrs = m.directors.flatMap((d, di) =>
    d.interfaces.flatMap((i, ii) => (i.address ? [{ di, ii, cidr: i.address, iface: i.name, director: d.name }] : [])),
  );
  const hostNames = new Map(m.containerHosts.map((h) => [h.name, h]));

  // --- directors and pairs --------------------------------------------------
  if (m.directors.length === 0) {
    err('directors', 'no director: every service needs a director (or a layer-7 balancer) to run on', 'add a director with its interfaces');
  }
  const seenDirector = new Set<string>();
  m.directors.forEach((d, i) => {
    if (seenDirector.has(d.name)) err(`directors[${i}].name`, `director name "${d.name}" is used twice`, 'give each director its own name');
    seenDirector.add(d.name);
    checkPlatform(d.platform, `directors[${i}].platform`);
    const ifnames = new Set<string>();
    d.interfaces.forEach((f, j) => {
      if (ifnames.has(f.name)) err(`directors[${i}].interfaces[${j}].name`, `interface ${f.name} is listed twice on ${d.name}`);
      ifnames.add(f.name);
    });
    if (d.platform.type === 'openvz-venet' && m.vrrp) {
      err(
        `directors[${i}].platform`,
        `${d.name} is an OpenVZ venet container: venet is a layer-3 device with no MAC, so VRRP and gratuitous ARP cannot move a VIP to it`,
        'give the director a veth interface (openvz-veth) or run it on the host',
      );
    }
  });
  if (m.directors.length === 2 && !m.vrrp && m.manager !== 'piranha') {
    err('vrrp', 'two directors but no VRRP settings: nothing decides which one holds the VIP', 'add a vrrp block (or use one director)');
  }

  if (m.vrrp) {
    const v = m.vrrp;
    if (v.version === 2 && !Number.isInteger(v.advertInt)) {
      err(
        'vrrp.advertInt',
        `advert interval ${v.advertInt}s with VRRP v2: keepalived silently rounds it to whole seconds, so failover takes ~3 s, not ~${Math.round(3 * v.advertInt * 100) / 100} s`,
        'set vrrp.version: 3 for sub-second adverts, or use a whole number of seconds',
      );
    }
    if (v.version === 3 && v.advertInt < 0.01) err('vrrp.advertInt', 'VRRP v3 adverts are in centiseconds: the smallest interval is 0.01 s');
    if (v.version === 3 && v.auth) {
      warn('vrrp.auth', 'VRRP v3 has no authentication (RFC 5798): keepalived ignores it', 'remove vrrp.auth, or use version 2');
    }
    if (m.directors.length === 2) {
      const [a, b] = m.directors;
      if (a!.priority !== undefined && b!.priority !== undefined && a!.priority <= b!.priority) {
        err(
          'directors[1].priority',
          `the master ${a!.name} has priority ${a!.priority}, not above the backup ${b!.name} (${b!.priority}): both may claim MASTER or the wrong one wins`,
          `give ${a!.name} a higher priority than ${b!.name} (e.g. 150 and 100)`,
        );
      }
      if (v.transport === 'unicast') {
        m.directors.forEach((d, i) => {
          if (!d.interfaces.some((f) => f.address)) {
            warn(`directors[${i}].interfaces`, `unicast VRRP needs ${d.name}'s address to name it as the peer`, 'add the interface address');
          }
        });
      }
    }
    if (v.transport === 'multicast') {
      m.directors.forEach((d, i) => {
        if (d.platform.type === 'openvz-venet') {
          err(`directors[${i}].platform`, `${d.name} is on OpenVZ venet, which carries no multicast: VRRP adverts never arrive`, 'use vrrp.transport: unicast');
        }
      });
    }
    const seenVrid = new Map<string, number>();
    v.instances.forEach((inst, i) => {
      const p = `vrrp.instances[${i}]`;
      if (inst.vrid < 1 || inst.vrid > 255) {
        err(`${p}.vrid`, `virtual_router_id ${inst.vrid} is outside 1..255`, 'pick a VRID from 1 to 255 that no other VRRP router on this segment uses');
      }
      if (inst.addresses.length > MAX_VIPS_PER_INSTANCE) {
        err(
          `${p}.addresses`,
          `${inst.addresses.length} addresses in one VRRP instance: an advert lists at most ${MAX_VIPS_PER_INSTANCE}, keepalived moves the rest out of the packet and warns`,
          'split the addresses over several instances (one VRID each)',
        );
      }
      const key = `${inst.interface}/${inst.vrid}`;
      if (seenVrid.has(key)) {
        err(`${p}.vrid`, `VRID ${inst.vrid} is used by another instance on ${inst.interface}: both share one virtual MAC and fight`, 'give each instance on a segment its own VRID');
      }
      seenVrid.set(key, i);
      m.directors.forEach((d) => {
        if (!d.interfaces.some((f) => f.name === inst.interface)) {
          err(`${p}.interface`, `instance ${inst.name} runs on ${inst.interface}, which director ${d.name} does not have`, `add ${inst.interface} to ${d.name}'s interfaces or change the instance`);
        }
      });
    });
    if (v.syncDaemon && !m.directors.every((d) => d.interfaces.some((f) => f.name === v.syncDaemon!.interface))) {
      err('vrrp.syncDaemon.interface', `sync daemon interface ${v.syncDaemon.interface} is not on every director`);
    }
  }

  // --- NAT gateway ------------------------------------------------------------
  const natServices = m.services.filter((s) => s.mode === 'nat');
  const natAddress = directorNatAddress(m);
  if (m.natRouter && natServices.length === 0) {
    warn('natRouter', 'a NAT router address is set but no service uses NAT', 'remove natRouter');
  }
  if (natServices.length > 0 && m.directors.length === 2 && !m.natRouter) {
    err(
      'natRouter',
      'a NAT director pair needs a floating gateway address for the real servers: with a fixed one, replies go to the dead director after failover',
      'set natRouter: { address: 10.x.x.1/24, interface: eth1 } and make it the real servers\' default gateway',
    );
  }
  if (m.natRouter && m.vrrp) {
    const carried = m.vrrp.instances.some((i) => i.addresses.some((a) => addressOf(a.address) === addressOf(m.natRouter!.address)));
    if (!carried) {
      err('natRouter', `the NAT router address ${m.natRouter.address} is in no VRRP instance: it will not float with the VIP`, 'add it to a vrrp instance\'s addresses');
    }
  }

  // --- services ------------------------------------------------------------
  const vipPorts = new Map<string, string>();
  const marks = new Map<number, string>();
  const rsByName = new Map<string, { address: string; path: string; platform: string }>();
  const directorIps = new Set(directorAddrs.map((d) => addressOf(d.cidr)));

  m.services.forEach((s, si) => {
    const sp = `services[${si}]`;
    const l4 = isL4(s.mode);

    if (s.fwmark !== undefined) {
      if (marks.has(s.fwmark)) err(`${sp}.fwmark`, `firewall mark ${s.fwmark} is also used by service ${marks.get(s.fwmark)}`, 'use one mark per IPVS service');
      marks.set(s.fwmark, s.name);
      if (!l4) err(`${sp}.fwmark`, 'firewall marks bundle ports for IPVS; a layer-7 balancer listens on each port itself', 'remove fwmark');
    } else if (s.ports.length > 1) {
      err(`${sp}.ports`, `${s.ports.length} ports without a firewall mark: one IPVS service has one port`, `bundle them with fwmark (e.g. fwmark: ${s.ports[0]}) or describe one service per port`);
    }
    const portSet = new Set<number>();
    s.ports.forEach((p, pi) => {
      if (portSet.has(p)) err(`${sp}.ports[${pi}]`, `port ${p} is listed twice`);
      portSet.add(p);
      const key = `${s.protocol}/${s.vip}:${p}`;
      if (vipPorts.has(key)) {
        err(`${sp}.ports[${pi}]`, `${s.protocol.toUpperCase()} ${s.vip}:${p} is also served by ${vipPorts.get(key)}`, 'each VIP:port belongs to one service');
      }
      vipPorts.set(key, s.name);
    });

    if (l4 && directorIps.has(s.vip)) {
      err(`${sp}.vip`, `VIP ${s.vip} is a director's own address: it cannot float and the director answers for it itself`, 'pick an unused address for the VIP');
    }
    if (!l4 && m.vrrp && directorIps.has(s.vip)) {
      err(`${sp}.vip`, `VIP ${s.vip} is a balancer's own address, but a VRRP pair must float the VIP`, 'pick an unused address for the VIP');
    }
    if (s.vip === '0.0.0.0' && l4) err(`${sp}.vip`, 'an IPVS service needs a real VIP, not 0.0.0.0');

    if (s.persistence?.netmask !== undefined && netmaskToPrefix(s.persistence.netmask) === undefined) {
      err(`${sp}.persistence.netmask`, `${s.persistence.netmask} is not a contiguous netmask`, 'use a mask like 255.255.255.0');
    }
    if (s.protocol === 'udp' && s.persistence && !m.ipvsSysctls.expireQuiescentTemplate) {
      warn(
        `${sp}.persistence`,
        'persistent UDP service without net.ipv4.vs.expire_quiescent_template: clients stay stuck to a dead real server while the template lives',
        'set ipvsSysctls.expireQuiescentTemplate: true',
      );
    }

    if (!l4) {
      if (!['rr', 'wrr', 'lc', 'wlc', 'sh'].includes(s.scheduler)) {
        err(`${sp}.scheduler`, `${s.mode} cannot balance with ${s.scheduler}`, 'use rr/wrr (round robin), lc/wlc (least connections) or sh (source hash)');
      }
      if (s.persistence) warn(`${sp}.persistence`, `IPVS persistence does not apply to ${s.mode}`, 'use sh (source hashing) for stickiness');
      if (s.mode === 'haproxy' && s.protocol === 'udp') err(`${sp}.protocol`, 'HAProxy does not balance UDP', 'use nginx (stream) or LVS');
    }
    if (l4 && s.hostPortMap) warn(`${sp}.hostPortMap`, 'a host port map forwards to a layer-7 balancer; an IPVS VIP is reached directly');
    if (s.hostPortMap && !hostNames.has(s.hostPortMap.host)) {
      err(`${sp}.hostPortMap.host`, `no container host named ${s.hostPortMap.host}`, 'add it to containerHosts');
    }
    if (s.sorryServer && s.fwmark !== undefined && s.sorryServer.port !== undefined) {
      err(`${sp}.sorryServer.port`, 'a sorry server of a firewall-mark service takes no port (keepalived rejects it)', 'remove the port');
    }
    if (l4 && s.fwmark !== undefined && s.persistence && s.mode === 'nat' && s.realServers.some((r) => r.port !== 0)) {
      warn(
        `${sp}.realServers`,
        `persistent firewall-mark NAT service: the kernel keeps the client's port (${s.ports.join(', ')}) and ignores the real servers' port ${s.realServers.find((r) => r.port !== 0)!.port}; each real server must listen on every bundled port`,
        'use port 0 to say so, or drop persistence if the port should be rewritten',
      );
    }
    if (l4 && s.fwmark !== undefined && s.healthCheck.type === 'tcp' && s.healthCheck.port === undefined && s.realServers.some((r) => r.port === 0)) {
      err(`${sp}.healthCheck.port`, 'real servers with port 0 keep the client\'s port, so a TCP check does not know which port to try', `set healthCheck.port (e.g. ${s.ports[0]})`);
    }
    if (s.realServers.length === 0) warn(`${sp}.realServers`, 'no real servers: every connection is refused (or goes to the sorry server)');
    else if (s.realServers.every((r) => r.weight === 0)) {
      const say = l4 && m.manager === 'keepalived' ? err : warn;
      say(
        `${sp}.realServers`,
        `every real server of ${s.name} has weight 0: no new connection goes anywhere${l4 && m.manager === 'keepalived' ? ' (keepalived -t warns about the quorum)' : ''}`,
        'give at least one real server a weight above 0',
      );
    }

    const seenRs = new Set<string>();
    s.realServers.forEach((r, ri) => {
      const rp = `${sp}.realServers[${ri}]`;
      checkPlatform(r.platform, `${rp}.platform`);
      const key = `${r.address}:${r.port}`;
      if (seenRs.has(key)) err(rp, `real server ${key} is listed twice in ${s.name}`);
      seenRs.add(key);
      const known = rsByName.get(r.name);
      if (known && known.address !== r.address) {
        err(`${rp}.name`, `${r.name} is ${known.address} at ${known.path} but ${r.address} here`, 'one name, one machine');
      } else if (known && known.platform !== r.platform.type) {
        err(`${rp}.platform`, `${r.name} is ${known.platform} at ${known.path} but ${r.platform.type} here`);
      } else if (!known) rsByName.set(r.name, { address: r.address, path: rp, platform: r.platform.type });

      if (r.address === s.vip) err(`${rp}.address`, `real server address ${r.address} is the VIP`, 'a real server needs its own address (RIP)');
      if (directorIps.has(r.address)) {
        warn(`${rp}.address`, `real server ${r.address} is a director's own address (director as its own real server needs extra care: rp_filter, accept_local)`);
      }
      if (r.port === 0 && s.fwmark === undefined) err(`${rp}.port`, 'port 0 (keep the client\'s port) is only for firewall-mark services');

      if (s.mode === 'dr' || s.mode === 'tun') {
        if (s.fwmark === undefined && r.port !== s.ports[0]) {
          err(
            `${rp}.port`,
            `${s.mode.toUpperCase()} cannot change the port: packets reach ${r.name} on ${s.ports[0]}, not ${r.port}`,
            `make the real server listen on ${s.ports[0]} (port: ${s.ports[0]}), or use NAT`,
          );
        }
        if (s.fwmark !== undefined && r.port !== 0 && !s.ports.includes(r.port)) {
          warn(`${rp}.port`, `${s.mode.toUpperCase()} does not rewrite ports; port ${r.port} is ignored`, 'use port 0');
        }
      }
      if (s.mode === 'dr') {
        if (r.platform.type === 'openvz-venet') {
          err(
            `${rp}.platform`,
            `${r.name} is an OpenVZ venet container: DR rewrites only the destination MAC and venet has none, so the host cannot tell which container gets the frame`,
            'use TUN (seed 002) or give the container a veth interface',
          );
        }
        if (directorAddrs.length === 0) {
          warn(`${rp}.address`, 'the directors\' addresses are unknown, so DR\'s same-L2 rule cannot be checked', 'add the director interface addresses');
        } else {
          m.directors.forEach((d) => {
            if (d.interfaces.some((f) => f.address) && !d.interfaces.some((f) => f.address && cidrContains(f.address, r.address))) {
              err(
                `${rp}.address`,
                `${r.name} (${r.address}) is not on any of ${d.name}'s subnets: DR forwards by MAC, so real servers must share an L2 segment with the director`,
                `put ${r.name} on ${d.interfaces.map((f) => f.address).filter(Boolean).join(' or ')}, or use TUN`,
              );
            }
          });
        }
      }
      if (s.mode === 'nat') {
        // Only without persistence: ip_vs_schedule() sends to dest->port when it is set, but the
        // persistent path (ip_vs_sched_persist) keeps the packet's port unless it equals the
        // service's port, which is 0 for fwmark. Seen in the lab: seed 004 (persistent) reaches :443.
        if (s.fwmark !== undefined && !s.persistence && r.port !== 0 && s.ports.some((p) => p !== r.port)) {
          const others = s.ports.filter((p) => p !== r.port).join(', ');
          warn(
            `${rp}.port`,
            `NAT rewrites every bundled port to ${r.port}: connections to ${others} reach ${r.name} on port ${r.port}`,
            'use port 0 to keep the client\'s destination port',
          );
        }
        if (natAddress && r.gateway !== undefined && r.gateway !== natAddress) {
          err(
            `${rp}.gateway`,
            `${r.name}'s gateway is ${r.gateway}, not the director's NAT address ${natAddress}: replies bypass the director, are never un-NATed and the client drops them`,
            `route ${r.name}'s default via ${natAddress}`,
          );
        }
        if (!natAddress && r.gateway !== undefined && !directorIps.has(r.gateway)) {
          err(`${rp}.gateway`, `${r.name}'s gateway ${r.gateway} is not a director address: NAT replies would bypass the director`);
        }
        const gwCidr = natCidr(m);
        if (gwCidr && !cidrContains(gwCidr, r.address)) {
          warn(`${rp}.address`, `${r.name} (${r.address}) is not on the NAT gateway's subnet: it needs a route back through the director`);
        }
      }
      if (s.mode === 'tun' && r.platform.type === 'openvz-venet') {
        warn(
          `${rp}.platform`,
          `${r.name} on OpenVZ venet: TUN needs the ipip feature (vzctl set --feature ipip:on), the VIP added with --ipadd and its venet route removed on the host`,
          'the generated container-host setup does all three',
        );
      }
    });
  });

  // Same VIP used with different modes cannot share VRRP/ARP semantics cleanly.
  checkVipModes(m.services, warn);

  if (!hasL4 && m.manager !== 'keepalived' && m.services.length > 0) {
    warn('manager', `manager ${m.manager} manages IPVS, but every service is layer 7`, 'use manager: keepalived (VRRP for the VIP)');
  }
  return out;

  function checkPlatform(p: Installation['directors'][number]['platform'], path: string): void {
    if (p.type === 'host') {
      if (p.host !== undefined) warn(`${path}.host`, 'a bare host has no container host');
      return;
    }
    if (p.host === undefined) {
      warn(`${path}.host`, `a ${p.type} container without its host: modules, venet routes and the ipip feature live there`, 'name its container host');
    } else {
      const h = hostNames.get(p.host);
      const want = p.type.startsWith('openvz') ? 'openvz' : p.type;
      if (!h) err(`${path}.host`, `no container host named ${p.host}`, `add { name: ${p.host}, kind: ${want} } to containerHosts`);
      else if (h.kind !== want) err(`${path}.host`, `${p.host} runs ${h.kind}, not ${want}`);
    }
    if (p.type.startsWith('openvz') && p.ctid === undefined) err(`${path}.ctid`, 'an OpenVZ container needs its CTID', 'add ctid: 101');
    if (!p.type.startsWith('openvz') && p.ctid !== undefined) warn(`${path}.ctid`, `a CTID means nothing to ${p.type}`);
  }
}

function checkVipModes(services: NormalizedService[], warn: (path: string, message: string, hint?: string) => void): void {
  const modes = new Map<string, string>();
  services.forEach((s, i) => {
    const prev = modes.get(s.vip);
    if (prev && prev !== s.mode && (isL4(s.mode) !== isL4(prev as NormalizedService['mode']))) {
      warn(`services[${i}].mode`, `VIP ${s.vip} is balanced by IPVS and by ${isL4(s.mode) ? prev : s.mode}: IPVS takes the packets first`);
    }
    modes.set(s.vip, s.mode);
  });
}

/**
 * The director's NAT address, which every NAT real server must route through:
 * the floating NAT router of a pair, or the single director's own address on
 * the real servers' side. (A real server's own gateway, with its fallbacks, is
 * natGateway() in render/real-server.ts.)
 */
export function directorNatAddress(m: Installation): string | undefined {
  if (m.natRouter) return addressOf(m.natRouter.address);
  if (m.directors.length !== 1) return undefined;
  const rs = m.services.find((s) => s.mode === 'nat')?.realServers[0];
  if (!rs) return undefined;
  const f = m.directors[0]!.interfaces.find((i) => i.address && cidrContains(i.address, rs.address));
  return f?.address ? addressOf(f.address) : undefined;
}

function natCidr(m: Installation): string | undefined {
  if (m.natRouter) return m.natRouter.address;
  const gw = directorNatAddress(m);
  return m.directors[0]?.interfaces.find((i) => i.address && addressOf(i.address) === gw)?.address;
}
