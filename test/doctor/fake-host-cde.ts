/**
 * Hosts for the C/D/E checks' detect tests: fixtures/hosts/<scenario>/<node>.json
 * (what the real lab answered, recorded by `lvs-doctor --lab --record`) played
 * back by RecordedHost, and inline fakes ({argv: answer}) for outputs the lab
 * cannot produce. Anything not recorded throws, naming the argv or path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordedFixtureSchema, RecordedHost } from '../../src/host/recorded.js';
import type { Host, RunResult } from '../../src/host/types.js';
import { ROOT } from '../helpers/fixtures.js';

interface Recording {
  run: Array<{ argv: string[]; stdout: string; stderr: string; exitCode: number }>;
  files: Record<string, string | null>;
}

export class FakeHost implements Host {
  constructor(
    private readonly name: string,
    private readonly rec: Recording,
  ) {}

  async run(argv: readonly string[]): Promise<RunResult> {
    const hit = this.rec.run.find((r) => r.argv.length === argv.length && r.argv.every((a, i) => a === argv[i]));
    if (!hit) throw new Error(`${this.name}: unrecorded command ${JSON.stringify(argv)}`);
    return { stdout: hit.stdout, stderr: hit.stderr, exitCode: hit.exitCode };
  }

  async readFile(path: string): Promise<string | undefined> {
    if (!(path in this.rec.files)) throw new Error(`${this.name}: unrecorded file ${path}`);
    return this.rec.files[path] ?? undefined;
  }

  async writeFile(path: string): Promise<void> {
    throw new Error(`${this.name}: a detect must not write (${path})`);
  }

  stream(argv: readonly string[]): never {
    throw new Error(`${this.name}: unrecorded stream ${JSON.stringify(argv)}`);
  }

  describe(): string {
    return `fake:${this.name}`;
  }
}

/**
 * The node's recording of a scenario (`lvs-doctor --lab --record DIR`, played
 * back by RecordedHost, which refuses anything unrecorded); an empty one for
 * a node the scenario did not touch.
 */
export function fakeHost(scenario: string, node: string): Host {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(ROOT, 'fixtures/hosts', scenario, `${node}.json`), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return new FakeHost(node, { run: [], files: {} });
  }
  return new RecordedHost(RecordedFixtureSchema.parse(raw));
}

/** A fake with inline answers, for outputs the lab cannot produce (OpenVZ, a cloud). */
export function inlineHost(name: string, run: Record<string, Partial<RunResult>>, files: Record<string, string | null>): FakeHost {
  return new FakeHost(name, {
    run: Object.entries(run).map(([argv, r]) => ({ argv: argv.split(' '), stdout: r.stdout ?? '', stderr: r.stderr ?? '', exitCode: r.exitCode ?? 0 })),
    files,
  });
}
