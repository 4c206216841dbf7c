/**
 * Every process the bench starts is tracked here, so that a failure or an
 * interrupt ends exactly those processes (by their own handle), and no other.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

export function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

/** The process ids of the tracked processes still running. */
export function livePids(): number[] {
  const pids: number[] = [];
  for (const proc of live) if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) pids.push(proc.pid);
  return pids;
}

/** Kills every tracked process that is still running. */
export function killAll(): void {
  for (const proc of live) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  live.clear();
}

process.once('exit', killAll);

/** Waits for `proc` to exit; after `ms`, kills it. */
export async function ended(proc: ChildProcess, ms: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
    }, ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
