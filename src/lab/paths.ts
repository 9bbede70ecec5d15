/**
 * Where the lab keeps things. The image cache survives reboots (it costs a
 * minute to rebuild); a running VM's state lives in a runtime dir so a second
 * process (`lvs-lab exec`) finds the VM the first one started.
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `$LVS_LAB_CACHE`, else `~/.cache/lvs-toolkit/lab` (XDG_CACHE_HOME honoured). */
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LVS_LAB_CACHE) return env.LVS_LAB_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'lvs-toolkit', 'lab');
}

/**
 * `$LVS_LAB_STATE`, else `/run/lvs-toolkit/lab` for root (a tmpfs: a reboot
 * forgets VMs that no longer exist), else under the cache dir. Keep it short:
 * it holds unix sockets, whose paths are limited to 107 bytes.
 */
export function labStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LVS_LAB_STATE) return env.LVS_LAB_STATE;
  if (process.getuid?.() === 0) return '/run/lvs-toolkit/lab';
  return join(labCacheDir(env), 'run');
}

/** The project root (holds package.json), found from this file in src/ or dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('lvs-toolkit: cannot find the project root from ' + fileURLToPath(import.meta.url));
}
