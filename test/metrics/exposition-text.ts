/**
 * Reading the Prometheus text format back in tests: `promtool check
 * metrics` for validity (Debian's `prometheus` package, installed by
 * scripts/setup-system.sh), and a small parser for the values.
 */
import { spawnSync } from 'node:child_process';

/** What `promtool check metrics` said about `text`: its exit status and everything it printed. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool is needed to check the exposition format (apt-get install prometheus): ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The samples of an exposition, keyed by name and labels as written: `name{a="1",b="2"}` or `name`. */
export function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    const value = line.slice(at + 1);
    samples.set(line.slice(0, at), value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value));
  }
  return samples;
}

/** The value of one sample; throws when the exposition has no such sample. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const entries = Object.entries(labels);
  const key = entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const value = parseSamples(text).get(key);
  if (value === undefined) throw new Error(`no sample ${key} in:\n${text}`);
  return value;
}
