import { describe, expect, it } from 'vitest';
import { renderIpvsadm } from '../../../src/core/render/ipvsadm.js';
import { L4_SEEDS, configText, loadAnswers } from '../../helpers/fixtures.js';
import { expectGolden } from '../../helpers/golden.js';

describe('renderIpvsadm', () => {
  for (const name of L4_SEEDS) {
    it(`${name}: matches fixtures/golden/ipvsadm/${name}.rules`, () => {
      expectGolden(`ipvsadm/${name}.rules`, renderIpvsadm(loadAnswers(name)));
    });
  }

  it('seed 004: the same lines ipvsadm -Sn printed on the user\'s director', () => {
    const saved = configText('seeds/seed-004-ipvsadm.txt');
    expect(renderIpvsadm(loadAnswers('seed-004-nat-fwmark'))).toBe(saved);
  });

  it('seed 002 (TUN): real servers end in --tun-type ipip, as ipvsadm 1.31 prints them', () => {
    expect(renderIpvsadm(loadAnswers('seed-002-tun-openvz'))).toBe(
      '-A -t 192.168.10.100:80 -s wlc\n' +
        '-a -t 192.168.10.100:80 -r 192.168.10.21:80 -i -w 1 --tun-type ipip\n' +
        '-a -t 192.168.10.100:80 -r 192.168.10.22:80 -i -w 1 --tun-type ipip\n',
    );
  });

  it('a multi-port service without a mark is one virtual service per port; -M only for a real mask; fwmark port 0 prints :0', () => {
    const m = loadAnswers('seed-000-dr-pair');
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
    expect(renderIpvsadm(loadAnswers('seed-003-nginx-lxd'))).toBe('');
  });
});
