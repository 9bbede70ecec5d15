/**
 * plan: model + targets -> steps (pure). What will be written where, which
 * real tool validates it, what runs and reloads afterwards, what verifies.
 * The wizard shows this before anything happens; execute.ts carries it out.
 */
import type { Installation } from '../core/model.js';
import { renderNodes, type NodeBundle, type NodeRole } from '../core/render/bundle.js';
import type { Validator } from '../core/render/types.js';

/** How daemons are (re)started on a target. */
export type ServiceManager =
  /** systemctl reload-or-restart UNIT */
  | 'systemd'
  /** start or signal the daemon directly with pid files under /run (the lab's nodes, containers without an init) */
  | 'direct';

export type Step =
  | { kind: 'write-file'; node: string; path: string; content: string; mode: number; validator: Validator; description: string }
  | {
      kind: 'run';
      node: string;
      argv: string[];
      input?: string;
      why: string;
      /** Skip when nothing was written on this node in this apply. */
      onlyIfChanged: boolean;
      /** Run again after a rollback so the daemon comes back on the old files. */
      alsoAfterRollback: boolean;
    }
  | { kind: 'verify'; node: string; role: NodeRole; why: string };

export interface PlanOptions {
  serviceManager: ServiceManager;
  /** Only these nodes (default: all nodes of the design). */
  nodes?: readonly string[];
  /**
   * Arguments for each node's setup script (`lvs-toolkit-setup [--boot | --runtime-only]`).
   * Default: none with systemd (apply everything, enable the unit), `--boot` otherwise (no systemctl).
   */
  setupArgs?: readonly string[];
  /** Leave out files whose path does not pass (the lab keeps only per-node paths). */
  fileFilter?: (path: string) => boolean;
}

/**
 * How to plan for a node of lvs-lab. A lab node has its own /etc, /run and
 * /tmp but shares every other path with the other nodes of the VM
 * (src/lab/nodes.ts), and has no init: only files under /etc are written
 * (not systemd units), daemons are started or signalled directly, and the
 * setup script runs with --boot.
 */
export const LAB_NODE_PLAN: Readonly<Omit<PlanOptions, 'nodes'>> = {
  serviceManager: 'direct',
  setupArgs: ['--boot'],
  fileFilter: (path) => path.startsWith('/etc/') && !path.startsWith('/etc/systemd/'),
};

/** Backups of a lab node live in its private /etc (its /var is shared with the other nodes). */
export const LAB_BACKUP_ROOT = '/etc/lvs-toolkit/backups';

export interface NodePlan {
  node: string;
  role: NodeRole;
  steps: Step[];
}

/**
 * Nodes in a safe order: container hosts (modules, routes) first, then real
 * servers (VIP on lo before traffic can arrive), then directors and balancers.
 */
export function plan(model: Installation, opts: PlanOptions): NodePlan[] {
  const order: Record<NodeRole, number> = { 'container-host': 0, 'real-server': 1, director: 2, balancer: 2 };
  const bundles = renderNodes(model)
    .filter((b) => !opts.nodes || opts.nodes.includes(b.node))
    .sort((a, b) => order[a.role] - order[b.role]);
  const args = opts.setupArgs ?? (opts.serviceManager === 'systemd' ? [] : ['--boot']);
  return bundles.map((b) => {
    const files = opts.fileFilter ? b.files.filter((f) => opts.fileFilter!(f.path)) : b.files;
    return { node: b.node, role: b.role, steps: stepsFor({ ...b, files }, opts.serviceManager, args) };
  });
}

function stepsFor(b: NodeBundle, sm: ServiceManager, setupArgs: readonly string[]): Step[] {
  const steps: Step[] = b.files.map((f) => ({
    kind: 'write-file' as const,
    node: b.node,
    path: f.path,
    content: f.content,
    mode: f.mode,
    validator: f.validator,
    description: f.description,
  }));
  steps.push({ kind: 'run', node: b.node, argv: ['sh', '-s', '--', ...setupArgs], input: b.script, why: 'apply modules, sysctls, addresses and routes now', onlyIfChanged: true, alsoAfterRollback: false });
  for (const f of b.files) {
    const reload = reloadFor(f.path, f.validator, sm);
    if (reload) steps.push({ kind: 'run', node: b.node, ...reload, onlyIfChanged: true, alsoAfterRollback: true });
  }
  steps.push({ kind: 'verify', node: b.node, role: b.role, why: `check the ${b.role} with the doctor's checks for its role` });
  return steps;
}

/** The command that makes a running system pick up a written file. */
export function reloadFor(path: string, validator: Validator, sm: ServiceManager): { argv: string[]; why: string } | undefined {
  switch (validator) {
    case 'keepalived':
      return sm === 'systemd'
        ? { argv: ['systemctl', 'reload-or-restart', 'keepalived'], why: 'reload keepalived' }
        : {
            argv: ['sh', '-c', `if [ -s /run/keepalived.pid ] && kill -0 "$(cat /run/keepalived.pid)" 2>/dev/null; then kill -HUP "$(cat /run/keepalived.pid)"; else keepalived -f ${path} -p /run/keepalived.pid -r /run/keepalived_vrrp.pid -c /run/keepalived_checkers.pid; fi`],
            why: 'start keepalived, or make it re-read its configuration (SIGHUP)',
          };
    case 'nginx':
      return sm === 'systemd'
        ? { argv: ['systemctl', 'reload-or-restart', 'nginx'], why: 'reload nginx' }
        : { argv: ['sh', '-c', 'if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then nginx -s reload; else nginx; fi'], why: 'start nginx or reload it' };
    case 'haproxy':
      return sm === 'systemd'
        ? { argv: ['systemctl', 'reload-or-restart', 'haproxy'], why: 'reload haproxy' }
        : {
            argv: ['sh', '-c', `if [ -s /run/haproxy.pid ]; then haproxy -D -f ${path} -p /run/haproxy.pid -sf $(cat /run/haproxy.pid); else haproxy -D -f ${path} -p /run/haproxy.pid; fi`],
            why: 'start haproxy, or hand over to a new process with the new configuration',
          };
    case 'nft':
      return { argv: ['nft', '-f', path], why: 'load the firewall rules' };
    case 'iptables-restore':
      return { argv: ['iptables-restore', '--noflush', path], why: 'load the firewall rules' };
    case 'ipvsadm-restore':
      return { argv: ['sh', '-c', `ipvsadm -C && ipvsadm-restore < ${path}`], why: 'load the IPVS table' };
    case 'sh':
    case 'none':
      return undefined;
  }
}

/** The real tool's check of a candidate file at `path` before it replaces the live one. */
export function validatorArgv(validator: Validator, path: string): string[] | undefined {
  switch (validator) {
    case 'keepalived':
      return ['keepalived', '-t', '-f', path];
    case 'nft':
      return ['nft', '-c', '-f', path];
    case 'iptables-restore':
      return ['iptables-restore', '--test', '--noflush', path];
    case 'haproxy':
      return ['haproxy', '-c', '-q', '-f', path];
    case 'sh':
      return ['sh', '-n', path];
    case 'nginx':
    case 'ipvsadm-restore':
    case 'none':
      return undefined;
  }
}

/** Checked after writing, because the file is only meaningful inside the tool's main configuration. */
export function postWriteValidatorArgv(validator: Validator): string[] | undefined {
  return validator === 'nginx' ? ['nginx', '-t'] : undefined;
}
