/**
 * Relay memory per online user.
 *
 *   node --expose-gc --import tsx bench/presence-memory.ts [--quick]
 *
 * For each case a fresh relay runs in a child process (so that nothing of the
 * bench itself is counted). Ten nodes connect to it from this process and
 * announce the users with `client.online()`, 10,000 ids per call; once the
 * relay has applied every announcement (each node's own LOCATE is answered
 * after its PRESENCE frames), the relay collects garbage and reports its
 * `heapUsed`. Bytes per online user = (heapUsed with the users - heapUsed
 * before them) / users. Cases: 100k and 1M users, each with every user on one
 * node, and with 10% of them also online on a second node (multi-device).
 *
 * Prints a markdown table and writes bench/results/presence-memory.json.
 * `--quick` runs the 100k cases only.
 *
 * With `--relay` the file is the child: a RelayServer on a free loopback port
 * that prints `{"event":"listening","port":N}` and answers each `heap` line on
 * stdin with `{"event":"heap",...}` after a full garbage collection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RelayClient, RelayServer } from '../src/index.js';
import type { PresenceTable } from '../src/presence/presence-table.js';

const NODES = 10;
const BATCH = 10_000;
/** Ids like `user:0001234`: 12 bytes, a typical numeric id with a prefix. */
const userId = (i: number): string => `user:${String(i).padStart(7, '0')}`;

interface HeapReport {
  heapUsed: number;
  rss: number;
  /** Users online somewhere, as the relay counts them. */
  users: number;
  /** (user, node) pairs: users plus their extra devices. */
  devices: number;
}

// ---------------------------------------------------------------- the relay child

async function relayChild(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const server = new RelayServer({ host: '127.0.0.1', port: 0 });
  const table = (server as unknown as { hub: { presence: { table: PresenceTable } } }).hub.presence.table;
  const address = await server.listen();
  const emit = (event: string, data: object = {}): void => {
    process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
  };
  const collect = async (): Promise<void> => {
    // Several passes, letting pending callbacks run in between, until the heap stops shrinking.
    let last = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 6; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      const used = process.memoryUsage().heapUsed;
      if (used >= last - 1024) break;
      last = used;
    }
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'heap') return;
    void collect().then(() => {
      let devices = 0;
      for (let n = 0; n < NODES; n++) devices += table.usersOf(`n${n}`)?.size ?? 0;
      const m = process.memoryUsage();
      const report: HeapReport = { heapUsed: m.heapUsed, rss: m.rss, users: table.userCount, devices };
      emit('heap', report);
    });
  });
  process.stdin.on('end', () => process.exit(0));
  emit('listening', { port: address.port });
}

// ---------------------------------------------------------------- the bench

class Relay {
  private readonly lines: string[] = [];
  private readonly waiters: Array<(line: string) => void> = [];
  readonly proc: ChildProcess;

  constructor() {
    const script = fileURLToPath(import.meta.url);
    this.proc = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, '--relay'], {
      cwd: join(dirname(script), '..'),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
  }

  private next(timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(JSON.parse(queued) as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the relay process within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      });
    });
  }

  async port(): Promise<number> {
    const e = await this.next();
    if (e.event !== 'listening') throw new Error(`unexpected ${JSON.stringify(e)}`);
    return e.port as number;
  }

  async heap(): Promise<HeapReport> {
    this.proc.stdin!.write('heap\n');
    const e = await this.next();
    if (e.event !== 'heap') throw new Error(`unexpected ${JSON.stringify(e)}`);
    return e as unknown as HeapReport;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin!.end();
    await exited;
  }
}

interface Row {
  users: number;
  multiDevicePercent: number;
  /** (user, node) pairs held by the relay. */
  devices: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  heapDeltaBytes: number;
  bytesPerUser: number;
  bytesPerDevice: number;
  rssDeltaBytes: number;
  announceMs: number;
}

/** Announces `users` over the nodes (and `multiPercent`% of them on a second node), waits until applied. */
async function announce(clients: RelayClient[], users: number, multiPercent: number, prefix = ''): Promise<void> {
  const perNode: string[][] = clients.map(() => []);
  const multiEvery = multiPercent > 0 ? Math.round(100 / multiPercent) : 0;
  for (let i = 0; i < users; i++) {
    const id = prefix + userId(i);
    const home = i % NODES;
    perNode[home]!.push(id);
    if (multiEvery > 0 && Math.floor(i / NODES) % multiEvery === 0) perNode[(home + 1) % NODES]!.push(id);
  }
  for (let start = 0; perNode.some((list) => start < list.length); start += BATCH) {
    clients.forEach((client, n) => {
      const batch = perNode[n]!.slice(start, start + BATCH);
      if (batch.length > 0) client.online(batch);
    });
    // Let the batches go out before encoding more.
    await new Promise((resolve) => setImmediate(resolve));
  }
  // A node's LOCATE is answered after the PRESENCE frames it sent before.
  await Promise.all(clients.map((client) => client.locate([])));
}

async function measure(users: number, multiPercent: number): Promise<Row> {
  const relay = new Relay();
  const port = await relay.port();
  const url = `tcp://127.0.0.1:${port}`;
  const clients: RelayClient[] = [];
  try {
    for (let n = 0; n < NODES; n++) {
      const client = new RelayClient({ url, nodeId: `n${n}`, reportTimeoutMs: 60_000 });
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
    }
    // Warm up: the relay's code paths compiled and its connection buffers grown, then emptied again.
    await announce(clients, 20_000, 10, 'warm:');
    clients.forEach((client, n) => {
      const own: string[] = [];
      for (let i = n; i < 20_000; i += NODES) own.push('warm:' + userId(i));
      const second: string[] = [];
      for (let i = (n + NODES - 1) % NODES; i < 20_000; i += NODES) second.push('warm:' + userId(i));
      client.offline(own);
      client.offline(second);
    });
    await Promise.all(clients.map((client) => client.locate([])));
    const before = await relay.heap();
    if (before.users !== 0) throw new Error(`warm-up left ${before.users} users`);

    const started = performance.now();
    await announce(clients, users, multiPercent);
    const announceMs = performance.now() - started;
    const after = await relay.heap();
    if (after.users !== users) throw new Error(`relay holds ${after.users} users, expected ${users}`);

    const delta = after.heapUsed - before.heapUsed;
    return {
      users,
      multiDevicePercent: multiPercent,
      devices: after.devices,
      heapBeforeBytes: before.heapUsed,
      heapAfterBytes: after.heapUsed,
      heapDeltaBytes: delta,
      bytesPerUser: delta / users,
      bytesPerDevice: delta / after.devices,
      rssDeltaBytes: after.rss - before.rss,
      announceMs,
    };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await relay.stop();
  }
}

function markdown(rows: Row[]): string {
  const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
  const lines = [
    '| online users | multi-device | (user, node) pairs | relay heap delta (MiB) | bytes per online user | bytes per (user, node) pair | announce time (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.users.toLocaleString('en-US')} | ${r.multiDevicePercent}% | ${r.devices.toLocaleString('en-US')} | ${mb(r.heapDeltaBytes)} | ${Math.round(r.bytesPerUser)} | ${Math.round(r.bytesPerDevice)} | ${Math.round(r.announceMs)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const cases: Array<[number, number]> = [
    [100_000, 0],
    [100_000, 10],
    ...(quick
      ? []
      : ([
          [1_000_000, 0],
          [1_000_000, 10],
        ] as Array<[number, number]>)),
  ];
  const rows: Row[] = [];
  for (const [users, multi] of cases) {
    const row = await measure(users, multi);
    rows.push(row);
    process.stderr.write(`${users} users, ${multi}% multi-device: ${Math.round(row.bytesPerUser)} bytes per user\n`);
  }
  const table = markdown(rows);
  process.stdout.write(
    `\nRelay heap per online user (${NODES} nodes, ids of ${userId(0).length} bytes, batches of ${BATCH.toLocaleString('en-US')}):\n\n${table}\n`,
  );

  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'presence-memory.json');
  mkdirSync(dirname(out), { recursive: true });
  const report = {
    command: 'node --expose-gc --import tsx bench/presence-memory.ts',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    nodes: NODES,
    batch: BATCH,
    userIdBytes: userId(0).length,
    method:
      'relay in a child process; heapUsed after forced GC, with the users minus before them (after a warm-up announced and withdrew 20k users)',
    results: rows,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(`\nwrote ${out}\n`);
}

if (process.argv.includes('--relay')) await relayChild();
else await main();
