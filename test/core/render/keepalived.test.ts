/**
 * keepalived.conf renderer: golden files for the seeds, each accepted by the
 * real `keepalived -t` (exit 0, no warning) in a throw-away netns, and the
 * MASTER/BACKUP pair agreeing with itself.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Installation } from '../../../src/core/model.js';
import { KEEPALIVED_CONF_PATH, keepalivedScriptCommand, renderKeepalived, sendExpectArgv } from '../../../src/core/render/keepalived.js';
import { loadAnswers } from '../../helpers/fixtures.js';
import { expectGolden } from '../../helpers/golden.js';
import { runIn, withNetns } from '../../helpers/netns.js';
import { keepalivedCheck } from '../../helpers/validators.js';

const CASES: { seed: string; nodes: string[] }[] = [
  { seed: 'seed-000-dr-pair', nodes: ['lb1', 'lb2'] },
  { seed: 'seed-000-nginx-pair', nodes: ['lb1', 'lb2'] },
  { seed: 'seed-004-nat-fwmark', nodes: ['lvs-01', 'lvs-02'] },
  { seed: 'seed-002-tun-openvz', nodes: ['lvs'] },
];

/** Interfaces a config names (keepalived -t insists they exist). */
function interfacesOf(conf: string): string[] {
  const names = new Set<string>(['eth0']);
  for (const m of conf.matchAll(/^\s*interface (\S+)$/gm)) names.add(m[1]!);
  for (const m of conf.matchAll(/ dev (\S+)$/gm)) names.add(m[1]!);
  for (const m of conf.matchAll(/^\s*lvs_sync_daemon (\S+)/gm)) names.add(m[1]!);
  return [...names];
}

describe('renderKeepalived: seeds', () => {
  for (const { seed, nodes } of CASES) {
    for (const node of nodes) {
      it(`${seed} ${node}: matches the golden file and passes keepalived -t`, async () => {
        const conf = renderKeepalived(loadAnswers(seed), node);
        expectGolden(join('keepalived', seed, node, KEEPALIVED_CONF_PATH), conf);
        const r = await withNetns(interfacesOf(conf), (ns) => keepalivedCheck(ns, conf));
        expect(r.stderr, `keepalived -t said:\n${r.stderr}`).toBe('');
        expect(r.exitCode, `keepalived -t exit ${r.exitCode}:\n${r.stderr}`).toBe(0);
      });
    }
  }
});

function field(conf: string, key: string): string[] {
  return [...conf.matchAll(new RegExp(`^\\s*${key} (.+)$`, 'gm'))].map((m) => m[1]!);
}
function block(conf: string, name: string): string[] {
  const m = new RegExp(`${name} \\{\\n([\\s\\S]*?)\\n\\s*\\}`).exec(conf);
  return m ? m[1]!.split('\n').map((l) => l.trim()) : [];
}

describe('renderKeepalived: a MASTER/BACKUP pair agrees', () => {
  for (const seed of ['seed-000-dr-pair', 'seed-000-nginx-pair', 'seed-004-nat-fwmark']) {
    it(seed, () => {
      const m = loadAnswers(seed);
      const [a, b] = m.directors.map((d) => renderKeepalived(m, d.name));
      expect(field(a!, 'state')).toEqual(['MASTER']);
      expect(field(b!, 'state')).toEqual(['BACKUP']);
      expect(field(a!, 'virtual_router_id')).toEqual(field(b!, 'virtual_router_id'));
      expect(block(a!, 'virtual_ipaddress')).toEqual(block(b!, 'virtual_ipaddress'));
      expect(block(a!, 'virtual_ipaddress').length).toBeGreaterThan(0);
      expect(Number(field(a!, 'priority')[0])).toBeGreaterThan(Number(field(b!, 'priority')[0]));
      if (m.vrrp?.transport !== 'multicast') {
        expect(block(a!, 'unicast_peer')).toEqual(field(b!, 'unicast_src_ip'));
        expect(block(b!, 'unicast_peer')).toEqual(field(a!, 'unicast_src_ip'));
        expect(field(a!, 'unicast_src_ip')).toHaveLength(1);
      }
      // Everything but the VRRP role lines is the same on both directors.
      const strip = (s: string) => s.split('\n').filter((l) => !/^\s*(state|priority|router_id|unicast_src_ip|!)/.test(l) && !/^\s+\d+\.\d+\.\d+\.\d+$/.test(l));
      expect(strip(a!)).toEqual(strip(b!));
    });
  }

  it('nopreempt puts both directors in BACKUP, and v3 drops authentication and writes version 3 in the instance', () => {
    const m = loadAnswers('seed-000-dr-pair');
    const v: Installation = { ...m, vrrp: { ...m.vrrp!, nopreempt: true, version: 3, advertInt: 0.1 } };
    const a = renderKeepalived(v, 'lb1');
    expect(field(a, 'state')).toEqual(['BACKUP']);
    expect(a).toMatch(/^\s+nopreempt$/m);
    expect(a).toMatch(/^\s+version 3$/m);
    expect(a).not.toMatch(/auth|vrrp_version/);
    expect(field(a, 'advert_int')).toEqual(['0.1']);
  });
});

describe('renderKeepalived: one statement per line', () => {
  it('never puts a statement after "{" or before "}" on one line', () => {
    for (const { seed, nodes } of CASES) {
      for (const node of nodes) {
        for (const line of renderKeepalived(loadAnswers(seed), node).split('\n')) {
          expect(line, `${seed}/${node}`).toMatch(/^\s*([^{}]*[^\s{}][^{}]* \{|\}|[^{}]*)$/);
        }
      }
    }
  });
});

describe('MISC_CHECK arguments survive keepalived quoting', () => {
  it('the real keepalived hands the send/expect script exactly our arguments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvst-args-'));
    chmodSync(dir, 0o755);
    try {
      const out = join(dir, 'args.txt');
      const dump = join(dir, 'dump.sh');
      writeFileSync(dump, `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a" >> ${out}; done\nexit 0\n`);
      chmodSync(dump, 0o755);
      const check = { type: 'send-expect' as const, send: `GET / HTTP/1.0\r\n\r\nit's "x" \\ #!{}`, expect: "it's", regex: false };
      const argv = sendExpectArgv(check, '10.0.0.2', 80, 6);
      // vrrp_script and MISC_CHECK's misc_path are read by the same script parser; a vrrp_script runs without IPVS.
      const conf = `global_defs {\n    enable_script_security\n    script_user root\n}\nvrrp_script A {\n    script ${keepalivedScriptCommand([dump, ...argv.slice(1)])}\n    interval 100\n}\nvrrp_instance VI_1 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        10.0.0.100/32\n    }\n    track_script {\n        A\n    }\n}\n`;
      const file = join(dir, 'k.conf');
      writeFileSync(file, conf);
      await withNetns(['eth0'], (ns) => {
        const r = runIn(ns, ['timeout', '3', 'keepalived', '-n', '-l', '-D', '-f', file, '-p', join(dir, 'a.pid'), '-r', join(dir, 'b.pid'), '-c', join(dir, 'c.pid')]);
        expect(existsSync(out), r.stdout + r.stderr).toBe(true);
      });
      const got = readFileSync(out, 'utf8').split('\0').slice(0, -1);
      expect(got).toEqual(argv.slice(1));
      expect(got[3]).toBe('GET / HTTP/1.0\\r\\n\\r\\nit\\0047s "x" \\\\ #!{}');
      expect(got.slice(4)).toEqual(['it.s', 'regex']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderKeepalived: the features the seeds leave out', () => {
  it('HTTP_GET, sorry server, inhibit_on_failure, lvs_sync_daemon, a sync group, v3 and a script check pass keepalived -t', async () => {
    const conf = renderKeepalived(loadAnswers('../configs/keepalived/rich-features'), 'lb2');
    expect(conf).toMatch(/^\s+lvs_sync_daemon eth0 VI_1 id 9$/m);
    expect(conf).toMatch(/vrrp_sync_group VG_1 \{\n\s+group \{\n\s+VI_1\n\s+VI_2\n/);
    expect(conf).toMatch(/^\s+192\.168\.7\.1\/24 dev eth1$/m);
    expect(conf).toMatch(/^\s+misc_path "\/usr\/local\/bin\/check \\"app\\" --fast"$/m);
    const r = await withNetns(interfacesOf(conf), (ns) => keepalivedCheck(ns, conf));
    expect(r.stderr, `keepalived -t said:\n${r.stderr}`).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
