/**
 * D36/D37: `keepalived -t -f FILE` on the director. keepalived 2.2.7 exits 0
 * for a clean config and 5 for any warning or error (not only the script
 * security case keepalived(8) documents for 5); 143 is 2.2.7's own -t crash
 * ("Terminated", fixed in 2.2.8). Its stderr lines are the evidence.
 */
import type { Check, Finding } from '../check.js';
import { runTool, skip } from '../cde-support.js';
import { KEEPALIVED_CONF_PATH } from '../../core/render/keepalived.js';

export interface KeepalivedTestObservation {
  present: boolean;
  result?: { exitCode: number; stderr: string };
}

export const check: Check<KeepalivedTestObservation> = {
  id: 'keepalived-config-test',
  title: 'keepalived -t accepts the configuration (no warnings, scripts allowed)',
  section: 'D',
  sources: ['keepalived(8) "Exit status"', 'keepalived#901', 'keepalived#742', 'keepalived#2587'],
  appliesTo: (ctx) => (ctx.role === 'director' || ctx.role === 'balancer') && (ctx.model === undefined || ctx.model.manager === 'keepalived'),
  async detect(host) {
    if ((await host.readFile(KEEPALIVED_CONF_PATH)) === undefined) return { present: false };
    const r = await runTool(host, ['keepalived', '-t', '-f', KEEPALIVED_CONF_PATH], 20_000);
    return r ? { present: true, result: { exitCode: r.exitCode, stderr: r.stderr } } : { present: true };
  },
  evaluate(obs): Finding[] {
    if (!obs.present) return [skip(`no ${KEEPALIVED_CONF_PATH} here`)];
    if (!obs.result) return [skip('keepalived is not installed here', ['keepalived: exit 127'])];
    const lines = obs.result.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
    const evidence = [`keepalived -t -f ${KEEPALIVED_CONF_PATH}: exit ${obs.result.exitCode}`, ...lines.slice(0, 20)];
    if (obs.result.exitCode === 0) return [{ status: 'pass', message: 'keepalived -t: the configuration is clean', evidence }];
    if (obs.result.exitCode === 143) return [{ status: 'warn', message: 'keepalived -t was killed (exit 143): a known crash of keepalived 2.2.7’s config test, fixed in 2.2.8; the config was not judged', evidence }];
    const security = lines.filter((l) => /SECURITY VIOLATION|Unsafe permissions|script_user|keepalived_script|script_security/i.test(l));
    const fix = security.length
      ? {
          // The lines go inside global_defs, which an append cannot reach: the edit is a person's.
          why: `keepalived runs notify/track/check scripts only with script security on, as a named user, from paths no one but root can write: useradd -r -s /sbin/nologin keepalived_script, add \`enable_script_security\` and \`script_user keepalived_script\` to global_defs in ${KEEPALIVED_CONF_PATH}, make the scripts and their folders writable by root only, then keepalived -t -f ${KEEPALIVED_CONF_PATH}`,
          commands: [],
          files: [],
        }
      : {
          // No command and no write: which line is wrong and what it should say is the person's call; keepalived's own message points at it.
          why: `keepalived ignores or misreads what it warns about, and a reload with a broken config can leave the service dead: correct the lines keepalived names above in ${KEEPALIVED_CONF_PATH}, then run keepalived -t -f ${KEEPALIVED_CONF_PATH} until it exits 0 before reloading`,
          commands: [],
          files: [],
        };
    return [
      {
        status: 'fail',
        message: security.length ? `keepalived -t: script security stops scripts from running (${security[0]})` : `keepalived -t rejects the configuration (exit ${obs.result.exitCode}${lines[0] ? `: ${lines[0]}` : ''})`,
        evidence,
        fix,
      },
    ];
  },
};
