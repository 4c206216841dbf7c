/**
 * The nodes of the end-to-end runs, all in this one process (so that a
 * message's send time and its arrival in the consumer loop are read from the
 * same clock): senders and receivers of one system, driven by the same loop
 * whatever the system.
 *
 * Commands: setup {system, port}, run {RunConfig}, quit.
 * Events: ready; window-start and window-end (so the bench can sample the
 * server's CPU over the same window); result.
 */
import { summarize } from '../lib/percentiles.js';
import { sleep, waitUntil } from '../lib/time.js';
import { emit, serve } from '../lib/worker.js';
import { imrelaySystem } from './systems/imrelay.js';
import { imrelayMeshSystem } from './systems/imrelay-mesh.js';
import { imrelayRedisSystem } from './systems/imrelay-redis.js';
import { loopSystem } from './systems/loop.js';
import { natsSystem } from './systems/nats.js';
import { redisSystem } from './systems/redis.js';
import type { BenchNode, RouteTable, System } from './systems/types.js';
import { messageFormat, type Workload } from './workloads.js';

export interface RunConfig {
  runId: string;
  workload: Workload;
  /** peak: closed loop, `window` messages in flight per sender; paced: `rate` msg/s offered. */
  mode: 'peak' | 'paced';
  rate: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  maxMessages: number;
  maxSamples: number;
}

async function makeSystem(name: string, port: number): Promise<System> {
  switch (name) {
    case 'imrelay':
      return imrelaySystem(port);
    case 'imrelay-mesh':
      return imrelayMeshSystem();
    case 'imrelay-redis':
      return imrelayRedisSystem(port, { cluster: false });
    case 'imrelay-redis-cluster':
      return imrelayRedisSystem(port, { cluster: true });
    case 'loop':
      return loopSystem();
    case 'redis':
      return redisSystem(port, { cluster: false });
    case 'redis-cluster':
      return redisSystem(port, { cluster: true });
    case 'nats':
      return natsSystem(port);
    default:
      throw new Error(`unknown system ${name}`);
  }
}

async function run(system: System, cfg: RunConfig): Promise<object> {
  const w = cfg.workload;
  const hosts = w.hostsPerMessage;
  const receiverIds = Array.from({ length: w.receivers }, (_, i) => `${cfg.runId}-r${i}`);
  const senderIds = Array.from({ length: w.senders }, (_, i) => `${cfg.runId}-s${i}`);
  const receivers = await Promise.all(receiverIds.map((id) => system.node(id, { sends: false, receives: true, payload: w.payload })));
  const senders = await Promise.all(senderIds.map((id) => system.node(id, { sends: true, receives: false, payload: w.payload })));
  const usersOf = (host: string): string[] => Array.from({ length: w.usersPerHost }, (_, k) => `${host}-u${k}`);
  const tables: RouteTable[] =
    hosts === 1
      ? receiverIds.map((h) => ({ [h]: usersOf(h) }))
      : [Object.fromEntries(receiverIds.slice(0, hosts).map((h) => [h, usersOf(h)]))];
  const format = messageFormat(w);
  const messageBytes = format.bytes;
  const senderIndex = new Map(senderIds.map((id, i) => [id, i]));

  const n = w.senders;
  const inflight = new Array<number>(n).fill(0);
  const sentBy = new Array<number>(n).fill(0);
  const turn = new Array<number>(n).fill(0);
  const scheduled = new Array<boolean>(n).fill(false);
  const cap = (cfg.mode === 'peak' ? w.window : w.window * 4) * hosts;
  let running = true;
  let measuring = false;
  let nextId = 0;
  let sent = 0;
  let consumed = 0;
  let sendErrors = 0;
  let firstError: string | undefined;
  let offlineUsers = 0;
  let winDeliveries = 0;
  let winUsers = 0;
  const samples = new Float64Array(cfg.maxSamples);
  let nSamples = 0;
  const trace: Array<[number, number]> = [];

  // Per sender: what to do when a send settles.
  const onSettled = senders.map((_, i) => ({
    ok: (result: unknown): void => {
      const offline = (result as { offline?: Record<string, string[]> } | undefined)?.offline;
      if (offline === undefined) return;
      for (const host of Object.keys(offline)) {
        offlineUsers += offline[host]!.length;
        inflight[i]!--; // that host's delivery will never come
      }
    },
    fail: (err: unknown): void => {
      sendErrors++;
      firstError ??= err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
      inflight[i]! -= hosts;
    },
  }));

  const sendOne = (i: number): void => {
    const k = turn[i]!;
    turn[i] = k + 1;
    const table = tables[k % tables.length]!;
    const message = format.make(nextId++, performance.now());
    inflight[i]! += hosts;
    sentBy[i]!++;
    sent++;
    let pending: Promise<unknown> | void;
    try {
      pending = senders[i]!.send(table, message);
    } catch (err) {
      onSettled[i]!.fail(err);
      return;
    }
    if (pending) pending.then(onSettled[i]!.ok, onSettled[i]!.fail);
  };

  const pump = (i: number): void => {
    scheduled[i] = false;
    while (running && inflight[i]! + hosts <= cap && sent < cfg.maxMessages) sendOne(i);
  };
  const schedule = (i: number): void => {
    if (scheduled[i] || !running || cfg.mode !== 'peak') return;
    scheduled[i] = true;
    setImmediate(pump, i);
  };

  const consume = async (node: BenchNode): Promise<void> => {
    for await (const d of node.deliveries()) {
      const now = performance.now();
      consumed++;
      if (measuring) {
        winDeliveries++;
        winUsers += d.users.length;
        const latency = now - format.sentAt(d.message);
        if (nSamples < samples.length) samples[nSamples++] = latency;
        if (TRACE) trace.push([now, latency]);
      }
      const i = senderIndex.get(d.from);
      if (i !== undefined) {
        inflight[i]!--;
        schedule(i);
      }
    }
  };
  const loops = receivers.map((r) => consume(r).catch(() => {}));

  let pacer: NodeJS.Timeout | undefined;
  const start = performance.now();
  if (cfg.mode === 'peak') {
    for (let i = 0; i < n; i++) schedule(i);
  } else {
    const perSender = cfg.rate / n / 1000;
    pacer = setInterval(() => {
      const due = Math.floor(perSender * (performance.now() - start));
      for (let i = 0; i < n; i++) {
        while (running && sentBy[i]! < due && inflight[i]! + hosts <= cap && sent < cfg.maxMessages) sendOne(i);
      }
    }, 1);
  }

  await sleep(cfg.warmupMs);
  const cpuA = process.cpuUsage();
  const sentA = sent;
  const tA = performance.now();
  measuring = true;
  emit('window-start', { t: tA, hr: Number(process.hrtime.bigint() / 1000n) });
  await sleep(cfg.measureMs);
  measuring = false;
  const tB = performance.now();
  const cpu = process.cpuUsage(cpuA);
  const sentB = sent;
  emit('window-end', { t: tB, hr: Number(process.hrtime.bigint() / 1000n) });
  running = false;
  clearInterval(pacer);

  const drained = await waitUntil(() => inflight.every((x) => x <= 0), cfg.drainMs, 5);
  for (const s of senders) await s.close();
  for (const r of receivers) await r.close();
  await Promise.race([Promise.all(loops), sleep(5000)]);

  if (TRACE) {
    const buckets = new Map<number, number[]>();
    for (const [t, l] of trace) {
      const b = Math.floor((t - tA) / 100);
      let list = buckets.get(b);
      if (!list) buckets.set(b, (list = []));
      list.push(l);
    }
    for (const [b, list] of buckets) {
      list.sort((x, y) => x - y);
      process.stderr.write(
        `${b} ${list.length} p50 ${list[list.length >> 1]!.toFixed(2)} p99 ${list[Math.floor(list.length * 0.99)]!.toFixed(2)} max ${list[list.length - 1]!.toFixed(2)}\n`,
      );
    }
  }
  const seconds = (tB - tA) / 1000;
  const messages = winDeliveries / hosts;
  const expected = sent * hosts;
  return {
    seconds,
    messagesPerSecond: messages / seconds,
    deliveriesPerSecond: winDeliveries / seconds,
    userDeliveriesPerSecond: winUsers / seconds,
    megabytesPerSecond: (winDeliveries * messageBytes) / 1e6 / seconds,
    offeredPerSecond: (sentB - sentA) / seconds,
    latencyMs: summarize(samples, nSamples),
    nodeCpuMicrosPerMessage: messages > 0 ? (cpu.user + cpu.system) / messages : undefined,
    nodeCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    nodeSystemCpuMicrosPerMessage: messages > 0 ? cpu.system / messages : undefined,
    messageBytes,
    sent,
    consumed,
    lost: Math.max(0, expected - consumed - sendErrors * hosts - offlineUsers / w.usersPerHost),
    drained,
    sendErrors,
    offlineUsers,
    ...(firstError ? { firstError } : {}),
  };
}

const TRACE = process.env.BENCH_TRACE === '1';
let system: System | undefined;

serve(
  async (command) => {
    switch (command.cmd) {
      case 'setup':
        system = await makeSystem(String(command.system), Number(command.port));
        emit('ready');
        return;
      case 'run':
        emit('result', await run(system!, command.config as RunConfig));
        return;
      default:
        emit('error', { message: `unknown command ${command.cmd}` });
    }
  },
  async () => {
    await system?.close();
  },
);
