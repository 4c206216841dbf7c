/**
 * End to end: RelayClient nodes (2 senders, 4 or 10 receivers) in one
 * process, the relay in another (or, for imrelay-redis, redis-server in
 * place of the relay, or a three-master Redis Cluster; for imrelay-mesh,
 * no server: the nodes link to each other directly), and the same loop
 * over the baselines: the
 * loop's own ceiling (in-process, no network), hand-rolled Redis pub/sub and
 * hand-rolled NATS, each with its server in its own process. Each workload
 * runs at peak (closed loop) and then offered at half of a peak rate: the
 * relay's, or for the Redis rows that of imrelay over the same Redis.
 */
import { Child } from '../lib/child.js';
import { otherCpuPercent, quietest, readCpu } from '../lib/interference.js';
import type { BenchConfig } from '../lib/config.js';
import type { E2ERow, Latency } from '../lib/results.js';
import { missing, startNats, startRedis, startRedisCluster, startRelay, type ServerHandle } from '../lib/servers.js';
import type { RunConfig } from './nodes-process.js';
import { WORKLOADS, type Workload } from './workloads.js';

interface SystemSpec {
  name: string;
  label: string;
  binaries: string[];
  npmPackage?: string;
  start(): Promise<ServerHandle | undefined>;
}

export const SYSTEMS: SystemSpec[] = [
  { name: 'loop', label: 'loop ceiling (in-process)', binaries: [], start: () => Promise.resolve(undefined) },
  { name: 'imrelay', label: 'imrelay', binaries: [], start: () => startRelay() },
  { name: 'imrelay-mesh', label: 'imrelay mesh (no relay)', binaries: [], start: () => Promise.resolve(undefined) },
  {
    name: 'imrelay-redis',
    label: 'imrelay over Redis (no relay)',
    binaries: ['redis-server'],
    npmPackage: 'ioredis',
    start: () => startRedis(),
  },
  { name: 'redis', label: 'Redis pub/sub (ioredis)', binaries: ['redis-server'], npmPackage: 'ioredis', start: () => startRedis() },
  {
    name: 'imrelay-redis-cluster',
    label: 'imrelay over Redis Cluster (3 masters)',
    binaries: ['redis-server', 'redis-cli'],
    npmPackage: 'ioredis',
    start: () => startRedisCluster(),
  },
  {
    name: 'redis-cluster',
    label: 'Redis Cluster sharded pub/sub (ioredis)',
    binaries: ['redis-server', 'redis-cli'],
    npmPackage: 'ioredis',
    start: () => startRedisCluster(),
  },
  { name: 'nats', label: 'NATS (nats.js)', binaries: ['nats-server'], npmPackage: 'nats', start: () => startNats() },
];

/** Systems whose failure fails the bench (the baselines' failures are recorded and reported). */
const ESSENTIAL = new Set(['loop', 'imrelay', 'imrelay-mesh', 'imrelay-redis', 'imrelay-redis-cluster']);

/** Every system, in the order runs go (each workload over all of them back to back). */
export const SYSTEM_ORDER = ['loop', 'imrelay', 'imrelay-mesh', 'imrelay-redis', 'redis', 'imrelay-redis-cluster', 'redis-cluster', 'nats'];

/**
 * Whose peak a system's half-peak run is offered half of: a Redis row and
 * its hand-rolled baseline get the same load, half of what imrelay over that
 * Redis peaked at (the relay's peak is beyond what Redis sustains here);
 * every other system half of the relay's.
 */
function peakReference(system: string): string {
  if (system === 'imrelay-redis' || system === 'redis') return 'imrelay-redis';
  if (system === 'imrelay-redis-cluster' || system === 'redis-cluster') return 'imrelay-redis-cluster';
  return 'imrelay';
}

export interface EndToEndOptions {
  log?: (line: string) => void;
  /** Only these system names. */
  systems?: string[];
  /** Only these workload names. */
  workloads?: string[];
  /** Only these loads. */
  modes?: Array<E2ERow['mode']>;
  /**
   * A fixed offered load per workload (msg/s) instead of the peak search:
   * only these runs go (mode `fixed`), so that node CPU per
   * message can be compared between builds at the same load.
   */
  fixedRates?: Record<string, number>;
  /** Node flags for the nodes process (e.g. --cpu-prof). */
  nodesExecArgv?: string[];
}

async function packageMissing(name: string | undefined): Promise<string | undefined> {
  if (!name) return undefined;
  try {
    await import(name);
    return undefined;
  } catch {
    return `skipped: the ${name} package is not installed (install with: npm install -D ${name})`;
  }
}

interface Live {
  spec: SystemSpec;
  server: ServerHandle | undefined;
  nodes: Child;
  /** Why this system stopped being measured, once it failed. */
  failed?: string;
}

/**
 * Every system's server and node process are started first and stay up (an
 * idle one costs nothing); then each workload is measured over all systems
 * back to back, so that the machine's speed, which drifts on a shared VM,
 * is about the same for the figures that are compared. All peaks come
 * first: the half-peak runs are offered half of imrelay's peak.
 */
export async function runEndToEnd(config: BenchConfig, options: EndToEndOptions = {}): Promise<{ rows: E2ERow[]; errors: string[] }> {
  const log = options.log ?? (() => {});
  const fixed = options.fixedRates;
  // With fixed rates, only the workloads given one (unless named otherwise).
  const workloads = WORKLOADS.filter((w) => (options.workloads ? options.workloads.includes(w.name) : !fixed || w.name in fixed));
  const order = SYSTEM_ORDER.filter((s) => !options.systems || options.systems.includes(s));
  const modes: Array<E2ERow['mode']> = fixed
    ? ['fixed']
    : (['peak', 'half-peak'] as const).filter((m) => !options.modes || options.modes.includes(m));
  const peaks = new Map<string, number>();
  const rows: E2ERow[] = [];
  const errors: string[] = [];
  const live: Live[] = [];
  let runs = 0;
  const base = (spec: SystemSpec, w: Workload, mode: E2ERow['mode']): E2ERow => ({
    workload: w.name,
    workloadLabel: w.label,
    mode,
    system: spec.name,
    systemLabel: spec.label,
  });
  const fail = (system: Live | SystemSpec, err: unknown): string => {
    const spec = 'spec' in system ? system.spec : system;
    const message = `${spec.label}: ${(err as Error).message}`;
    log(`end to end: FAILED ${message}`);
    if (ESSENTIAL.has(spec.name)) errors.push(message);
    return `failed: ${(err as Error).message.split('\n')[0]}`;
  };

  try {
    for (const name of order) {
      const spec = SYSTEMS.find((s) => s.name === name)!;
      const skipped = missing(...spec.binaries) ?? (await packageMissing(spec.npmPackage));
      if (skipped) {
        log(`end to end: ${spec.label}: ${skipped}`);
        for (const mode of modes) for (const w of workloads) rows.push({ ...base(spec, w, mode), skipped });
        continue;
      }
      let server: ServerHandle | undefined;
      try {
        server = await spec.start();
        const nodes = new Child(`nodes-${spec.name}`, 'bench/e2e/nodes-process.ts', [], {
          ...(options.nodesExecArgv ? { execArgv: options.nodesExecArgv } : {}),
        });
        live.push({ spec, server, nodes });
        await nodes.request({ cmd: 'setup', system: spec.name, port: server?.port ?? 0 }, 'ready', 30_000);
      } catch (err) {
        const entry = live.find((l) => l.spec === spec);
        const why = fail(spec, err);
        if (entry) entry.failed = why;
        else await server?.stop();
      }
    }

    for (const mode of modes) {
      for (const w of workloads) {
        for (const system of live) {
          const spec = system.spec;
          let rate = 0;
          if (fixed) rate = fixed[w.name] ?? 0;
          else if (mode === 'half-peak')
            rate = (peaks.get(`${peakReference(spec.name)}/${w.name}`) ?? peaks.get(`imrelay/${w.name}`) ?? 0) / 2;
          if (system.failed) {
            rows.push({ ...base(spec, w, mode), skipped: system.failed });
            continue;
          }
          if (mode !== 'peak' && rate === 0) {
            rows.push({
              ...base(spec, w, mode),
              skipped: fixed ? 'skipped: no rate given' : `skipped: no ${peakReference(spec.name)} peak to halve`,
            });
            continue;
          }
          log(`end to end: ${spec.label}, ${w.label}, ${mode === 'peak' ? 'peak' : `${Math.round(rate)} msg/s offered`}`);
          try {
            const row = await quietest(
              () => runOne(config, system.nodes, system.server, w, mode, rate, `${spec.name}${++runs}`),
              config.retries,
              log,
            );
            rows.push({ ...base(spec, w, mode), ...row });
            if (peakReference(spec.name) === spec.name && mode === 'peak' && row.messagesPerSecond) {
              peaks.set(`${spec.name}/${w.name}`, row.messagesPerSecond);
            }
            if (row.lost) log(`  ${row.lost} deliveries missing after the drain`);
          } catch (err) {
            system.failed = fail(system, err);
            rows.push({ ...base(spec, w, mode), skipped: system.failed });
          }
        }
      }
    }
  } finally {
    for (const system of live) {
      await system.nodes.stop();
      await system.server?.stop();
    }
  }
  return { rows, errors };
}

async function runOne(
  config: BenchConfig,
  nodes: Child,
  server: ServerHandle | undefined,
  workload: Workload,
  mode: E2ERow['mode'],
  rate: number,
  runId: string,
): Promise<Partial<E2ERow>> {
  const e = config.e2e;
  const run: RunConfig = {
    runId,
    workload,
    mode: mode === 'peak' ? 'peak' : 'paced',
    rate,
    warmupMs: e.warmupMs,
    measureMs: e.measureMs,
    drainMs: e.drainMs,
    maxMessages: e.maxMessages,
    maxSamples: e.maxSamples,
  };
  const timeout = e.warmupMs + e.measureMs + e.drainMs + 60_000;
  await server?.resetPeak();
  nodes.send({ cmd: 'run', config: run });
  const from = await nodes.next('window-start', timeout);
  const cpuA = readCpu();
  const a = await server?.sample();
  const to = await nodes.next('window-end', timeout);
  const cpuB = readCpu();
  const b = await server?.sample();
  const r = await nodes.next('result', timeout);
  const end = await server?.sample();
  const mps = Number(r.messagesPerSecond);
  const serverCpuPerSecond = a && b ? (b.cpuMicros - a.cpuMicros) / ((b.t - a.t) / 1000) : undefined;
  return {
    ...(mode !== 'peak' ? { targetRate: rate } : {}),
    messagesPerSecond: mps,
    deliveriesPerSecond: Number(r.deliveriesPerSecond),
    userDeliveriesPerSecond: Number(r.userDeliveriesPerSecond),
    megabytesPerSecond: Number(r.megabytesPerSecond),
    latencyMs: r.latencyMs as Latency,
    nodeCpuMicrosPerMessage: r.nodeCpuMicrosPerMessage === undefined ? undefined : Number(r.nodeCpuMicrosPerMessage),
    ...(r.nodeSystemCpuMicrosPerMessage !== undefined ? { nodeSystemCpuMicrosPerMessage: Number(r.nodeSystemCpuMicrosPerMessage) } : {}),
    nodeCpuPercent: Math.round(Number(r.nodeCpuPercent)),
    ...(serverCpuPerSecond !== undefined && mps > 0 ? { serverCpuMicrosPerMessage: serverCpuPerSecond / mps } : {}),
    ...(end ? { serverPeakRssBytes: end.peakRss } : {}),
    otherCpuPercent: otherCpuPercent(cpuA, cpuB),
    window: { fromMicros: Number(from.hr), toMicros: Number(to.hr) },
    sent: Number(r.sent),
    consumed: Number(r.consumed),
    lost: Number(r.lost),
    sendErrors: Number(r.sendErrors),
    offlineUsers: Number(r.offlineUsers),
    ...(r.firstError ? { firstError: String(r.firstError) } : {}),
  };
}
