/**
 * Starts {@link ./relay-child.ts} and watches it: its resident memory (read
 * from /proc, so it is measured even while the relay's event loop is stuck),
 * its peak, and the STAT lines it prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RelayServerOptions, RelayStats } from '../../src/index.js';
import { spawnReady, type TrackedChild } from '../helpers/child-process.js';

const SCRIPT = fileURLToPath(new URL('./relay-child.ts', import.meta.url));

/** One STAT line of the relay process. */
export interface RelayStat {
  at: number;
  /** True for the line that answers a `gc` request, printed right after collecting garbage. */
  gc: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** The longest event-loop stall since the previous line. */
  lagMs: number;
  lagMaxEverMs: number;
  stats: RelayStats;
  /** Error codes the relay raised (peers it closed), with their counts. */
  errors: Record<string, number>;
  /** `honest-x:<code>` for the honest nodes, `other:<code>` for the rest. */
  downs: Record<string, number>;
}

export interface FuzzRelay extends TrackedChild {
  port: number;
  pid: number;
  /** The latest STAT line, once one arrived. */
  latest: RelayStat | undefined;
  /** Milliseconds since the last STAT line (or the start): over the STAT interval, the event loop is stuck. */
  readonly silentMs: number;
  /** The longest event-loop stall the relay reported since {@link resetPeaks}. */
  lagMaxMs: number;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** The last few KiB the process wrote on stderr (a crash's stack trace). */
  stderrTail(): string;
  /** Resident memory now and its peak since the last {@link resetPeaks} (or the start), in bytes, from /proc. */
  memory(): { rss: number; peak: number };
  /**
   * Starts measuring peaks afresh: resets the kernel's high-water mark of the
   * process (`clear_refs`), and the stall maximum. Returns false when the
   * kernel refused, in which case {@link memory} `peak` is the sampled maximum.
   */
  resetPeaks(): boolean;
  /** Resolves with the next STAT line (fresh counters), or rejects after `timeoutMs`. */
  nextStat(timeoutMs?: number): Promise<RelayStat>;
  /**
   * Kills the relay (SIGKILL) as soon as its resident memory passes
   * `limitBytes`: a relay without a bound would otherwise take the machine.
   * {@link killedAt} then says how much it held.
   */
  watchdog(limitBytes: number): void;
  /** The resident memory at which the watchdog killed the relay, if it did. */
  killedAt: number | undefined;
  /** Collects the relay's garbage and resolves with the STAT line printed right after. */
  collectGarbage(timeoutMs?: number): Promise<RelayStat>;
}

/** Reads VmRSS and VmHWM of `pid`, in bytes; zeros once it is gone. */
export function procMemory(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Spawns a relay with `options` (JSON-serialisable) in its own process and resolves once it listens. */
export async function spawnFuzzRelay(options: RelayServerOptions, timeoutMs = 15_000): Promise<FuzzRelay> {
  const spawned = await spawnReady(['--expose-gc', SCRIPT, JSON.stringify(options)], {
    label: 'fuzz relay',
    ready: /PORT (\d+)/,
    timeoutMs,
  });
  const { child } = spawned;
  const pid = child.pid!;
  const readyAt = Date.now();
  const waiters = new Set<(s: RelayStat) => void>();
  let sampledPeak = 0;
  let hwmUsable = true;
  let partial = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16 * 1024);
  });
  const relay: FuzzRelay = {
    ...spawned,
    port: Number(spawned.ready[1]),
    pid,
    latest: undefined,
    lagMaxMs: 0,
    get silentMs() {
      return Date.now() - (relay.latest?.at ?? readyAt);
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    stderrTail() {
      return stderr;
    },
    killedAt: undefined,
    watchdog(limitBytes) {
      const timer = setInterval(() => {
        if (!relay.alive) {
          clearInterval(timer);
          return;
        }
        const { rss } = procMemory(pid);
        sampledPeak = Math.max(sampledPeak, rss);
        if (rss > limitBytes) {
          relay.killedAt = rss;
          child.kill('SIGKILL');
          clearInterval(timer);
        }
      }, 20);
      timer.unref();
    },
    memory() {
      const { rss, hwm } = procMemory(pid);
      sampledPeak = Math.max(sampledPeak, rss);
      return { rss, peak: hwmUsable ? Math.max(hwm, sampledPeak) : sampledPeak };
    },
    resetPeaks() {
      relay.lagMaxMs = 0;
      sampledPeak = procMemory(pid).rss;
      try {
        // "5" resets the peak resident set size (Linux 4.0 and later).
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        hwmUsable = true;
      } catch {
        hwmUsable = false;
      }
      return hwmUsable;
    },
    async collectGarbage(timeoutMs = 5_000) {
      const stat = waitStat(timeoutMs, (s) => s.gc);
      child.stdin!.write('gc\n');
      return stat;
    },
    nextStat(timeoutMs = 5_000) {
      return waitStat(timeoutMs, () => true);
    },
  };
  function waitStat(timeoutMs: number, accept: (s: RelayStat) => boolean): Promise<RelayStat> {
    return new Promise<RelayStat>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(onStat);
        reject(new Error(`no STAT line from the relay within ${timeoutMs} ms (alive: ${relay.alive})`));
      }, timeoutMs);
      const onStat = (s: RelayStat): void => {
        if (!accept(s)) return;
        clearTimeout(timer);
        waiters.delete(onStat);
        resolve(s);
      };
      waiters.add(onStat);
    });
  }
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!line.startsWith('STAT ')) continue;
      const stat = JSON.parse(line.slice(5)) as RelayStat;
      relay.latest = stat;
      relay.lagMaxMs = Math.max(relay.lagMaxMs, stat.lagMs);
      sampledPeak = Math.max(sampledPeak, stat.rss);
      for (const w of [...waiters]) w(stat);
    }
  });
  return relay;
}

export const MiB = 1024 * 1024;

/** `n` bytes as MiB with one decimal, for messages. */
export function mib(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}
