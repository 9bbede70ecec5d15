/**
 * A doctor check is a record, not a procedure (DESIGN rule 3): `detect` is
 * its only I/O and returns a small typed observation; `evaluate` is pure and
 * turns the observation and the design into findings; `fix` says why and
 * gives the exact commands (argv) and the lines that make it survive a reboot.
 * The runner (runner.ts) runs detects in parallel and turns a throw into an
 * `error` finding: it never dies with a check.
 */
import type { Installation, Mode, PlatformType } from '../core/model.js';
import type { Host } from '../host/types.js';

export type Role = 'director' | 'balancer' | 'real-server' | 'container-host' | 'client';
export type Status = 'pass' | 'warn' | 'fail' | 'skip' | 'error';

/** What to do about a finding: commands to run now, lines to keep after a reboot. */
export interface Fix {
  why: string;
  /** Each an argv, run on the finding's host in order. */
  commands: string[][];
  /** Files to write or lines to add, for persistence. */
  files: Array<{ path: string; lines: string[] }>;
}

export interface Finding {
  status: Status;
  /** One sentence a sysadmin reads first. */
  message: string;
  /** What was read that shows it: command outputs, file lines, sysctl values. */
  evidence: string[];
  fix?: Fix;
  /** Which node, when a check looks beyond its own host (e.g. an ARP probe's answerers). */
  subject?: string;
}

/** What a check knows about where it runs and what the design says. */
export interface CheckContext {
  /** The node's name: a lab node name, a host name, a design's node name. */
  node: string;
  role: Role;
  platform: PlatformType;
  /** Modes of the services this node takes part in. */
  modes: Mode[];
  /** The design, when the doctor was given one (--config, --lab); undefined on a bare machine. */
  model?: Installation;
  /** Other nodes' hosts by name (the ARP probe runs on a neighbour). */
  peers?: ReadonlyMap<string, { role: Role; host: Host }>;
}

export interface Check<Observation = unknown> {
  /** kebab-case; also the file name under checks/, the CLI argument and the JSON key. */
  id: string;
  title: string;
  /** Section of ../shared/research/pitfalls.md (A kernel, B director, C real server, D VRRP, E containers). */
  section: 'A' | 'B' | 'C' | 'D' | 'E';
  /** Where the pitfall is documented (issues, man pages, kernel docs). */
  sources: string[];
  appliesTo(ctx: CheckContext): boolean;
  /** The only I/O. Throwing is allowed: the runner makes it an `error` finding with the message. */
  detect(host: Host, ctx: CheckContext): Promise<Observation>;
  /** Pure: same observation and context, same findings. */
  evaluate(obs: Observation, ctx: CheckContext): Finding[];
}

/** A finding as reported: the check it came from and where. */
export interface Result extends Finding {
  id: string;
  title: string;
  host: string;
  role: Role;
}

/** The kernel uses max(conf/all, conf/IFACE) for rp_filter, arp_ignore and arp_announce (ip-sysctl.rst). */
export function effectiveSysctl(all: number | undefined, iface: number | undefined): number | undefined {
  if (all === undefined) return iface;
  if (iface === undefined) return all;
  return Math.max(all, iface);
}
