/**
 * The designs `lvs-lab up --example NAME` starts: the three IPVS modes and a
 * layer-7 balancer, small enough to read, plus the seeds' systems (loaded
 * from fixtures/answers/, which the package ships).
 */
import type { InstallationInput } from '../core/model.js';

type ServiceInput = InstallationInput['services'][number];

/** Two web servers rs1 and rs2 at .11 and .12 of `net` (e.g. "10.0.1"). */
function webServers(net: string): ServiceInput['realServers'] {
  return [
    { name: 'rs1', address: `${net}.11` },
    { name: 'rs2', address: `${net}.12` },
  ];
}

/** The one service every example balances: HTTP on port 80, round robin. */
function web(vip: string, mode: ServiceInput['mode'], rsNet: string, healthCheck: ServiceInput['healthCheck']): ServiceInput[] {
  return [{ name: 'web', vip, ports: [80], scheduler: 'rr', mode, realServers: webServers(rsNet), healthCheck }];
}

/** A one-arm node on 10.0.0.0/24. */
const oneArm = (name: string, host: number) => ({ name, interfaces: [{ name: 'eth0', address: `10.0.0.${host}/24` }] });

export const EXAMPLES: Record<'nat' | 'dr' | 'tun' | 'l7', InstallationInput> = {
  nat: {
    name: 'example-nat',
    directors: [
      {
        name: 'dir1',
        interfaces: [
          { name: 'eth0', address: '10.0.0.1/24' },
          { name: 'eth1', address: '10.0.1.1/24' },
        ],
      },
    ],
    services: web('10.0.0.100', 'nat', '10.0.1', { type: 'http', path: '/', status: 200 }),
  },
  dr: {
    name: 'example-dr',
    timerProfile: 'fast',
    directors: [oneArm('dir1', 1), oneArm('dir2', 2)],
    vrrp: { transport: 'unicast' },
    services: web('10.0.0.100', 'dr', '10.0.0', { type: 'http', path: '/', status: 200 }),
  },
  tun: {
    name: 'example-tun',
    directors: [oneArm('dir1', 1)],
    services: web('10.0.0.100', 'tun', '10.0.0', { type: 'tcp' }),
  },
  l7: {
    name: 'example-l7',
    directors: [oneArm('lb1', 1)],
    services: web('10.0.0.1', 'nginx', '10.0.0', { type: 'none' }),
  },
};

/** `--example seed-000` etc.: the answers files of the seeds' systems. */
export const SEED_EXAMPLES: Record<string, string> = {
  'seed-000': 'seed-000-dr-pair.yaml',
  'seed-000-l7': 'seed-000-nginx-pair.yaml',
  'seed-002': 'seed-002-tun-openvz.yaml',
  'seed-003': 'seed-003-nginx-lxd.yaml',
  'seed-004': 'seed-004-nat-fwmark.yaml',
};

export const EXAMPLE_NAMES = [...Object.keys(EXAMPLES), ...Object.keys(SEED_EXAMPLES)];
