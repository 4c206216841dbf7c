/**
 * A hand-written SVG chart of one run: relay capacity (frames/s), and per
 * end-to-end scenario the throughput at peak and the p99 latency at half of
 * imrelay's peak, per system. Horizontal bars, values printed on each bar.
 */
import { dec, short } from './format.js';
import { describeMachine } from './machine.js';
import type { Results } from './results.js';
import { TARGETS } from './targets.js';

const W = 1000;
const COLORS: Record<string, string> = {
  imrelay: '#1f6fb4',
  'imrelay relay': '#1f6fb4',
  'imrelay-mesh': '#6baed6',
  loop: '#8c8c8c',
  'raw TCP pipe (limit)': '#8c8c8c',
  redis: '#c8372d',
  'redis-server': '#c8372d',
  nats: '#2f9a48',
};

/** Marks a figure measured while other processes took 10% of a core or more. */
const busy = (x: { otherCpuPercent?: number }): string => ((x.otherCpuPercent ?? 0) >= 10 ? ' ⚠' : '');

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Bar {
  label: string;
  color: string;
  value?: number;
  text: string;
}

/** A block of horizontal bars at (x, y); returns the SVG and the height used. */
function bars(
  x: number,
  y: number,
  width: number,
  labelWidth: number,
  title: string,
  items: Bar[],
  options: { max?: number; mark?: { value: number; label: string } } = {},
): { svg: string; height: number } {
  const rowH = 22;
  const barX = x + labelWidth;
  const barW = width - labelWidth - 70;
  const values = items.map((b) => b.value ?? 0);
  const max = options.max ?? Math.max(1e-9, ...values, options.mark?.value ?? 0) * 1.1;
  const out: string[] = [`<text x="${x}" y="${y + 14}" class="h2">${esc(title)}</text>`];
  let cy = y + 24;
  for (const b of items) {
    out.push(`<text x="${barX - 8}" y="${cy + 15}" class="label" text-anchor="end">${esc(b.label)}</text>`);
    if (b.value === undefined) {
      out.push(`<text x="${barX + 4}" y="${cy + 15}" class="skip">${esc(b.text)}</text>`);
    } else {
      const clipped = b.value > max;
      const w = Math.max(1, (Math.min(b.value, max) / max) * barW);
      out.push(`<rect x="${barX}" y="${cy + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${b.color}" rx="2"/>`);
      if (clipped) {
        out.push(
          `<path d="M${barX + w - 14} ${cy + 2} l6 ${rowH - 4} M${barX + w - 8} ${cy + 2} l6 ${rowH - 4}" stroke="#fff" stroke-width="3"/>`,
        );
      }
      out.push(`<text x="${barX + w + 5}" y="${cy + 15}" class="value">${esc(b.text)}</text>`);
    }
    cy += rowH;
  }
  if (options.mark && options.mark.value <= max) {
    const mx = barX + (options.mark.value / max) * barW;
    out.push(`<line x1="${mx.toFixed(1)}" y1="${y + 20}" x2="${mx.toFixed(1)}" y2="${cy + 2}" class="mark"/>`);
    out.push(`<text x="${mx.toFixed(1)}" y="${cy + 14}" class="marklabel" text-anchor="middle">${esc(options.mark.label)}</text>`);
    cy += 14;
  }
  return { svg: out.join('\n'), height: cy - y + 12 };
}

export function renderSvg(r: Results): string {
  const parts: string[] = [];
  let y = 20;
  parts.push(`<text x="20" y="${y + 8}" class="h1">imrelay benchmark${r.quick ? ' (--quick smoke run: not figures)' : ''}</text>`);
  y += 26;
  parts.push(`<text x="20" y="${y}" class="sub">${esc(describeMachine(r.machine))}</text>`);
  y += 15;
  parts.push(
    `<text x="20" y="${y}" class="sub">${esc(r.startedAt.slice(0, 16).replace('T', ' '))} UTC` +
      `${r.machine.commit ? `; commit ${esc(r.machine.commit)}` : ''}; ⚠ = other processes took ≥ 10% of a core meanwhile</text>`,
  );
  y += 18;

  if (r.capacity.length > 0) {
    const relayMax = Math.max(
      TARGETS.relayFramesPerSecond,
      ...r.capacity.filter((c) => c.id !== 'raw-pipe').map((c) => c.framesPerSecond ?? 0),
    );
    const block = bars(
      20,
      y,
      W - 40,
      300,
      'Relay capacity: frames per second through the relay process (higher is better)',
      r.capacity.map((c) => ({
        label: `${c.label} · ${c.system}`,
        color: COLORS[c.system] ?? '#555',
        ...(c.skipped ? {} : { value: c.framesPerSecond }),
        text: c.skipped ? c.skipped : `${short(c.framesPerSecond)}/s${busy(c)}`,
      })),
      { max: relayMax * 1.15, mark: { value: TARGETS.relayFramesPerSecond, label: 'target 1M' } },
    );
    parts.push(block.svg);
    y += block.height + 8;
  }

  const workloads = [...new Set(r.e2e.map((e) => e.workload))];
  const order = ['loop', 'imrelay', 'imrelay-mesh', 'imrelay-redis', 'redis', 'imrelay-redis-cluster', 'redis-cluster', 'nats'];
  for (const w of workloads) {
    const rows = r.e2e.filter((e) => e.workload === w);
    const label = rows[0]!.workloadLabel;
    const pick = (mode: string) =>
      order.map((s) => rows.find((e) => e.system === s && e.mode === mode)).filter((e): e is NonNullable<typeof e> => e !== undefined);
    const peak = pick('peak');
    const half = pick('half-peak');
    const ceiling = peak.find((e) => e.system === 'loop' && !e.skipped)?.messagesPerSecond;
    const left = bars(
      20,
      y,
      (W - 40) / 2 - 10,
      170,
      `${label}: msg/s at peak`,
      peak.map((e) => ({
        label: e.systemLabel,
        color: COLORS[e.system] ?? '#555',
        ...(e.skipped ? {} : { value: e.messagesPerSecond }),
        text: e.skipped ? e.skipped.replace(/ \(install.*$/, '') : `${short(e.messagesPerSecond)}${busy(e)}`,
      })),
      ceiling ? { mark: { value: ceiling * TARGETS.ceilingShare, label: '90% of ceiling' } } : {},
    );
    const right = bars(
      W / 2 + 10,
      y,
      (W - 40) / 2 - 10,
      170,
      `p99 ms at half of imrelay's peak (lower is better)`,
      half.map((e) => ({
        label: e.systemLabel,
        color: COLORS[e.system] ?? '#555',
        ...(e.skipped || !e.latencyMs ? {} : { value: e.latencyMs.p99 }),
        text: e.skipped ? e.skipped.replace(/ \(install.*$/, '') : `${dec(e.latencyMs?.p99)} ms${busy(e)}`,
      })),
      { mark: { value: TARGETS.p99Ms, label: `target ${TARGETS.p99Ms} ms` } },
    );
    parts.push(left.svg, right.svg);
    y += Math.max(left.height, right.height) + 8;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>',
    '.h1{font-size:18px;font-weight:bold;fill:#222}',
    '.h2{font-size:13px;font-weight:bold;fill:#333}',
    '.sub{font-size:11px;fill:#666}',
    '.label{font-size:11px;fill:#333}',
    '.value{font-size:11px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}',
    '.skip{font-size:11px;fill:#999;font-style:italic}',
    '.mark{stroke:#444;stroke-dasharray:4 3;stroke-width:1}',
    '.marklabel{font-size:10px;fill:#444;paint-order:stroke;stroke:#fff;stroke-width:3px}',
    '</style>',
    `<rect width="${W}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
