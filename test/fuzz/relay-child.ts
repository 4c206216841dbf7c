/**
 * A relay in a process of its own for the fuzz and regression tests, so that
 * its memory is its own to measure:
 *
 *   node --import tsx test/fuzz/relay-child.ts '<RelayServerOptions as JSON>'
 *
 * Prints `PORT <n>` once listening, then a `STAT <json>` line every
 * `STAT_INTERVAL_MS`: `process.memoryUsage()`, the longest event-loop stall
 * since the previous line and since the start, the relay's counters and the
 * codes of the errors it raised. A `gc` line on stdin (with `--expose-gc`)
 * collects garbage and prints a STAT line at once, marked `gc: true`. Exits
 * when its stdin closes, so it never outlives the test that started it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RelayServer, type RelayServerOptions } from '../../src/index.js';

const STAT_INTERVAL_MS = 100;

const options = JSON.parse(process.argv[2] ?? '{}') as RelayServerOptions;
const server = new RelayServer({ host: '127.0.0.1', port: 0, startupGraceMs: 0, ...options });
const errors: Record<string, number> = {};
const downs: Record<string, number> = {};
server.on('error', (err) => {
  errors[err.code] = (errors[err.code] ?? 0) + 1;
});
server.on('node:down', (node, reason) => {
  // Only the fuzz's honest nodes are worth naming; the rest are counted together.
  const key = node.nodeId.startsWith('honest-') ? `${node.nodeId}:${reason?.code ?? 'clean'}` : `other:${reason?.code ?? 'clean'}`;
  downs[key] = (downs[key] ?? 0) + 1;
});

const address = await server.listen();
process.stdout.write(`PORT ${address.port}\n`);

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let lagMaxEverMs = 0;
// A stall shows in the histogram only once the loop runs again; a timer that
// fires late says so too, without waiting for the histogram's resolution.
let expected = Date.now() + STAT_INTERVAL_MS;
setInterval(() => {
  const now = Date.now();
  const late = Math.max(0, now - expected);
  expected = now + STAT_INTERVAL_MS;
  const lagMs = Math.max(late, delay.max / 1e6);
  delay.reset();
  lagMaxEverMs = Math.max(lagMaxEverMs, lagMs);
  printStat(now, lagMs, false);
}, STAT_INTERVAL_MS);

function printStat(now: number, lagMs: number, gc: boolean): void {
  const m = process.memoryUsage();
  const line = {
    at: now,
    gc,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    lagMs: Math.round(lagMs),
    lagMaxEverMs: Math.round(lagMaxEverMs),
    stats: server.stats(),
    errors,
    downs,
  };
  process.stdout.write(`STAT ${JSON.stringify(line)}\n`);
}

let input = '';
process.stdin.on('data', (chunk: Buffer) => {
  input += chunk.toString();
  let nl: number;
  while ((nl = input.indexOf('\n')) >= 0) {
    const command = input.slice(0, nl).trim();
    input = input.slice(nl + 1);
    if (command === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      printStat(Date.now(), 0, true);
    }
  }
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
