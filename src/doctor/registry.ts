/** Every check the doctor knows, in pitfalls.md order; ids are unique (a test holds that). */
import type { Check } from './check.js';
import { GROUP_A_B } from './checks/group-a-b.js';
import { GROUP_C_D_E } from './checks/group-c-d-e.js';

export const CHECKS: readonly Check<any>[] = [...GROUP_A_B, ...GROUP_C_D_E];

export function checkById(id: string): Check<any> | undefined {
  return CHECKS.find((c) => c.id === id);
}
