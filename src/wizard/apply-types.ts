/**
 * The contract between the wizard's pure state and the apply run (apply-run.ts):
 * types only, so the reducer can name what an apply reports without importing
 * the code that touches machines.
 */
import type { ProgressEvent } from '../apply/execute.js';

export type { TargetSpec } from './targets-file.js';

/** Whether the wizard could reach one node through its target URI. */
export interface Reachability {
  node: string;
  uri: string;
  ok: boolean;
  detail: string;
}

/** One node's part of a plan: each file against what is there, and what runs after. */
export interface NodeDiff {
  node: string;
  files: Array<{ path: string; status: 'new' | 'changed' | 'unchanged'; diff: string }>;
  /** What runs on the node after its files are written; empty when nothing changes there. */
  commands: string[][];
}

export type ApplyEvent = ProgressEvent | { kind: 'doctor'; node: string; summary: string } | { kind: 'traced'; ok: boolean; detail: string };

export interface ApplyOutcome {
  ok: boolean;
  stamp: string;
  changed: Array<{ node: string; path: string }>;
  failure?: { node: string; step: string; message: string; output?: string };
  /** The doctor's findings per node that are not a pass: "lb1: warn ipvs-timeouts: …". */
  doctor: string[];
  /** The command that undoes this apply; empty when nothing was changed. */
  undo: string;
  /** Every file on every node was already as designed: nothing was written or reloaded. */
  noChanges: boolean;
  /** The plan that was (or, with dryRun, would be) carried out. */
  diffs: NodeDiff[];
  /** When no tracer was given: how to send a request through the VIP by hand. */
  howToTest: string[];
  /** The request sent through the VIP after the apply, when a tracer was given (the lab's client). */
  traced?: { ok: boolean; detail: string };
  /** Earlier applies that never finished; the apply refused to start on top of them. */
  interrupted: Array<{ stamp: string; nodes: string[] }>;
}

/** What the wizard's last screen shows of an apply. */
export type ApplySummary = Pick<ApplyOutcome, 'ok' | 'stamp' | 'changed' | 'failure' | 'doctor' | 'undo'> & Partial<Pick<ApplyOutcome, 'traced' | 'howToTest'>>;
