/** The results as markdown tables (printed, written to latest.md, and shown in docs/performance.md). */
import { dec, int, mb, pct } from './format.js';
import { describeMachine } from './machine.js';
import type { CapacityRow, E2ERow, Results } from './results.js';

/** Other processes' CPU (% of a core) from which a measurement is marked. */
const BUSY = 10;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const CAPACITY_HEADER = ['Case', 'System', 'frames/s', 'deliveries/s', 'CPU µs/frame', 'CPU', 'peak RSS MB', 'Notes'];
export const E2E_HEADER = [
  'Scenario',
  'System',
  'Load',
  'msg/s',
  'user deliveries/s',
  'MB/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'node CPU µs/msg (kernel)',
  'server CPU µs/msg',
  'server peak RSS MB',
  'vs ceiling',
];

function capacityRow(c: CapacityRow): string[] {
  if (c.skipped) return [c.label, c.system, c.skipped, '', '', '', '', ''];
  const notes = [
    ...(c.problems ?? []).map((p) => `**${p}**`),
    ...((c.otherCpuPercent ?? 0) >= BUSY ? [`⚠ other processes took ${c.otherCpuPercent}% of a core`] : []),
    ...(c.note ? [c.note] : []),
  ].join('; ');
  return [
    c.label,
    c.system,
    int(c.framesPerSecond),
    c.deliveriesPerSecond !== undefined ? int(c.deliveriesPerSecond) : '',
    dec(c.cpuMicrosPerFrame),
    pct(c.cpuPercent),
    c.peakRssBytes !== undefined ? mb(c.peakRssBytes) : '',
    notes,
  ];
}

function e2eRow(e: E2ERow, ceiling: E2ERow | undefined): string[] {
  const busy = (e.otherCpuPercent ?? 0) >= BUSY ? ` ⚠ other processes took ${e.otherCpuPercent}% of a core` : '';
  const offered = e.mode === 'fixed' ? 'fixed' : 'half peak';
  const load = (e.mode === 'peak' ? 'peak' : e.targetRate === undefined ? offered : `${offered} (${int(e.targetRate)} msg/s)`) + busy;
  if (e.skipped) return [e.workloadLabel, e.systemLabel, load, e.skipped, '', '', '', '', '', '', '', '', ''];
  const share =
    e.mode === 'peak' && e.system !== 'loop' && ceiling?.messagesPerSecond && e.messagesPerSecond !== undefined
      ? `${Math.round((e.messagesPerSecond / ceiling.messagesPerSecond) * 100)}%`
      : '';
  const flags = [e.lost ? `${int(e.lost)} lost` : '', e.sendErrors ? `${int(e.sendErrors)} send errors` : ''].filter(Boolean);
  return [
    e.workloadLabel,
    e.systemLabel,
    load,
    int(e.messagesPerSecond) + (flags.length ? ` (**${flags.join(', ')}**)` : ''),
    int(e.userDeliveriesPerSecond),
    dec(e.megabytesPerSecond),
    dec(e.latencyMs?.p50),
    dec(e.latencyMs?.p99),
    dec(e.latencyMs?.p999),
    dec(e.nodeCpuMicrosPerMessage) + (e.nodeSystemCpuMicrosPerMessage !== undefined ? ` (${dec(e.nodeSystemCpuMicrosPerMessage)})` : ''),
    e.serverCpuMicrosPerMessage !== undefined ? dec(e.serverCpuMicrosPerMessage) : '',
    e.serverPeakRssBytes !== undefined ? mb(e.serverPeakRssBytes) : '',
    share,
  ];
}

/** Markdown for the whole run, headed with the machine it ran on. */
export function renderMarkdown(r: Results, options: { title?: boolean } = {}): string {
  const out: string[] = [];
  if (options.title !== false) out.push(`# imrelay benchmark${r.quick ? ' (--quick: smoke-test counts, not figures)' : ''}`, '');
  out.push(
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${describeMachine(r.machine)}` +
      `${r.machine.commit ? `, commit ${r.machine.commit}` : ''}; the run took ${Math.round(r.seconds)} s.`,
  );
  const marked = [...r.capacity, ...r.e2e].filter((x) => (x.otherCpuPercent ?? 0) >= BUSY).length;
  if (marked > 0) {
    out.push(
      '',
      `> ⚠ ${marked} measurement${marked > 1 ? 's were' : ' was'} taken while other processes on the machine used ${BUSY}% of a core or more ` +
        `(marked${r.quick ? '' : '; each was retried up to twice and the quietest kept'}): ${marked > 1 ? 'those figures are' : 'that figure is'} lower than a quiet machine gives.`,
    );
  }
  if (r.capacity.length > 0) {
    out.push('', '## Relay capacity', '');
    out.push(table(CAPACITY_HEADER, r.capacity.map(capacityRow)));
  }
  if (r.e2e.length > 0) {
    out.push('', '## End to end', '');
    const ceiling = (e: E2ERow) => r.e2e.find((c) => c.system === 'loop' && c.workload === e.workload && c.mode === e.mode && !c.skipped);
    out.push(
      table(
        E2E_HEADER,
        r.e2e.map((e) => e2eRow(e, ceiling(e))),
      ),
    );
  }
  const s = r.slowConsumer;
  if (s) {
    out.push('', '## Slow consumer', '');
    if (s.skipped) {
      out.push(s.skipped);
    } else {
      out.push(
        `${int(s.rate)} msg/s of ${int(s.messageBytes)} B for ${dec(s.seconds)} s, one host per message over 4 nodes; one node reads a tenth of its share. ` +
          `Relay limit per node: ${mb(s.maxOutboundBytes)} MB.`,
        '',
      );
      out.push(
        table(
          [
            'sent',
            'consumed',
            'reported overflow',
            'reported other',
            'rejected',
            'unaccounted',
            'relay RSS start → peak → end MB',
            'Result',
          ],
          [
            [
              int(s.sent),
              int(s.consumed),
              int(s.reportedOverflow),
              int(s.reportedOther),
              int(s.rejected) +
                (s.rejected
                  ? ` (${Object.entries(s.rejections)
                      .map(([k, v]) => `${k} ${v}`)
                      .join(', ')})`
                  : ''),
              int(s.unaccounted),
              `${mb(s.rss.startBytes)} → ${mb(s.rss.peakBytes)} → ${mb(s.rss.endBytes)}`,
              s.ok ? 'ok: nothing dropped silently' : `**FAILED**: ${s.problems.join('; ')}`,
            ],
          ],
        ),
      );
      out.push('');
      out.push(
        table(
          ['node', 'reads', 'sent', 'reported delivered', 'reported overflow', 'consumed'],
          s.perHost.map((h) => [
            h.host,
            h.slow ? 'a tenth of its share' : 'at once',
            int(h.sent),
            int(h.delivered),
            int(h.overflow),
            int(h.consumed),
          ]),
        ),
      );
    }
  }
  if (r.targets.length > 0) {
    out.push('', '## Targets', '');
    out.push(
      table(
        ['Target', 'Measured', 'Met'],
        r.targets.map((t) => [t.target, t.measured, t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**']),
      ),
    );
  }
  if (r.errors.length > 0) out.push('', '## Errors', '', ...r.errors.map((e) => `- ${e.split('\n')[0]}`));
  if (r.warnings.length > 0) out.push('', '## Warnings', '', ...r.warnings.map((w) => `- ${w.split('\n')[0]}`));
  return out.join('\n') + '\n';
}
