/**
 * B17: when both directors of a DR/TUN pair are also real servers, the
 * backup's IPVS table re-balances what the master sends it, and packets loop
 * between the two. net.ipv4.vs.backup_only = 1 disables the director function
 * while the sync daemon is in backup mode (ipvs-sysctl.rst; keepalived#2450).
 */
import type { Host } from '../../host/types.js';
import type { Check, CheckContext, Finding } from '../check.js';
import { designL4Services, directorAddressList, modesOf, parseProcIpVs, readAddrs, readSysctl, skip, sysctlFix, sysctlLine, type IpvsService } from '../ab-support.js';

export interface BackupOnlyObservation {
  backupOnly: number | undefined;
  live: IpvsService[] | undefined;
  localAddrs: string[];
}

const PATH = 'net/ipv4/vs/backup_only';

async function detect(host: Host): Promise<BackupOnlyObservation> {
  const [v, table, a] = await Promise.all([readSysctl(host, PATH), host.readFile('/proc/net/ip_vs'), readAddrs(host)]);
  return { backupOnly: v.value, live: table === undefined ? undefined : parseProcIpVs(table), localAddrs: (a?.links ?? []).flatMap((l) => l.addrs) };
}

function evaluate(o: BackupOnlyObservation, ctx: CheckContext): Finding[] {
  const evidence = [sysctlLine(PATH, o.backupOnly)];
  const modes = modesOf(ctx, o.live);
  if (!modes.includes('dr') && !modes.includes('tun')) return [skip('no DR or TUN service: the loop needs both directors to forward unchanged packets to each other', evidence)];
  if (!ctx.model) return [skip('without the design it is unknown whether this director has a peer', evidence)];
  if (ctx.model.directors.length < 2) return [skip('a single director: no peer to loop with', evidence)];
  const directorAddrs = new Set([...ctx.model.directors.flatMap((d) => directorAddressList(d)), ...o.localAddrs]);
  const both = designL4Services(ctx.model)
    .filter((s) => s.mode === 'dr' || s.mode === 'tun')
    .flatMap((s) => s.realServers.filter((r) => directorAddrs.has(r.address)).map((r) => `${s.name}: ${r.name} ${r.address}`));
  evidence.push(...both.map((b) => `real server that is a director: ${b}`));
  if (both.length === 0) return [{ status: 'pass', message: 'no director is also a real server: no loop between the pair', evidence }];
  if (o.backupOnly === 1) return [{ status: 'pass', message: 'backup_only = 1: the backup does not balance what the master forwards to it', evidence }];
  return [
    {
      status: 'fail',
      message: 'the directors are also real servers and backup_only = 0: the backup re-balances what the master sends it, and DR/TUN packets loop between them',
      evidence,
      fix: sysctlFix('ipvs-sysctl.rst backup_only: "avoid packet loops for DR/TUN methods"; it acts while the connection-sync daemon runs in backup mode, so run lvs_sync_daemon too (or mark only packets not coming from the peer\'s MAC, keepalived#2450)', [
        { path: PATH, value: 1 },
      ]),
    },
  ];
}

export const check: Check<BackupOnlyObservation> = {
  id: 'backup-only',
  title: 'A DR/TUN pair that also serves does not loop packets',
  section: 'B',
  sources: ['Documentation/networking/ipvs-sysctl.rst (backup_only)', 'keepalived#2450'],
  appliesTo: (ctx) => ctx.role === 'director' && (ctx.modes.length === 0 || ctx.modes.some((m) => m === 'dr' || m === 'tun')),
  detect,
  evaluate,
};
