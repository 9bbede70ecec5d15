/**
 * Recorded machines (DESIGN rule 2): `RecordingHost` wraps a live Host and
 * writes down every command and file it was asked for; `RecordedHost` plays
 * that back, so a user's `lvs-doctor --record DIR` becomes a test fixture.
 * A replay never guesses: anything not recorded throws, naming the argv or
 * path, so a check that starts reading something new fails loudly instead of
 * passing on an empty answer.
 *
 * On disk: one JSON file per node, `DIR/<node>.json`, built to diff well in
 * review — every text is an array of its lines (split on "\n", so a trailing
 * newline shows as a final ""), one run per block, argv on one line:
 *
 *   {
 *     "format": "lvs-toolkit/recorded-host/1",
 *     "node": "dir1",
 *     "host": "ssh://root@dir1",
 *     "runs": [
 *       {
 *         "argv": ["ipvsadm", "-Sn"],
 *         "exitCode": 0,
 *         "stdout": ["-A -t 10.0.0.10:80 -s wlc", ""],
 *         "stderr": [""]
 *       }
 *     ],
 *     "files": [
 *       { "path": "/etc/keepalived/keepalived.conf", "content": ["global_defs {", "…"] },
 *       { "path": "/etc/ha.d/ldirectord.cf", "content": null }
 *     ]
 *   }
 *
 * A run may also carry `"input"` (lines fed to stdin; a replay matches on it)
 * and `"timedOut": true`. The same argv recorded several times replays its
 * answers in order, then repeats the last. `"content": null` means the file
 * did not exist. Secrets are masked while recording (see maskSecrets), so a
 * fixture can be attached to a public bug report.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LocalHost } from './local.js';
import type { Host, RunOptions, RunResult, StreamHandle } from './types.js';

export const FIXTURE_FORMAT = 'lvs-toolkit/recorded-host/1';

const Lines = z.array(z.string());

const RecordedRunSchema = z.object({
  argv: z.array(z.string()).min(1),
  input: Lines.optional(),
  exitCode: z.number().int(),
  timedOut: z.boolean().optional(),
  stdout: Lines,
  stderr: Lines,
});

const RecordedFileSchema = z.object({
  path: z.string().min(1),
  content: Lines.nullable(),
});

export const RecordedFixtureSchema = z.object({
  format: z.literal(FIXTURE_FORMAT),
  node: z.string().min(1),
  host: z.string(),
  runs: z.array(RecordedRunSchema),
  files: z.array(RecordedFileSchema),
});

export type RecordedRun = z.infer<typeof RecordedRunSchema>;
export type RecordedFile = z.infer<typeof RecordedFileSchema>;
export type RecordedFixture = z.infer<typeof RecordedFixtureSchema>;

/** A replay was asked for something the recording does not hold: a fixture gap or a changed check. */
export class UnrecordedError extends Error {
  constructor(
    readonly node: string,
    readonly what: string,
  ) {
    super(`recorded host ${node}: nothing recorded for ${what}`);
    this.name = 'UnrecordedError';
  }
}

export const MASK = '<masked>';

/**
 * Secrets that configs and dumps carry, by the keyword before them:
 * keepalived `auth_pass` (and `Password = …` in its SIGUSR1 dump),
 * ldirectord `passwd`/`secret`, HAProxy `password`/`insecure-password` and
 * `stats auth user:pass`, generic `password = …`.
 */
const SECRET_KEYWORD = /(^|[\s{;])(auth_pass|password|passwd|secret|insecure-password)(\s*[=:]\s*|[ \t]+)("[^"\n]*"|'[^'\n]*'|[^\s;,}]+)/gim;
const STATS_AUTH = /(\bstats[ \t]+auth[ \t]+[^\s:]+:)(\S+)/gi;
/** PEM private keys (RSA, EC, OPENSSH, PKCS#8, ENCRYPTED): keep the armour lines, drop the body. */
const PRIVATE_KEY = /(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----)[\s\S]*?(-----END \2PRIVATE KEY-----)/g;

/**
 * Mask the secrets in a text, keeping everything else byte for byte (an
 * IdentityFile path stays: it says where a key is, not what it is).
 */
export function maskSecrets(text: string): string {
  return text
    .replace(PRIVATE_KEY, (_m, begin: string, _kind: string, end: string) => `${begin}\n${MASK}\n${end}`)
    .replace(STATS_AUTH, (_m, head: string) => `${head}${MASK}`)
    .replace(SECRET_KEYWORD, (_m, lead: string, key: string, sep: string) => `${lead}${key}${sep}${MASK}`);
}

const toLines = (text: string): string[] => text.split('\n');
const fromLines = (lines: readonly string[]): string => lines.join('\n');
const inputText = (input: string | Uint8Array): string => (typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
const argvKey = (argv: readonly string[]): string => JSON.stringify(argv);

/** Plays a fixture back; throws UnrecordedError for any argv or path it does not hold. */
export class RecordedHost implements Host {
  private readonly runs = new Map<string, RecordedRun[]>();
  private readonly next = new Map<string, number>();
  private readonly files = new Map<string, string | undefined>();
  /** What writeFile was asked to write, in order (a replay never touches a disk). */
  readonly writes: { path: string; text: string; mode: number }[] = [];

  constructor(readonly fixture: RecordedFixture) {
    for (const r of fixture.runs) {
      const k = argvKey(r.argv);
      this.runs.set(k, [...(this.runs.get(k) ?? []), r]);
    }
    for (const f of fixture.files) this.files.set(f.path, f.content === null ? undefined : fromLines(f.content));
  }

  describe(): string {
    return `recorded:${this.fixture.node}`;
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const k = argvKey(argv);
    const input = opts.input === undefined ? undefined : maskSecrets(inputText(opts.input));
    const all = (this.runs.get(k) ?? []).filter((r) => r.input === undefined || (input !== undefined && fromLines(r.input) === input));
    if (all.length === 0) {
      throw new UnrecordedError(this.fixture.node, `run ${k}${input !== undefined && this.runs.has(k) ? ' with this input' : ''}`);
    }
    const i = this.next.get(k) ?? 0;
    const r = all[Math.min(i, all.length - 1)]!;
    this.next.set(k, i + 1);
    return {
      stdout: fromLines(r.stdout),
      stderr: fromLines(r.stderr),
      exitCode: r.exitCode,
      ...(r.timedOut ? { timedOut: true } : {}),
    };
  }

  async readFile(path: string): Promise<string | undefined> {
    if (!this.files.has(path)) throw new UnrecordedError(this.fixture.node, `readFile ${JSON.stringify(path)}`);
    return this.files.get(path);
  }

  async writeFile(path: string, text: string, mode = 0o644): Promise<void> {
    this.writes.push({ path, text, mode });
    this.files.set(path, text);
  }

  stream(argv: readonly string[]): StreamHandle {
    throw new UnrecordedError(this.fixture.node, `stream ${argvKey(argv)} (streams are never recorded)`);
  }
}

/**
 * Passes everything to `inner` and records what it answered, secrets
 * masked. The caller still gets the live, unmasked answer. Writes and
 * streams pass through unrecorded (a doctor without --fix never writes).
 */
export class RecordingHost implements Host {
  private readonly runs: RecordedRun[] = [];
  private readonly files = new Map<string, string[] | null>();

  constructor(
    readonly inner: Host,
    readonly node: string,
  ) {}

  describe(): string {
    return this.inner.describe();
  }

  async run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    const r = await this.inner.run(argv, opts);
    const rec: RecordedRun = {
      argv: [...argv],
      ...(opts?.input !== undefined ? { input: toLines(maskSecrets(inputText(opts.input))) } : {}),
      exitCode: r.exitCode,
      ...(r.timedOut ? { timedOut: true } : {}),
      stdout: toLines(maskSecrets(r.stdout)),
      stderr: toLines(maskSecrets(r.stderr)),
    };
    const last = [...this.runs].reverse().find((x) => argvKey(x.argv) === argvKey(argv));
    if (!last || JSON.stringify(last) !== JSON.stringify(rec)) this.runs.push(rec);
    return r;
  }

  async readFile(path: string): Promise<string | undefined> {
    const text = await this.inner.readFile(path);
    this.files.set(path, text === undefined ? null : toLines(maskSecrets(text)));
    return text;
  }

  writeFile(path: string, text: string, mode?: number): Promise<void> {
    return this.inner.writeFile(path, text, mode);
  }

  stream(argv: readonly string[]): StreamHandle {
    return this.inner.stream(argv);
  }

  /** What was recorded so far, ready for saveRecording. */
  fixture(): RecordedFixture {
    return {
      format: FIXTURE_FORMAT,
      node: this.node,
      host: this.inner.describe(),
      runs: this.runs.map((r) => ({ ...r, argv: [...r.argv] })),
      files: [...this.files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, content]) => ({ path, content })),
    };
  }
}

/** The fixture as diff-friendly JSON (see the format at the top of this file). */
export function formatFixture(f: RecordedFixture): string {
  const j = (v: unknown): string => JSON.stringify(v);
  const lines = (key: string, v: readonly string[], pad: string): string =>
    v.length <= 1 ? `${pad}${j(key)}: ${j(v)}` : `${pad}${j(key)}: [\n${v.map((l) => `${pad}  ${j(l)}`).join(',\n')}\n${pad}]`;
  const run = (r: RecordedRun): string => {
    const p = '      ';
    const parts = [`${p}"argv": ${j(r.argv)}`];
    if (r.input) parts.push(lines('input', r.input, p));
    parts.push(`${p}"exitCode": ${r.exitCode}`);
    if (r.timedOut) parts.push(`${p}"timedOut": true`);
    parts.push(lines('stdout', r.stdout, p), lines('stderr', r.stderr, p));
    return `    {\n${parts.join(',\n')}\n    }`;
  };
  const file = (x: RecordedFile): string => {
    const p = '      ';
    return `    {\n${p}"path": ${j(x.path)},\n${x.content === null ? `${p}"content": null` : lines('content', x.content, p)}\n    }`;
  };
  return [
    '{',
    `  "format": ${j(f.format)},`,
    `  "node": ${j(f.node)},`,
    `  "host": ${j(f.host)},`,
    f.runs.length ? `  "runs": [\n${f.runs.map(run).join(',\n')}\n  ],` : '  "runs": [],',
    f.files.length ? `  "files": [\n${f.files.map(file).join(',\n')}\n  ]` : '  "files": []',
    '}',
    '',
  ].join('\n');
}

const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function fixturePath(dir: string, node: string): string {
  if (!NODE_NAME.test(node)) throw new Error(`node name ${JSON.stringify(node)} cannot name a fixture file (letters, digits, _ . - expected)`);
  return join(dir, `${node}.json`);
}

/** Write `DIR/<node>.json` (atomically); returns its path. */
export async function saveRecording(dir: string, node: string, fixture: RecordedFixture): Promise<string> {
  const file = fixturePath(dir, node);
  await mkdir(dir, { recursive: true });
  await new LocalHost().writeFile(file, formatFixture({ ...fixture, node }), 0o600);
  return file;
}

/** Read and validate `DIR/<node>.json`; errors name the file and the field. */
export async function loadRecording(dir: string, node: string): Promise<RecordedFixture> {
  const file = fixturePath(dir, node);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = RecordedFixtureSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: not a recorded host fixture: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}
