/**
 * The imrelay benchmark harness.
 *
 *   node --import tsx bench/run.ts [--quick] [--no-write] [--only=capacity,e2e,slow]
 *                                  [--systems=imrelay,imrelay-mesh,imrelay-redis,loop,redis,imrelay-redis-cluster,redis-cluster,nats] [--workloads=small,binary,fanout,large]
 *                                  [--rate=small:80000,binary:120000,fanout:9000] [--measure-ms=10000]
 *   node --import tsx bench/run.ts --render   (rewrite latest.md, latest.svg and the doc from latest.json)
 *
 * 1. Relay capacity (bench/capacity/): the relay alone in its own process,
 *    loaded by raw-socket senders and receivers in other processes; anchored
 *    by a raw TCP pipe with the same framing (the limit) and by
 *    redis-server's own pipelined PUBLISH rate.
 * 2. End to end (bench/e2e/): RelayClient nodes in one process, the relay in
 *    another; the same loop over imrelay's Redis transport (no relay), an
 *    in-process ceiling, Redis pub/sub and NATS.
 * 3. Slow consumer (bench/slow-consumer/): one node reads at a tenth of the
 *    rate; nothing may be dropped silently.
 *
 * Prints a markdown table. A full run writes bench/results/latest.{json,md,svg}
 * and refreshes docs/performance.md; --quick (tiny counts, for the smoke
 * test) writes bench/results/quick.{json,md,svg} instead; --no-write writes
 * nothing. Progress goes to stderr. Exits non-zero when the bench or imrelay
 * failed (not when a performance target is missed).
 *
 * --rate offers each named workload a fixed load (msg/s) instead of searching
 * for the peak: only those runs go, so node CPU per message can be compared
 * between builds at one load (the peak moves with the relay's own speed);
 * --measure-ms lengthens each end-to-end measuring window (3 s by default).
 *
 * BENCH_TRACE=1 prints per-100 ms latency buckets of each end-to-end run;
 * BENCH_CHILD_FLAGS="--trace-gc" passes node flags to every child process.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRawPipe } from './capacity/raw-pipe.js';
import { runRelayCapacity } from './capacity/relay.js';
import { runRedisPublish } from './capacity/redis-publish.js';
import { SYSTEM_ORDER, runEndToEnd } from './e2e/scenario.js';
import { benchConfig } from './lib/config.js';
import { updateDoc } from './lib/docs.js';
import { cpuWatch, describeMachine, loadavg, machineInfo } from './lib/machine.js';
import { renderMarkdown } from './lib/markdown.js';
import { RESULTS_DIR } from './lib/paths.js';
import { killAll } from './lib/processes.js';
import type { CapacityRow, Results } from './lib/results.js';
import { renderSvg } from './lib/svg.js';
import { evaluateTargets } from './lib/targets.js';
import { runSlowConsumer } from './slow-consumer/scenario.js';

const argv = process.argv.slice(2);

if (argv.includes('--render')) {
  const saved = JSON.parse(readFileSync(join(RESULTS_DIR, 'latest.json'), 'utf8')) as Results;
  const markdown = renderMarkdown(saved);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
  writeFileSync(join(RESULTS_DIR, 'latest.svg'), renderSvg(saved));
  if (!saved.quick) updateDoc(saved);
  process.stdout.write(markdown);
  process.exit(0);
}
const option = (name: string): string[] | undefined =>
  argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.slice(name.length + 3)
    .split(',')
    .filter(Boolean);
/** `small:80000,binary:120000` → { small: 80000, binary: 120000 }. */
function parseRates(pairs: string[]): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const pair of pairs) {
    const [name, value] = pair.split(':');
    const rate = Number(value);
    if (!name || !(rate > 0)) throw new Error(`--rate: expected workload:msgs-per-second, got "${pair}"`);
    rates[name] = rate;
  }
  return rates;
}
const QUICK = argv.includes('--quick');
// A fixed-rate run is a comparison between builds, not the project's figures.
const WRITE = !argv.includes('--no-write') && !option('rate');
const ONLY = option('only');
const wants = (section: string): boolean => !ONLY || ONLY.includes(section);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the bench's processes\n`);
    killAll();
    process.exit(130);
  });
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const config = benchConfig(QUICK);
// Longer windows for comparisons between builds: the machine's noise averages out.
if (option('measure-ms')) {
  const ms = Number(option('measure-ms')![0]);
  if (!Number.isInteger(ms) || ms < 100)
    throw new Error(`--measure-ms: expected a whole number of milliseconds, at least 100, got "${option('measure-ms')![0]}"`);
  config.e2e.measureMs = ms;
}
const started = Date.now();
const results: Results = {
  version: 1,
  quick: QUICK,
  startedAt: new Date(started).toISOString(),
  seconds: 0,
  machine: machineInfo(),
  loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  load: {},
  capacity: [],
  e2e: [],
  targets: [],
  errors: [],
  warnings: [],
};
log(`imrelay bench${QUICK ? ' --quick' : ''} on ${describeMachine(results.machine)}`);
if (results.loadAverageAtStart[0]! > 0.5) {
  log(`note: load average ${results.loadAverageAtStart.join(' ')} at start: the machine has been busy`);
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function section(name: string, body: () => Promise<void>): Promise<void> {
  const watch = cpuWatch();
  await body();
  const load = watch.stop();
  if (load) {
    results.load[name] = { otherCpuPercent: Math.round(load.otherCpuPercent), stealPercent: Math.round(load.stealPercent) };
    if (load.otherCpuPercent >= 10) log(`note: other processes used ${Math.round(load.otherCpuPercent)}% of a core during ${name}`);
  }
}

if (wants('capacity')) {
  await section('relay capacity', async () => {
    try {
      const rows = await runRelayCapacity(config, { log });
      for (const row of rows) if (row.problems) results.errors.push(`relay capacity, ${row.label}: ${row.problems.join('; ')}`);
      results.capacity.push(...rows);
    } catch (err) {
      results.errors.push(`relay capacity: ${message(err)}`);
    }
    try {
      log('capacity: raw TCP pipe');
      results.capacity.push(await runRawPipe(config, log));
    } catch (err) {
      results.errors.push(`raw TCP pipe: ${message(err)}`);
    }
    let redis: CapacityRow;
    try {
      log('capacity: redis-server PUBLISH');
      redis = await runRedisPublish(config, log);
      if (redis.skipped) log(`capacity: redis-server PUBLISH ${redis.skipped}`);
      if (redis.problems) results.warnings.push(`redis PUBLISH: ${redis.problems.join('; ')}`);
    } catch (err) {
      results.warnings.push(`redis PUBLISH: ${message(err)}`);
      redis = {
        id: 'redis-publish',
        label: 'PUBLISH, 1 subscriber, -P 64',
        system: 'redis-server',
        skipped: `failed: ${message(err).split('\n')[0]}`,
      };
    }
    results.capacity.push(redis);
  });
}

if (wants('e2e')) {
  await section('end to end', async () => {
    const { rows, errors } = await runEndToEnd(config, {
      log,
      ...(option('systems') ? { systems: option('systems') } : {}),
      ...(option('workloads') ? { workloads: option('workloads') } : {}),
      ...(option('rate') ? { fixedRates: parseRates(option('rate')!) } : {}),
    });
    // Table order: by workload, then load, then system (the runs went imrelay first).
    const rank = (list: string[], x: string): number => list.indexOf(x);
    const workloads = [...new Set(rows.map((r) => r.workload))];
    rows.sort(
      (a, b) =>
        rank(workloads, a.workload) - rank(workloads, b.workload) ||
        rank(['peak', 'half-peak'], a.mode) - rank(['peak', 'half-peak'], b.mode) ||
        rank(SYSTEM_ORDER, a.system) - rank(SYSTEM_ORDER, b.system),
    );
    results.e2e.push(...rows);
    results.errors.push(...errors.map((e) => `end to end: ${e}`));
    for (const row of rows) {
      if (row.skipped?.startsWith('failed')) results.warnings.push(`end to end, ${row.systemLabel}, ${row.workloadLabel}: ${row.skipped}`);
      const trouble = [
        row.lost ? `${row.lost} deliveries lost` : '',
        row.sendErrors ? `${row.sendErrors} send errors (${row.firstError})` : '',
      ]
        .filter(Boolean)
        .join(', ');
      if (!trouble) continue;
      const line = `end to end, ${row.systemLabel}, ${row.workloadLabel}, ${row.mode}: ${trouble}`;
      if (row.system === 'loop' || row.system.startsWith('imrelay')) results.errors.push(line);
      else results.warnings.push(line);
    }
  });
}

if (wants('slow')) {
  await section('slow consumer', async () => {
    try {
      results.slowConsumer = await runSlowConsumer(config, log);
      if (!results.slowConsumer.ok) results.errors.push(`slow consumer: ${results.slowConsumer.problems.join('; ')}`);
    } catch (err) {
      results.errors.push(`slow consumer: ${message(err)}`);
    }
  });
}

results.seconds = Math.round((Date.now() - started) / 100) / 10;
results.targets = evaluateTargets(results);
const markdown = renderMarkdown(results);
process.stdout.write(markdown);

if (WRITE) {
  const base = QUICK ? 'quick' : 'latest';
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${base}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(RESULTS_DIR, `${base}.md`), markdown);
  writeFileSync(join(RESULTS_DIR, `${base}.svg`), renderSvg(results));
  log(`wrote bench/results/${base}.json, .md and .svg`);
  if (!QUICK) log(updateDoc(results) ? 'updated docs/performance.md' : 'docs/performance.md has no results markers: not updated');
}

if (results.errors.length > 0) {
  log(`FAILED:\n${results.errors.map((e) => `  ${e}`).join('\n')}`);
  process.exitCode = 1;
}
