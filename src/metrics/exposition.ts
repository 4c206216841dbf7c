import type { Histogram } from './histogram.js';

/**
 * The content type of the Prometheus text exposition format, version 0.0.4:
 * what a `/metrics` handler answers with {@link RelayServer.metrics} or
 * {@link RelayClient.metrics} as its body.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label names and values of one sample. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a family: its labels (none for a single unlabelled sample) and value. */
export interface Sample {
  labels?: Labels | undefined;
  value: number;
}

type MetricType = 'counter' | 'gauge' | 'histogram';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Writes the Prometheus text exposition format (0.0.4), one metric family
 * at a time: its `# HELP` and `# TYPE` lines, then all its samples together,
 * as the format requires. Help text and label values are escaped; names are
 * checked, so a typo fails in tests rather than at a scrape.
 *
 * The format is small and stable, which is why imrelay writes it itself
 * instead of depending on a metrics library: an application that already
 * has one appends this text to its own output.
 */
export class ExpositionWriter {
  private text = '';
  private readonly families = new Set<string>();

  /** A counter: a value that only goes up while the process lives. Its name ends in `_total`. */
  counter(name: string, help: string, samples: number | readonly Sample[]): this {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    return this.family(name, 'counter', help, samples);
  }

  /** A gauge: a value that goes up and down, read now. */
  gauge(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.family(name, 'gauge', help, samples);
  }

  /** A histogram: cumulative `_bucket` samples up to `+Inf`, then `_sum` and `_count`. */
  histogram(name: string, help: string, series: ReadonlyArray<{ labels?: Labels | undefined; histogram: Histogram }>): this {
    this.head(name, 'histogram', help);
    for (const { labels, histogram } of series) {
      const bounds = histogram.bounds;
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += histogram.counts[i]!;
        this.line(`${name}_bucket`, { ...labels, le: formatValue(bounds[i]! / histogram.scale) }, cumulative);
      }
      this.line(`${name}_bucket`, { ...labels, le: '+Inf' }, histogram.count);
      this.line(`${name}_sum`, labels, histogram.sum / histogram.scale);
      this.line(`${name}_count`, labels, histogram.count);
    }
    return this;
  }

  /** The text written so far: empty, or lines each ending in a newline. */
  toString(): string {
    return this.text;
  }

  private family(name: string, type: MetricType, help: string, samples: number | readonly Sample[]): this {
    this.head(name, type, help);
    if (typeof samples === 'number') this.line(name, undefined, samples);
    else for (const sample of samples) this.line(name, sample.labels, sample.value);
    return this;
  }

  private head(name: string, type: MetricType, help: string): void {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    // The format allows one HELP and TYPE per family, its samples all together.
    if (this.families.has(name)) throw new Error(`metric ${name} written twice`);
    this.families.add(name);
    this.text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  }

  private line(name: string, labels: Labels | undefined, value: number): void {
    this.text += `${name}${formatLabels(labels)} ${formatValue(value)}\n`;
  }
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  let out = '';
  for (const name in labels) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(name)}`);
    out += `${out === '' ? '' : ','}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return out === '' ? '' : `{${out}}`;
}

/** A sample value as the format spells it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
