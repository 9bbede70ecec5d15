/** Checks of sections C (real servers), D (VRRP, keepalived) and E (containers) of pitfalls.md. */
import type { Check } from '../check.js';

export const GROUP_C_D_E: Check<any>[] = [];
