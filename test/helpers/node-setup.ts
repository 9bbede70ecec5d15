/**
 * Checks on a node's setup (director, real server, container host): its
 * scripts through sh -n and shellcheck, and the script run for real with
 * --runtime-only inside a throw-away namespace, files under a temp root.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { SETUP_SCRIPT_PATH } from '../../src/core/render/real-server.js';
import type { NodeSetup } from '../../src/core/render/types.js';
import { run, runIn } from './netns.js';
import { withTempFile } from './validators.js';

/** `sh -n` and `shellcheck -s sh` both accept the script (their output is the failure message). */
export function expectShellClean(text: string): void {
  withTempFile('script.sh', text, (file) => {
    const syntax = run(['sh', '-n', file]);
    expect(syntax.exitCode, syntax.stderr).toBe(0);
    const lint = run(['shellcheck', '-s', 'sh', file]);
    expect(lint.exitCode, lint.stdout + lint.stderr).toBe(0);
  });
}

/** The content of the setup's file at `path`, if it writes one. */
export function setupFile(setup: NodeSetup, path: string): string | undefined {
  return setup.files.find((f) => f.path === path)?.content;
}

/** Writes the setup's files under a temp root and runs its script in `ns` with --runtime-only. */
export function runRuntimeOnly(ns: string, setup: NodeSetup): { exitCode: number; stderr: string } {
  const root = mkdtempSync(join(tmpdir(), 'lvst-root-'));
  try {
    for (const f of setup.files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    return runIn(ns, ['env', `LVS_TOOLKIT_ROOT=${root}`, 'sh', join(root, SETUP_SCRIPT_PATH), '--runtime-only']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A sysctl's value inside `ns` (path below /proc/sys, e.g. net/ipv4/ip_forward). */
export function sysctlIn(ns: string, path: string): string {
  return runIn(ns, ['cat', `/proc/sys/${path}`]).stdout.trim();
}
