/**
 * How much CPU processes other than the bench took while something was
 * measured: the machine's busy time (/proc/stat) minus the CPU of the bench
 * and every process it started (live ones from /proc/<pid>/stat, finished
 * ones through the bench's own cutime/cstime). On a 2-core machine another
 * process's burst shows up directly in the figures, so each measurement
 * records it, and a measurement taken while others used much CPU is retried.
 */
import { readFileSync } from 'node:fs';
import { livePids } from './processes.js';

/** Other processes' CPU above which a measurement is retried, % of one core. */
export const RETRY_ABOVE_PERCENT = 25;

interface Reading {
  t: number;
  busy: number;
  own: number;
}

function processJiffies(pid: number | 'self', withChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // utime, stime; then cutime, cstime: children already reaped.
    return f[11]! + f[12]! + (withChildren ? f[13]! + f[14]! : 0);
  } catch {
    return 0;
  }
}

export function readCpu(): Reading | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
    let own = processJiffies('self', true);
    for (const pid of livePids()) own += processJiffies(pid, true);
    return { t: performance.now(), busy: user + nice + system + irq + softirq, own };
  } catch {
    return undefined;
  }
}

/** Other processes' CPU between two readings, % of one core (jiffies are 1/100 s). */
export function otherCpuPercent(a: Reading | undefined, b: Reading | undefined): number | undefined {
  if (!a || !b || b.t <= a.t) return undefined;
  const seconds = (b.t - a.t) / 1000;
  return Math.max(0, Math.round((b.busy - a.busy - (b.own - a.own)) / seconds));
}

/**
 * Runs `measure` until other processes took at most RETRY_ABOVE_PERCENT of
 * a core during it, at most 1 + `retries` times; returns the quietest result.
 */
export async function quietest<T extends { otherCpuPercent?: number }>(
  measure: () => Promise<T>,
  retries: number,
  log: (line: string) => void = () => {},
): Promise<T> {
  let best: T | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const result = await measure();
    if (best === undefined || (result.otherCpuPercent ?? 0) < (best.otherCpuPercent ?? 0)) best = result;
    if ((result.otherCpuPercent ?? 0) <= RETRY_ABOVE_PERCENT) break;
    if (attempt < retries) log(`  other processes used ${result.otherCpuPercent}% of a core meanwhile: measuring again`);
  }
  return best!;
}
