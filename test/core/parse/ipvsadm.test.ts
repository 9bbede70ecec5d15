import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { ipvsadmFlavour, parseIpvsadm, projectIpvsadm } from '../../../src/core/parse/ipvsadm.js';
import { renderIpvsadm } from '../../../src/core/render/ipvsadm.js';
import { L4_SEEDS, configText, loadAnswers } from '../../helpers/fixtures.js';
import { parsedModel, problemTexts } from '../../helpers/parse-result.js';

describe('parseIpvsadm on the users\' output', () => {
  it('seed 004: ipvsadm -Sn gives the seed-004 service as the table holds it', () => {
    const r = parseIpvsadm(configText('seeds/seed-004-ipvsadm.txt'), { file: 'seed-004-ipvsadm.txt' });
    const m = parsedModel(r);
    expect(m).toEqual(projectIpvsadm(loadAnswers('seed-004-nat-fwmark')));
    expect(m.services[0]).toMatchObject({ fwmark: 80, scheduler: 'wlc', persistence: { timeout: 30 }, mode: 'nat', ports: [80] });
    expect(m.services[0]!.realServers.map((s) => `${s.address}:${s.port}`)).toEqual(['10.8.8.33:80', '10.8.8.34:80']);
    expect(problemTexts(r)).toEqual([
      'warning: seed-004-ipvsadm.txt:1:1: firewall mark 80: the table does not say its VIP or ports; imported with VIP 0.0.0.0 and ports 80\n    fix: set the VIP and the marked ports in the model before generating other files',
    ]);
  });

  it('seed 004: the ipvsadm -ln listing from the story gives the same model as -Sn', () => {
    const listing = configText('ipvsadm/seed-004-listing.txt');
    expect(ipvsadmFlavour(listing)).toBe('listing');
    expect(parsedModel(parseIpvsadm(listing, { file: 'l' }))).toEqual(parsedModel(parseIpvsadm(configText('seeds/seed-004-ipvsadm.txt'), { file: 's' })));
  });

  it('reads a listing with TCP, UDP and FWM services, masks and weights', () => {
    const m = parsedModel(parseIpvsadm(configText('ipvsadm/listing.txt'), { file: 'listing.txt' }));
    expect(m.services.map((s) => `${s.name} ${s.protocol} ${s.vip}:${s.ports.join(',')} ${s.mode} ${s.scheduler} ${JSON.stringify(s.persistence ?? null)}`)).toEqual([
      'tcp-10.10.1.30-80 tcp 10.10.1.30:80 nat wlc {"timeout":30,"netmask":"255.255.255.0"}',
      'udp-10.10.1.30-53 udp 10.10.1.30:53 dr rr null',
      'fwmark-80 tcp 0.0.0.0:80 nat wlc {"timeout":30}',
    ]);
    expect(m.services[0]!.realServers.map((r) => r.weight)).toEqual([1, 2]);
  });

  it('ipvsadm-save without -n: port names are read, a host name is an error that says to use -n', () => {
    const r = parseIpvsadm(configText('ipvsadm/names.rules'), { file: 'names.rules' });
    expect(problemTexts(r)).toEqual([
      'error: names.rules:5:7: virtual service: "www.example.com" is a host name; an import cannot resolve names\n    fix: save the table with numeric addresses: ipvsadm -Sn (or ipvsadm-save -n, ipvsadm -Ln)',
    ]);
    const ok = parseIpvsadm(configText('ipvsadm/names.rules').split('\n').slice(0, 4).join('\n'), { file: 'names.rules' });
    expect(parsedModel(ok).services.map((s) => `${s.protocol} ${s.ports[0]} ${s.realServers[0]!.port} ${s.mode} ${s.persistence?.timeout ?? '-'}`)).toEqual(['tcp 80 80 nat 300', 'udp 53 53 dr -']);
  });
});

describe('round trip: parseIpvsadm(renderIpvsadm(m)) = projectIpvsadm(m)', () => {
  for (const name of L4_SEEDS) {
    it(name, () => {
      const m = loadAnswers(name);
      expect(parsedModel(parseIpvsadm(renderIpvsadm(m), { file: 'rules' }))).toEqual(projectIpvsadm(m));
    });
  }

  it('a multi-port service, UDP, a mask and a port-0 fwmark service', () => {
    const m = loadAnswers('seed-000-dr-pair');
    const s = m.services[0]!;
    const changed: Installation = {
      ...m,
      services: [
        { ...s, ports: [80, 8080], persistence: { timeout: 50, netmask: '255.255.255.0' } },
        { ...s, name: 'dns', protocol: 'udp', ports: [53], realServers: s.realServers.map((r) => ({ ...r, port: 53 })) },
        { ...s, name: 'fw', fwmark: 7, mode: 'nat', realServers: [{ ...s.realServers[0]!, port: 0 }] },
      ],
    };
    const parsed = parsedModel(parseIpvsadm(renderIpvsadm(changed), { file: 'rules' }));
    expect(parsed).toEqual(projectIpvsadm(changed));
    expect(parsed.services.map((x) => x.name)).toEqual(['tcp-10.0.3.250-80', 'tcp-10.0.3.250-8080', 'udp-10.0.3.250-53', 'fwmark-7']);
  });
});

describe('malformed ipvsadm input: positioned problems, never a throw', () => {
  it('a truncated line: the option that lacks its value', () => {
    expect(problemTexts(parseIpvsadm(configText('ipvsadm/truncated.rules'), { file: 't' }))).toEqual(['error: t:2:40: -w needs a value']);
  });

  it('a bad IP is an error at the address', () => {
    expect(problemTexts(parseIpvsadm(configText('ipvsadm/bad-ip.rules'), { file: 'b' }))).toEqual(['error: b:2:24: real server: "10.0.0.311" is not an IPv4 address']);
  });

  it('an unknown option is an error at its column; -x is a warning (not kept)', () => {
    expect(problemTexts(parseIpvsadm(configText('ipvsadm/unknown-option.rules'), { file: 'u' }))).toEqual([
      'error: u:1:28: unexpected "--frobnicate": expected an option of ipvsadm -S output (-A, -a, -t, -u, -f, -s, -p, -M, -r, -g, -m, -i, -w)',
      'warning: u:2:45: -x 100 is not kept: the model has no place for it',
      'error: u:2:7: -a for 10.0.0.100:80, but no -A added that virtual service above\n    fix: ipvsadm-restore needs the -A line before its -a lines',
    ]);
  });

  it('real servers with different forwarding methods are an error at the odd one', () => {
    const r = parseIpvsadm(configText('ipvsadm/mixed-forwarding.rules'), { file: 'm' });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.problems.map((p) => p.source)).toEqual([{ file: 'm', line: 3, column: 1 }]);
    expect(problemTexts(r)[0]).toContain('different forwarding methods (dr, nat)');
  });

  it('a listing line with an unknown forwarding word', () => {
    const r = parseIpvsadm('TCP  10.0.0.1:80 wlc\n  -> 10.0.0.2:80  Bridge 1 0 0\n', { file: 'l' });
    expect(problemTexts(r)).toEqual(['error: l:2:19: unknown forwarding method "Bridge"; expected Masq, Route, Tunnel or Local']);
  });

  it('binary junk is one error at the first binary byte', () => {
    expect(problemTexts(parseIpvsadm('-A -t 10.0.0.1:80 -s rr\n\u0000\u0001\u0002', { file: 'j' }))).toEqual([
      'error: j:2:1: binary data: expected the text of ipvsadm -Sn or ipvsadm -Ln',
    ]);
  });

  it('10 MB of rules parses in bounded time; 10 MB of junk stops after a bounded number of problems', () => {
    const rules: string[] = [];
    for (let i = 0; rules.length * 45 < 10 * 1000 * 1000; i++) {
      const vip = `10.${(i >> 8) & 255}.${i & 255}.1`;
      rules.push(`-A -t ${vip}:80 -s wlc`, `-a -t ${vip}:80 -r 10.200.${(i >> 8) & 255}.${i & 255}:80 -m -w 1`);
      if (i >= 65535) break;
    }
    const big = parsedModel(parseIpvsadm(`${rules.join('\n')}\n`, { file: 'big' }));
    expect(big.services.length).toBe(rules.length / 2);
    const junk = parseIpvsadm('-Q what is this\n'.repeat(700000), { file: 'junk' });
    expect(junk.ok ? [] : junk.problems).toHaveLength(101);
  });
});
