/**
 * Throw-away network namespaces for tests that run real validators
 * (`keepalived -t` checks the interfaces it names; `nft -c` needs a netns to
 * be harmless). Every namespace is removed afterwards, even on failure.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function run(argv: string[], input?: string): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', exitCode: r.status ?? 128 };
}

/** Run argv inside namespace `ns`. */
export function runIn(ns: string, argv: string[], input?: string): RunResult {
  return run(['ip', 'netns', 'exec', ns, ...argv], input);
}

/**
 * Create a namespace holding veth interfaces with the given names (each
 * paired with a peer `pN` inside the same namespace), call `fn`, delete it.
 */
export async function withNetns<T>(ifaces: readonly string[], fn: (ns: string) => Promise<T> | T): Promise<T> {
  const ns = `lvst-${randomBytes(4).toString('hex')}`;
  const add = run(['ip', 'netns', 'add', ns]);
  if (add.exitCode !== 0) throw new Error(`ip netns add ${ns}: ${add.stderr}`);
  try {
    let i = 0;
    for (const name of new Set(ifaces)) {
      const r = run(['ip', '-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `p${i++}`]);
      if (r.exitCode !== 0) throw new Error(`creating ${name} in ${ns}: ${r.stderr}`);
      run(['ip', '-n', ns, 'link', 'set', name, 'up']);
    }
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return await fn(ns);
  } finally {
    run(['ip', 'netns', 'del', ns]);
  }
}
