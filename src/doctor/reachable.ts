/**
 * Before any check runs on a host, the doctor makes sure it can run a
 * command there at all. An unreachable host (ssh refused, a container that is
 * not running, a lab node gone) is one `error` finding with what the adapter
 * said, instead of one error per check, and makes the command exit 2
 * ("could not run"). Every host checked shows up in the report through it.
 */
import type { Host } from '../host/types.js';
import type { Check } from './check.js';

export const REACHABLE_ID = 'host-reachable';

interface Observation {
  exitCode: number;
  stdout: string;
  stderr: string;
  described: string;
}

export const REACHABLE: Check<Observation> = {
  id: REACHABLE_ID,
  title: 'the doctor can run commands on the host',
  section: 'A',
  sources: ['DESIGN.md rule 2 (one narrow Host)'],
  appliesTo: () => true,
  async detect(host: Host) {
    const r = await host.run(['uname', '-n'], { timeoutMs: 15_000 });
    return { exitCode: r.exitCode, stdout: r.stdout.trim(), stderr: r.stderr.trim(), described: host.describe() };
  },
  evaluate(obs) {
    if (obs.exitCode === 0) return [{ status: 'pass', message: `reached ${obs.described} (${obs.stdout})`, evidence: [`uname -n: ${obs.stdout}`] }];
    return [
      {
        status: 'error',
        message: `cannot run commands on ${obs.described} (exit ${obs.exitCode}); its other checks were not run`,
        evidence: [`uname -n exited ${obs.exitCode}${obs.stderr ? `: ${obs.stderr}` : ''}`],
      },
    ];
  },
};
