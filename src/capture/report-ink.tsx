/**
 * The live terminal view of lvs-trace (issue 5): one ladder per connection
 * that fills in as its packets are seen at each point, the verdict beside it,
 * and each point's received/dropped counters. Loaded only on a TTY (DESIGN
 * rule 8): the bin imports this file dynamically.
 */
import { Box, render, Text } from 'ink';
import { useEffect, useState } from 'react';
import { flowTitle, hopOffsets, pointLine, summaryLine, verdictPhrase, type TraceFlow } from './report-text.js';
import type { TraceReport } from './types.js';

/** How many connections the live view draws at once (the newest); the summary counts them all. */
const SHOWN = 12;

function Ladder({ flow, final }: { flow: TraceFlow; final: boolean }) {
  const offs = hopOffsets(flow);
  const colour = flow.verdict.ok ? 'green' : final ? 'red' : 'yellow';
  return (
    <Box flexDirection="column" marginBottom={1}>
      <Text>
        <Text color={colour}>{flow.verdict.ok ? '✓' : final ? '✗' : '…'}</Text> <Text bold>{flowTitle(flow)}</Text>{' '}
        <Text color={colour}>{flow.verdict.ok ? 'completed' : final ? verdictPhrase(flow) : 'in progress'}</Text>
      </Text>
      <Text>
        {'  '}
        {flow.hops.map((h, i) => (
          <Text key={`${h.point}-${i}`}>
            {i > 0 ? ' → ' : ''}
            <Text color={h.seen ? 'green' : 'gray'}>
              {h.point} {h.seen ? '●' : '○'}
            </Text>
            {offs[i] ? <Text dimColor> {offs[i]}</Text> : null}
          </Text>
        ))}
      </Text>
    </Box>
  );
}

export function TraceView({ report, final, status }: { report: TraceReport; final: boolean; status: string }) {
  const flows = final ? report.flows : report.flows.slice(-SHOWN);
  return (
    <Box flexDirection="column">
      {flows.map((f, i) => (
        <Ladder key={`${f.client}-${i}`} flow={f} final={final} />
      ))}
      <Text bold>points</Text>
      {report.points.map((p) => (
        <Text key={p.name} color={p.dropped ? 'yellow' : undefined}>
          {'  '}
          {pointLine(p)}
        </Text>
      ))}
      {(report.notes ?? []).map((n, i) => (
        <Text key={`n${i}`} color="yellow">
          note: {n.cause}
          {n.check ? ` [lvs-doctor ${n.check}]` : ''}
        </Text>
      ))}
      <Text bold>{final ? summaryLine(report) : `${status} — ${summaryLine(report)} so far (Ctrl-C stops)`}</Text>
    </Box>
  );
}

function Live({ poll, done, status, onFinal }: { poll: () => TraceReport; done: Promise<TraceReport>; status: string; onFinal: () => void }) {
  const [report, setReport] = useState(poll);
  const [final, setFinal] = useState(false);
  useEffect(() => {
    const t = setInterval(() => setReport(poll()), 300);
    void done.then((r) => {
      clearInterval(t);
      setReport(r);
      setFinal(true);
    });
    return () => clearInterval(t);
  }, [poll, done]);
  useEffect(() => {
    if (final) onFinal();
  }, [final, onFinal]);
  return <TraceView report={report} final={final} status={status} />;
}

/** Draw the live view until `done` resolves; its final frame (the whole report) stays on the terminal. */
export async function traceWithInk(poll: () => TraceReport, done: Promise<TraceReport>, status: string): Promise<void> {
  let drawn!: () => void;
  const shown = new Promise<void>((resolve) => (drawn = resolve));
  const app = render(<Live poll={poll} done={done} status={status} onFinal={drawn} />);
  try {
    await done;
    // Unmount only after the final frame (the whole report) was committed.
    await shown;
  } finally {
    app.unmount();
    await app.waitUntilExit().catch(() => undefined);
  }
}
