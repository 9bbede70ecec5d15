/**
 * The designs `lvs-lab up --example NAME` starts: the three IPVS modes and a
 * layer-7 balancer, small enough to read, plus the seeds' systems (loaded
 * from fixtures/answers/, which the package ships).
 */
import type { InstallationInput } from '../core/model.js';

const httpCheck = { type: 'http' as const, path: '/', status: 200 };

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
    services: [
      {
        name: 'web',
        vip: '10.0.0.100',
        ports: [80],
        scheduler: 'rr',
        mode: 'nat',
        realServers: [
          { name: 'rs1', address: '10.0.1.11' },
          { name: 'rs2', address: '10.0.1.12' },
        ],
        healthCheck: httpCheck,
      },
    ],
  },
  dr: {
    name: 'example-dr',
    timerProfile: 'fast',
    directors: [
      { name: 'dir1', interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] },
      { name: 'dir2', interfaces: [{ name: 'eth0', address: '10.0.0.2/24' }] },
    ],
    vrrp: { transport: 'unicast' },
    services: [
      {
        name: 'web',
        vip: '10.0.0.100',
        ports: [80],
        scheduler: 'rr',
        mode: 'dr',
        realServers: [
          { name: 'rs1', address: '10.0.0.11' },
          { name: 'rs2', address: '10.0.0.12' },
        ],
        healthCheck: httpCheck,
      },
    ],
  },
  tun: {
    name: 'example-tun',
    directors: [{ name: 'dir1', interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] }],
    services: [
      {
        name: 'web',
        vip: '10.0.0.100',
        ports: [80],
        scheduler: 'rr',
        mode: 'tun',
        realServers: [
          { name: 'rs1', address: '10.0.0.11' },
          { name: 'rs2', address: '10.0.0.12' },
        ],
        healthCheck: { type: 'tcp' },
      },
    ],
  },
  l7: {
    name: 'example-l7',
    directors: [{ name: 'lb1', interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] }],
    services: [
      {
        name: 'web',
        vip: '10.0.0.1',
        ports: [80],
        scheduler: 'rr',
        mode: 'nginx',
        realServers: [
          { name: 'rs1', address: '10.0.0.11' },
          { name: 'rs2', address: '10.0.0.12' },
        ],
        healthCheck: { type: 'none' },
      },
    ],
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
