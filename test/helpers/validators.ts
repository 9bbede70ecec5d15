/**
 * The real tools as validators, for tests that check many generated files:
 * each takes a namespace the caller made (withNetns) so nothing touches the
 * machine's own network, and returns exit code and output.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runIn, type RunResult } from './netns.js';

export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** Call `fn` with a fresh temp directory, removed afterwards even on failure. */
export function inTemp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'lvst-val-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Write `content` to a temp file called `name` and call `fn` with its path; the file goes afterwards. */
export function withTempFile<T>(name: string, content: string, fn: (path: string) => T): T {
  return inTemp((dir) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return fn(path);
  });
}

/** keepalived -t: exit 0 and no output means clean (it exits 5 on any warning). */
export function keepalivedCheck(ns: string, text: string): RunResult {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'keepalived.conf'), text);
    return runIn(ns, ['keepalived', '-t', '-f', join(dir, 'keepalived.conf')]);
  });
}

/** nginx -t under a minimal main configuration; the netns should allow non-local binds. */
export function nginxCheck(ns: string, http?: string, stream?: string): RunResult {
  return inTemp((dir) => {
    const main = [`pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log;`];
    if (stream) {
      writeFileSync(join(dir, 'stream.conf'), stream);
      main.push(`load_module ${STREAM_MODULE};`, `include ${dir}/stream.conf;`);
    }
    main.push('events {}', 'http {', '    access_log off;');
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) main.push(`    ${t}_temp_path ${dir}/${t};`);
    if (http) {
      writeFileSync(join(dir, 'http.conf'), http);
      main.push(`    include ${dir}/http.conf;`);
    }
    main.push('}');
    writeFileSync(join(dir, 'nginx.conf'), `${main.join('\n')}\n`);
    return runIn(ns, ['nginx', '-t', '-q', '-e', `${dir}/error.log`, '-p', `${dir}/`, '-c', `${dir}/nginx.conf`]);
  });
}

export function haproxyCheck(ns: string, text: string): RunResult {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'haproxy.cfg'), text);
    return runIn(ns, ['haproxy', '-c', '-q', '-f', join(dir, 'haproxy.cfg')]);
  });
}

export function nftCheck(ns: string, text: string): RunResult {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'rules.nft'), text);
    return runIn(ns, ['nft', '-c', '-f', join(dir, 'rules.nft')]);
  });
}

export function iptablesCheck(ns: string, text: string): RunResult {
  return inTemp((dir) => {
    writeFileSync(join(dir, 'rules.iptables'), text);
    return runIn(ns, ['iptables-restore', '--test', '--noflush', join(dir, 'rules.iptables')]);
  });
}

/** sh -n and shellcheck on many scripts at once (one shellcheck process). */
export function shellCheckMany(scripts: ReadonlyArray<{ name: string; text: string }>): RunResult {
  return inTemp((dir) => {
    const files = scripts.map((s, i) => {
      const f = join(dir, `${i}-${s.name.replace(/[^\w.-]/g, '_')}.sh`);
      writeFileSync(f, s.text);
      return f;
    });
    for (const f of files) {
      const n = run(['sh', '-n', f]);
      if (n.exitCode !== 0) return { ...n, stderr: `sh -n ${f}: ${n.stderr}` };
    }
    return run(['shellcheck', '-s', 'sh', '-f', 'gcc', ...files]);
  });
}
