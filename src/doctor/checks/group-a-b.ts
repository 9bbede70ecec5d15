/** Checks of sections A (kernel, modules, runtime) and B (director network) of pitfalls.md. */
import type { Check } from '../check.js';

export const GROUP_A_B: Check<any>[] = [];
