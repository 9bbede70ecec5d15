import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Installation } from '../../../src/core/model.js';
import { normalize } from '../../../src/core/normalize.js';
import { renderIpvsadm } from '../../../src/core/render/ipvsadm.js';

const ROOT = join(import.meta.dirname, '../../..');
const SEEDS = ['seed-000-dr-pair', 'seed-002-tun-openvz', 'seed-004-nat-fwmark'] as const;

function seed(name: string): Installation {
  const n = normalize(parseYaml(readFileSync(join(ROOT, 'fixtures/answers', `${name}.yaml`), 'utf8')));
  if (!n.ok) throw new Error(`${name}: ${JSON.stringify(n.problems)}`);
  return n.model;
}

function golden(rel: string, actual: string): void {
  const path = join(ROOT, 'fixtures/golden', rel);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(actual, `golden ${rel} (refresh with UPDATE_GOLDEN=1)`).toBe(readFileSync(path, 'utf8'));
}

describe('renderIpvsadm', () => {
  for (const name of SEEDS) {
    it(`${name}: matches fixtures/golden/ipvsadm/${name}.rules`, () => {
      golden(`ipvsadm/${name}.rules`, renderIpvsadm(seed(name)));
    });
  }

  it('seed 004: the same lines ipvsadm -Sn printed on the user\'s director', () => {
    const saved = readFileSync(join(ROOT, 'fixtures/configs/seeds/seed-004-ipvsadm.txt'), 'utf8');
    expect(renderIpvsadm(seed('seed-004-nat-fwmark'))).toBe(saved);
  });

  it('seed 002 (TUN): real servers end in --tun-type ipip, as ipvsadm 1.31 prints them', () => {
    expect(renderIpvsadm(seed('seed-002-tun-openvz'))).toBe(
      '-A -t 192.168.10.100:80 -s wlc\n' +
        '-a -t 192.168.10.100:80 -r 192.168.10.21:80 -i -w 1 --tun-type ipip\n' +
        '-a -t 192.168.10.100:80 -r 192.168.10.22:80 -i -w 1 --tun-type ipip\n',
    );
  });

  it('a multi-port service without a mark is one virtual service per port; -M only for a real mask; fwmark port 0 prints :0', () => {
    const m = seed('seed-000-dr-pair');
    const s = m.services[0]!;
    const multi = { ...s, ports: [80, 8080], persistence: { timeout: 50, netmask: '255.255.255.0' } };
    const udp = { ...s, name: 'dns', protocol: 'udp' as const, ports: [53], persistence: { timeout: 10, netmask: '255.255.255.255' }, realServers: s.realServers.map((r) => ({ ...r, port: 53 })) };
    const fw = { ...s, name: 'fw', fwmark: 7, persistence: undefined, mode: 'nat' as const, realServers: [{ ...s.realServers[0]!, port: 0 }] };
    expect(renderIpvsadm({ ...m, services: [multi, udp, fw] })).toBe(
      [
        '-A -t 10.0.3.250:80 -s rr -p 50 -M 255.255.255.0',
        '-a -t 10.0.3.250:80 -r 10.0.3.10:80 -g -w 10',
        '-a -t 10.0.3.250:80 -r 10.0.3.20:80 -g -w 10',
        '-A -t 10.0.3.250:8080 -s rr -p 50 -M 255.255.255.0',
        '-a -t 10.0.3.250:8080 -r 10.0.3.10:8080 -g -w 10',
        '-a -t 10.0.3.250:8080 -r 10.0.3.20:8080 -g -w 10',
        '-A -u 10.0.3.250:53 -s rr -p 10',
        '-a -u 10.0.3.250:53 -r 10.0.3.10:53 -g -w 10',
        '-a -u 10.0.3.250:53 -r 10.0.3.20:53 -g -w 10',
        '-A -f 7 -s rr',
        '-a -f 7 -r 10.0.3.10:0 -m -w 10',
        '',
      ].join('\n'),
    );
  });

  it('leaves layer-7 services out', () => {
    const n = normalize(parseYaml(readFileSync(join(ROOT, 'fixtures/answers/seed-003-nginx-lxd.yaml'), 'utf8')));
    if (!n.ok) throw new Error('seed 003');
    expect(renderIpvsadm(n.model)).toBe('');
  });
});
