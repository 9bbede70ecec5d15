/** What a renderer hands out: file text with where it goes and who checks it. */

/** The real tool that accepts or rejects a generated file. */
export type Validator = 'keepalived' | 'nft' | 'iptables-restore' | 'nginx' | 'haproxy' | 'sh' | 'ipvsadm-restore' | 'none';

export interface GeneratedFile {
  /** Absolute path on the node, e.g. /etc/keepalived/keepalived.conf. */
  path: string;
  content: string;
  /** Unix permission bits, e.g. 0o644, 0o755 for scripts. */
  mode: number;
  validator: Validator;
  /** One line for the "what goes where" summary. */
  description: string;
}

/** Everything one node needs: files to place, and a POSIX sh script that applies the runtime state. */
export interface NodeSetup {
  files: GeneratedFile[];
  /** POSIX sh, idempotent, `set -eu`; applies what the files make persistent (modules, sysctls, addresses, routes). */
  script: string;
}

/** A POSIX-sh single-quoted word. */
export function shQuote(s: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
