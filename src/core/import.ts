/**
 * Any config a user already runs -> model. Detects the format from the text
 * (and the file name as a tie-breaker) and hands it to that format's parser.
 */
import { parseAnswers } from './parse/answers.js';
import { parseHaproxy } from './parse/haproxy.js';
import { parseIpvsadm } from './parse/ipvsadm.js';
import { parseKeepalived } from './parse/keepalived.js';
import { parseLdirectord } from './parse/ldirectord.js';
import { parseLvsCf } from './parse/lvs-cf.js';
import { parseNginx } from './parse/nginx.js';
import type { ParseOptions, ParseResult } from './parse/types.js';

export const FORMATS = ['yaml', 'keepalived', 'lvs.cf', 'ipvsadm', 'ldirectord', 'nginx', 'haproxy'] as const;
export type Format = (typeof FORMATS)[number];

export const FORMAT_HELP: Record<Format, string> = {
  yaml: 'lvs-toolkit answers file (YAML or JSON)',
  keepalived: 'keepalived.conf (VRRP instances and virtual_server blocks)',
  'lvs.cf': 'Piranha /etc/sysconfig/ha/lvs.cf',
  ipvsadm: 'ipvsadm -Sn / ipvsadm-save output, or the ipvsadm -Ln listing',
  ldirectord: 'ldirectord.cf',
  nginx: 'nginx upstream/server configuration',
  haproxy: 'haproxy.cfg',
};

/** Best guess of a config's format; undefined when nothing fits. */
export function detectFormat(text: string, fileName = ''): Format | undefined {
  const head = text.slice(0, 65536);
  const lines = head.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
  const first = lines[0] ?? '';
  if (/\bIP Virtual Server version\b/.test(head) || /^(-A|-a)\s+-[tuf]\s/m.test(head) || /^(TCP|UDP|FWM)\s+\S+\s+\w+/m.test(head) && /->/.test(head)) return 'ipvsadm';
  if (/^\s*(global_defs|vrrp_instance|virtual_server|virtual_server_group|vrrp_sync_group|vrrp_script)\b[^\n]*\{/m.test(head)) return 'keepalived';
  if (/^\s*(serial_no|primary|network|nat_router|backup_active)\s*=/m.test(head) || /^\s*virtual\s+\S+\s*\{/m.test(head) && /=\s*/.test(head)) return 'lvs.cf';
  if (/^\s*virtual\s*=/m.test(head) || /^\s*(checktimeout|checkinterval|autoreload)\s*=/m.test(head)) return 'ldirectord';
  if (/^\s*(frontend|backend|listen|defaults|global)(\s|$)/m.test(head) && !/\{/.test(first)) return 'haproxy';
  if (/^\s*(upstream\s+\S+|http|stream|server)\s*\{/m.test(head) || /\bproxy_pass\b/.test(head)) return 'nginx';
  if (/^\s*(version|services|directors|name)\s*:/m.test(head) || /^\s*\{/.test(first)) return 'yaml';
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml') || lower.endsWith('.json')) return 'yaml';
  if (lower.includes('keepalived')) return 'keepalived';
  if (lower.endsWith('lvs.cf')) return 'lvs.cf';
  if (lower.includes('ldirectord')) return 'ldirectord';
  if (lower.includes('haproxy')) return 'haproxy';
  if (lower.includes('nginx')) return 'nginx';
  return undefined;
}

export function parseAs(format: Format, text: string, opts: ParseOptions): ParseResult {
  switch (format) {
    case 'yaml':
      return parseAnswers(text, opts);
    case 'keepalived':
      return parseKeepalived(text, opts);
    case 'lvs.cf':
      return parseLvsCf(text, opts);
    case 'ipvsadm':
      return parseIpvsadm(text, opts);
    case 'ldirectord':
      return parseLdirectord(text, opts);
    case 'nginx':
      return parseNginx(text, opts);
    case 'haproxy':
      return parseHaproxy(text, opts);
  }
}

/** Detect and parse. Binary or unrecognised input is a positioned error, never a throw. */
export function importConfig(text: string, opts: ParseOptions & { format?: Format }): ParseResult & { format?: Format } {
  if (text.includes('\u0000')) {
    const at = text.indexOf('\u0000');
    const line = text.slice(0, at).split('\n').length;
    return { ok: false, problems: [{ severity: 'error', path: '', message: 'this is binary data, not a configuration file', source: { file: opts.file, line, column: 1 } }] };
  }
  const format = opts.format ?? detectFormat(text, opts.file);
  if (!format) {
    return {
      ok: false,
      problems: [
        {
          severity: 'error',
          path: '',
          message: 'cannot tell what kind of configuration this is',
          hint: `name it with --from (${FORMATS.join(', ')})`,
          source: { file: opts.file, line: 1, column: 1 },
        },
      ],
    };
  }
  return { ...parseAs(format, text, opts), format };
}
