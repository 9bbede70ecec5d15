/** Model -> answers YAML: the normalized model written out, every value explicit. */
import { stringify } from 'yaml';
import type { Installation } from '../model.js';

export function renderAnswers(model: Installation, comment?: string): string {
  const head = `# lvs-toolkit answers file${comment ? ` (${comment})` : ''}\n# Edit and check with: lvs-wizard check FILE; generate files with: lvs-wizard generate FILE --out DIR\n`;
  return head + stringify(model, { lineWidth: 0, aliasDuplicateObjects: false });
}
