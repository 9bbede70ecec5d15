/** The one component that writes lines: clipped, styled, in a column. */
import { Box, Text } from 'ink';
import { clip, type Line } from './line.js';

export { clip, windowAround, type Line } from './line.js';

export function Lines({ lines, width }: { lines: readonly Line[]; width: number }) {
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} {...(l.color ? { color: l.color } : {})} bold={l.bold ?? false} dimColor={l.dim ?? false} inverse={l.inverse ?? false}>
          {clip(l.text, width) || ' '}
        </Text>
      ))}
    </Box>
  );
}
