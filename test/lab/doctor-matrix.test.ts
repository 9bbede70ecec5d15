/**
 * The lab fault matrix (issue 4, Proof): one lab per mode (DR pair with VRRP,
 * NAT, TUN), and inside it one pitfall after another: break one thing on one
 * node with `lvs-lab exec`, `lvs-doctor --lab --json` must report that
 * pitfall's check as `fail` on that node and nothing else as failed, then
 * `--fix --yes` (or a hand repair where the check's fix cannot do it, said so
 * at the case) makes those checks pass again and `lvs-lab traffic` reaches
 * every real server. Then the seeds' systems, one healthy lab each, no fail.
 *
 * After a repair only the checks that failed are re-run (a full run costs
 * ~15 s); the next case's full run, which must show nothing failed but its
 * own break, and the full run at the end of each lab prove the rest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor, doctorFix, failures, type DoctorReport } from './doctor-helpers.js';
import { LabCli } from './helpers.js';

const VIP = '10.0.0.100';
const CASE_TIMEOUT = 300_000;

/** A check expected to fail as a consequence of the break; `why` is shown nowhere but read by people. */
interface Also {
  id: string;
  host?: string;
  why: string;
}

interface Case {
  /** The pitfall, as the matrix names it. */
  pitfall: string;
  node: string;
  check: string;
  brk: (lab: LabCli) => void;
  /** Other checks that legitimately fail from the same break. */
  also?: Also[];
  /** How to wait until the break has taken effect (VRRP needs adverts to time out). */
  settle?: (lab: LabCli) => Promise<void>;
  /** `fix`: run `--fix --yes` with these check ids; `hand`: the check's fix cannot repair it here (see the case). */
  repair: { fix: string[] } | { hand: (lab: LabCli) => void };
  /** Wait after the repair until the lab can serve again (keepalived's checker re-adding a real server). */
  recover?: (lab: LabCli) => Promise<void>;
  /** Run after the repair is proven (e.g. removing the now-harmless break table). */
  cleanup?: (lab: LabCli) => void;
  /** A persistent design may pin the one client to one backend: then only "0 failed" is asserted. */
  persistent?: boolean;
}

function sh(lab: LabCli, node: string, script: string): void {
  const r = lab.exec(node, ['sh', '-c', script]);
  if (r.code !== 0) throw new Error(`${node}$ ${script} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
}

/** Load an nft script on a node (the break tables below are all separate tables, easy to delete). */
function nft(lab: LabCli, node: string, script: string): void {
  const r = lab.exec(node, ['sh', '-c', `printf '%s\\n' "$1" | nft -f -`, 'sh', script]);
  if (r.code !== 0) throw new Error(`${node}: nft -f failed\n${script}\n${r.stderr}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll a shell condition on a node (exit 0 = reached). */
async function until(lab: LabCli, node: string, script: string, seconds: number): Promise<void> {
  for (let t = 0; t < seconds; t++) {
    if (lab.exec(node, ['sh', '-c', script]).code === 0) return;
    await sleep(1000);
  }
  throw new Error(`${node}: "${script}" not true after ${seconds} s`);
}

const show = (r: DoctorReport) => JSON.stringify(failures(r), null, 1);

function matches(f: { id: string; host: string }, c: Case): boolean {
  if (f.id === c.check && f.host === c.node) return true;
  return (c.also ?? []).some((a) => a.id === f.id && (a.host === undefined || a.host === f.host));
}

function expectHealthy(lab: LabCli, backends: string[], persistent: boolean): void {
  const t = lab.traffic(8);
  for (const v of t.vips) {
    expect(v.failed, `traffic to ${v.vip}: ${JSON.stringify(v)}`).toBe(0);
    if (!persistent) expect(Object.keys(v.byBackend).sort(), `traffic to ${v.vip}: ${JSON.stringify(v)}`).toEqual(backends);
  }
}

async function runCase(lab: LabCli, c: Case, backends: string[]): Promise<void> {
  c.brk(lab);
  await c.settle?.(lab);
  const broken = doctor(lab);
  const fails = failures(broken);
  expect(fails, `${c.pitfall}: ${c.check} fails on ${c.node}\n${show(broken)}`).toContainEqual(expect.objectContaining({ id: c.check, host: c.node, status: 'fail' }));
  expect(fails.filter((f) => !matches(f, c)), `${c.pitfall}: nothing else fails`).toEqual([]);
  expect(broken.code, 'exit 1 with a failure').toBe(1);

  if ('fix' in c.repair) {
    const fixed = doctorFix(lab, c.repair.fix);
    expect(fixed.code, `${c.pitfall}: lvs-doctor --fix --yes ${c.repair.fix.join(' ')}\n${fixed.output}`).toBe(0);
  } else {
    c.repair.hand(lab);
  }
  // The client may still hold a neighbour entry learnt during the break (a real server's or the backup's MAC).
  sh(lab, 'client', 'ip neigh flush all');
  const ids = [...new Set(fails.map((f) => f.id))];
  let after = doctor(lab, ids);
  for (let t = 0; t < 10 && failures(after).length > 0; t++) {
    // VRRP needs a few adverts to settle back to one master.
    await sleep(1000);
    after = doctor(lab, ids);
  }
  expect(failures(after), `${c.pitfall}: after the repair ${ids.join(' ')} pass`).toEqual([]);
  expect(after.code).toBe(0);
  await c.recover?.(lab);
  expectHealthy(lab, backends, c.persistent ?? false);
  c.cleanup?.(lab);
}

/** One lab for a list of cases: up once, a healthy run first, each case, a full healthy run last, down. */
function labMatrix(example: string, backends: string[], cases: Case[]): void {
  describe.sequential(`lab ${example}`, () => {
    const lab = new LabCli(`matrix-${example}`);
    beforeAll(() => {
      lab.ok(['up', '--example', example], 300_000);
    }, 300_000);
    afterAll(() => {
      lab.down();
    }, 120_000);

    it('is healthy before any break', { timeout: CASE_TIMEOUT }, () => {
      const r = doctor(lab);
      expect(failures(r), show(r)).toEqual([]);
      expect(r.summary.pass).toBeGreaterThan(0);
      expectHealthy(lab, backends, false);
    });
    for (const c of cases) {
      it(`${c.pitfall} → ${c.check} fails on ${c.node}, repaired by ${'fix' in c.repair ? '--fix' : 'hand'}`, { timeout: CASE_TIMEOUT }, async () => {
        await runCase(lab, c, backends);
      });
    }
    it('is healthy after every repair', { timeout: CASE_TIMEOUT }, () => {
      const r = doctor(lab);
      expect(failures(r), show(r)).toEqual([]);
    });
  });
}

describe.sequential('lvs-doctor lab fault matrix', () => {
  labMatrix('dr', ['rs1', 'rs2'], [
    {
      pitfall: 'DR real server answers ARP for the VIP (arp_ignore/arp_announce 0)',
      node: 'rs1',
      check: 'rs-arp-sysctls',
      brk: (lab) => sh(lab, 'rs1', 'sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.eth0.arp_ignore=0 net.ipv4.conf.eth0.arp_announce=0 net.ipv4.conf.lo.arp_ignore=0 net.ipv4.conf.lo.arp_announce=0'),
      // The active probe from the client hears rs1's MAC next to dir1's: the same leak, seen on the wire, reported on the VIP holder.
      also: [
        { id: 'vip-arp-answers', host: 'dir1', why: 'active ARP probe sees the leak' },
        // arp_announce 0: rs1 asks "who has 10.0.0.1? tell 10.0.0.100" (the VIP on its lo); dir1, holding that VIP itself,
        // ignores the request, so rs1 cannot answer dir1's probe of 10.0.0.11:80 (nor keepalived's check) once its neighbour entry expires.
        { id: 'ipvs-table-sync', host: 'dir1', why: 'rs1 cannot answer the director while it announces the VIP as ARP source' },
      ],
      // keepalived's checker may have taken rs1 out meanwhile; wait until it is back.
      recover: (lab) => until(lab, 'dir1', 'ipvsadm -Ln | grep -q 10.0.0.11:80', 60),
      // vip-arp-answers' finding names rs1 as its subject: its fix runs there, not on the director that probed.
      repair: { fix: ['rs-arp-sysctls', 'vip-arp-answers'] },
    },
    {
      pitfall: 'DR real server without the VIP on lo',
      node: 'rs2',
      check: 'rs-vip',
      brk: (lab) => sh(lab, 'rs2', `ip addr del ${VIP}/32 dev lo`),
      repair: { fix: ['rs-vip'] },
    },
    {
      pitfall: 'DR VIP on lo as /24 instead of /32',
      node: 'rs2',
      check: 'rs-vip',
      brk: (lab) => sh(lab, 'rs2', `ip addr del ${VIP}/32 dev lo && ip addr add ${VIP}/24 dev lo`),
      repair: { fix: ['rs-vip'] },
    },
    {
      pitfall: 'real-server firewall drops VIP:80 (iptables)',
      node: 'rs1',
      check: 'rs-firewall',
      brk: (lab) => sh(lab, 'rs1', `iptables -I INPUT -d ${VIP} -p tcp --dport 80 -j DROP`),
      // The accept goes first in the chain that drops (iptables -I INPUT), kept in /etc/lvs-toolkit/doctor-fixes.sh.
      repair: { fix: ['rs-firewall'] },
      cleanup: (lab) => sh(lab, 'rs1', `iptables -D INPUT -d ${VIP} -p tcp --dport 80 -j DROP`),
    },
    {
      pitfall: 'director firewall drops the service port',
      node: 'dir1',
      check: 'director-firewall',
      brk: (lab) => nft(lab, 'dir1', `table inet breaksvc {\n chain in {\n  type filter hook input priority 10; policy accept;\n  ip daddr ${VIP} tcp dport 80 drop\n }\n}`),
      repair: { fix: ['director-firewall'] },
      cleanup: (lab) => sh(lab, 'dir1', 'nft delete table inet breaksvc'),
    },
    {
      pitfall: 'VRRP (protocol 112) dropped on the backup → split brain',
      node: 'dir2',
      check: 'vrrp-firewall',
      brk: (lab) => nft(lab, 'dir2', 'table inet breakvrrp {\n chain in {\n  type filter hook input priority -5; policy accept;\n  ip protocol vrrp drop\n }\n}'),
      settle: (lab) => until(lab, 'dir2', `ip -4 addr show dev eth0 | grep -q ' ${VIP}/'`, 20),
      also: [
        { id: 'vrrp-split-brain', host: 'dir2', why: 'the consequence: dir2 hears no adverts and holds the VIP too' },
        { id: 'director-firewall', host: 'dir2', why: 'it also covers VRRP on the director input and sees the same drop rule' },
        { id: 'vip-arp-answers', why: 'both directors answer ARP for the VIP, seen from either holder' },
      ],
      // vrrp-firewall's fix inserts the accept into the dropping chain itself; director-firewall's VRRP probe passes with it.
      repair: { fix: ['vrrp-firewall'] },
      cleanup: (lab) => sh(lab, 'dir2', 'nft delete table inet breakvrrp'),
    },
    {
      pitfall: 'keepalived config error',
      node: 'dir2',
      check: 'keepalived-config-test',
      brk: (lab) => sh(lab, 'dir2', "echo 'bogus_keyword_here 1' >> /etc/keepalived/keepalived.conf"),
      // By hand: the finding's fix only re-runs keepalived -t (a config error needs a person to decide the right line).
      repair: { hand: (lab) => sh(lab, 'dir2', "sed -i '/^bogus_keyword_here/d' /etc/keepalived/keepalived.conf") },
    },
    {
      pitfall: 'sub-second advert_int with VRRP v2 (the version 3 line lost)',
      node: 'dir2',
      check: 'vrrp-advert',
      brk: (lab) => sh(lab, 'dir2', "cp /etc/keepalived/keepalived.conf /etc/keepalived/matrix.bak && sed -i '/^[[:space:]]*version 3[[:space:]]*$/d' /etc/keepalived/keepalived.conf && ! grep -q 'version 3' /etc/keepalived/keepalived.conf"),
      // keepalived -t itself warns about advert_int 0.1 under VRRP v2, so its check fails on the same line.
      also: [{ id: 'keepalived-config-test', host: 'dir2', why: 'keepalived -t warns about the same advert_int' }],
      // By hand: the fix names the line (vrrp_version 3) but has no command that edits keepalived.conf.
      repair: { hand: (lab) => sh(lab, 'dir2', 'mv /etc/keepalived/matrix.bak /etc/keepalived/keepalived.conf') },
    },
    {
      pitfall: 'drift between keepalived.conf and the IPVS table (ipvsadm -d by hand)',
      node: 'dir1',
      check: 'ipvs-table-sync',
      brk: (lab) => sh(lab, 'dir1', `ipvsadm -d -t ${VIP}:80 -r 10.0.0.12:80`),
      // The fix puts rs2 back as the design says (-g -w 1) and HUPs keepalived through its pid file: the lab has no systemd.
      repair: { fix: ['ipvs-table-sync'] },
    },
  ]);

  labMatrix('nat', ['rs1', 'rs2'], [
    {
      pitfall: 'NAT director with ip_forward = 0',
      node: 'dir1',
      check: 'ip-forward',
      brk: (lab) => sh(lab, 'dir1', 'sysctl -qw net.ipv4.ip_forward=0'),
      repair: { fix: ['ip-forward'] },
    },
    {
      pitfall: 'NAT real server replies through another gateway',
      node: 'rs1',
      check: 'rs-nat-route',
      brk: (lab) => sh(lab, 'rs1', 'ip route replace default via 10.0.1.254'),
      repair: { fix: ['rs-nat-route'] },
    },
    {
      pitfall: 'NAT director forward hook with policy drop',
      node: 'dir1',
      check: 'forward-policy',
      brk: (lab) => nft(lab, 'dir1', 'table inet breakfw {\n chain forward_break {\n  type filter hook forward priority 10; policy drop;\n }\n}'),
      repair: { fix: ['forward-policy'] },
      cleanup: (lab) => sh(lab, 'dir1', 'nft delete table inet breakfw'),
    },
    {
      pitfall: 'NAT director drops ct state invalid while IPVS keeps no conntrack',
      node: 'dir1',
      check: 'vs-conntrack',
      brk: (lab) => nft(lab, 'dir1', 'table inet breakct {\n chain forward_break {\n  type filter hook forward priority 10; policy accept;\n  ct state invalid drop\n }\n}'),
      repair: { fix: ['vs-conntrack'] },
      cleanup: (lab) => sh(lab, 'dir1', 'nft delete table inet breakct && sysctl -qw net.ipv4.vs.conntrack=0'),
    },
    {
      pitfall: 'NAT director firewall drops the service port',
      node: 'dir1',
      check: 'director-firewall',
      brk: (lab) => nft(lab, 'dir1', `table inet breaksvc {\n chain in {\n  type filter hook input priority 10; policy accept;\n  ip daddr ${VIP} tcp dport 80 drop\n }\n}`),
      repair: { fix: ['director-firewall'] },
      cleanup: (lab) => sh(lab, 'dir1', 'nft delete table inet breaksvc'),
    },
    {
      pitfall: 'NAT real-server firewall drops the service port',
      node: 'rs2',
      check: 'rs-firewall',
      brk: (lab) => sh(lab, 'rs2', 'iptables -I INPUT -p tcp --dport 80 -j DROP'),
      // Until keepalived's HTTP check (default timers here) takes rs2 out, the director still sends it traffic: that drift is real.
      also: [{ id: 'ipvs-table-sync', host: 'dir1', why: 'rs2 does not answer but is still in the table' }],
      repair: { fix: ['rs-firewall'] },
      // The HTTP health check took rs2 out of the table during the break; wait until it is back.
      recover: (lab) => until(lab, 'dir1', 'ipvsadm -Ln | grep -q 10.0.1.12:80', 60),
      cleanup: (lab) => sh(lab, 'rs2', 'iptables -D INPUT -p tcp --dport 80 -j DROP'),
    },
  ]);

  labMatrix('tun', ['rs1', 'rs2'], [
    {
      pitfall: 'TUN real server with strict rp_filter on tunl0/all',
      node: 'rs1',
      check: 'rs-rp-filter',
      brk: (lab) => sh(lab, 'rs1', 'sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.tunl0.rp_filter=1'),
      repair: { fix: ['rs-rp-filter'] },
    },
    {
      pitfall: 'TUN real server with tunl0 down',
      node: 'rs2',
      check: 'rs-tunnel',
      brk: (lab) => sh(lab, 'rs2', 'ip link set tunl0 down'),
      repair: { fix: ['rs-tunnel'] },
    },
    {
      pitfall: 'TUN real server answers ARP for the VIP',
      node: 'rs2',
      check: 'rs-arp-sysctls',
      brk: (lab) => sh(lab, 'rs2', 'sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.eth0.arp_ignore=0 net.ipv4.conf.eth0.arp_announce=0'),
      also: [{ id: 'vip-arp-answers', host: 'dir1', why: 'active ARP probe sees the leak' }],
      repair: { fix: ['rs-arp-sysctls'] },
    },
    {
      pitfall: 'TUN real-server firewall drops VIP:80',
      node: 'rs2',
      check: 'rs-firewall',
      brk: (lab) => nft(lab, 'rs2', `table inet breakrs {\n chain in {\n  type filter hook input priority 10; policy accept;\n  ip daddr ${VIP} tcp dport 80 drop\n }\n}`),
      repair: { fix: ['rs-firewall'] },
      cleanup: (lab) => sh(lab, 'rs2', 'nft delete table inet breakrs'),
    },
    {
      pitfall: 'TUN real server listens on its RIP only, not on the VIP',
      node: 'rs1',
      check: 'rs-listening',
      brk: (lab) => sh(lab, 'rs1', `kill $(ss -Hltnp 'sport = :80' | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p'); setsid busybox httpd -p 10.0.0.11:80 -h /run/www-80 </dev/null >/dev/null 2>&1`),
      // By hand: the bind address is the daemon's own configuration; the fix says what to change and runs nothing.
      repair: { hand: (lab) => sh(lab, 'rs1', `kill $(ss -Hltnp 'sport = :80' | sed -n 's/.*pid=\\([0-9]*\\).*/\\1/p'); setsid busybox httpd -p 0.0.0.0:80 -h /run/www-80 </dev/null >/dev/null 2>&1`) },
    },
    {
      pitfall: 'TUN real server without the VIP on tunl0',
      node: 'rs1',
      check: 'rs-vip',
      brk: (lab) => sh(lab, 'rs1', `ip addr del ${VIP}/32 dev tunl0`),
      // tunl0 still exists without an IPv4 address (`ip -4 addr` no longer lists it): rs-vip asks `ip link` and fails.
      repair: { fix: ['rs-vip'] },
    },
  ]);
});

describe.sequential('a healthy lab of each seed system has no failure', () => {
  for (const seed of ['seed-000', 'seed-002', 'seed-003', 'seed-004']) {
    it(`${seed}: lvs-doctor --lab finds no failure`, { timeout: CASE_TIMEOUT }, () => {
      const lab = new LabCli(`matrix-${seed}`);
      try {
        lab.ok(['up', '--example', seed], 300_000);
        const r = doctor(lab);
        expect(failures(r), `${seed}\n${show(r)}`).toEqual([]);
        expect(r.code).toBe(0);
        expect(r.summary.pass).toBeGreaterThan(0);
      } finally {
        lab.down();
      }
    });
  }
});
