/**
 * A mesh of many nodes, each in its own process, on loopback.
 *
 *   node --import tsx bench/mesh-scale.ts [--nodes=16] [--seconds=5] [--users=1000000] [--rate=250] [--warmup=3] [--relay] [--help]
 *
 * 1. Starts `--nodes` RelayClients in mesh mode, one per child process
 *    (`--expose-gc`), each listening on a free loopback port. The bench
 *    collects their addresses over the children's command pipes and hands
 *    every node the whole peers map at once; "fully linked" is the time from
 *    that moment until the last node sees a link up to every other one
 *    (n(n-1)/2 TCP connections, n(n-1) link ends). Both ends read the same
 *    clock (CLOCK_MONOTONIC, through process.hrtime).
 * 2. Counts the established TCP connections between the mesh's listen
 *    ports (/proc/net/tcp{,6}), and each process's own (its socket fds,
 *    matched by inode); RSS and V8 heap of every node process after a full GC.
 * 3. Load: every node sends ~100 B JSON messages (5 users of one random
 *    other node per message, as the end-to-end `small` workload) at
 *    `--rate` msg/s, in bursts every 5 ms, for `--warmup` seconds (3) and then
 *    `--seconds`; then waits for every report. Throughput and latency count
 *    the deliveries that reached a consumer loop within the window (latency:
 *    send call to consumer loop, across processes); CPU is that of all node
 *    processes over the window, per delivered message (one hop: sender and
 *    receiver both counted). Lost = sent - consumed - reported offline or
 *    undelivered - rejected.
 * 4. Presence directory: each node announces `--users / --nodes` users
 *    (`online()`, 10,000 ids per call); once every node's directory holds
 *    every user, the increase of each node's RSS and heap (after a full GC)
 *    is what holding the whole directory costs.
 *
 * `--relay` runs the same node processes and load over one relay process
 * instead (bench/relay-process.ts, no secret, as the end-to-end bench's
 * imrelay system), for comparison: two hops instead of one, and the relay's
 * CPU added to the nodes'; no linking and no directory (the relay's own
 * memory per user is bench/presence-memory.ts's).
 *
 * Prints markdown tables to stdout (progress to stderr). Writes nothing.
 * With `--node=<id>` the file is the child (commands on stdin, events on
 * stdout: see bench/lib/worker.ts).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { RelayClient } from '../src/index.js';
import { textFor } from './e2e/workloads.js';
import { Child, type ChildEvent } from './lib/child.js';
import { dec, int, mb } from './lib/format.js';
import { summarize } from './lib/percentiles.js';
import { otherCpuPercent, readCpu } from './lib/interference.js';
import { procCpuMicros } from './lib/proc.js';
import { killAll } from './lib/processes.js';
import { startRelay } from './lib/servers.js';
import { sleep, waitUntil } from './lib/time.js';
import { emit, flags, serve } from './lib/worker.js';

const SECRET = 'imrelay-bench-secret';
const CHUNK = 10_000;
const USERS_PER_MESSAGE = 5;
const MESSAGE_BYTES = 100;
const TICK_MS = 5;
/** Idle CPU of the linked mesh is sampled over this long before the load. */
const IDLE_MS = 2_000;

const HELP = `Usage: node --import tsx bench/mesh-scale.ts [options]

  --nodes=N      mesh nodes, one process each (default 16)
  --seconds=S    measured load (default 5)
  --warmup=W     load before the measured seconds, not counted (default 3)
  --rate=R       messages per second each node sends (default 250)
  --users=U      users announced in total, U/N per node (default 1000000; 0 skips the directory)
  --relay        for comparison: the same nodes and load over one relay process
                 (no mesh: no linking, no directory; the relay's CPU is added)
  --help         this text

Prints markdown tables: linking, TCP connections, memory, load, directory.
`;

/** CLOCK_MONOTONIC in µs: the same clock in every process of the machine. */
const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n);
const userId = (i: number): string => `user:${String(i).padStart(7, '0')}`;

// ---------------------------------------------------------------- the child: one mesh node

interface LoadCommand {
  startMicros: number;
  warmupMs: number;
  seconds: number;
  rate: number;
  peers: string[];
}

function nodeChild(id: string, relayPort: number | undefined): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  // The relay comparison connects as the end-to-end bench's imrelay system does (the bench's relay has no secret).
  const client =
    relayPort === undefined
      ? new RelayClient({ nodeId: id, secret: SECRET, mesh: { listen: 'tcp://127.0.0.1:0' } })
      : new RelayClient({ nodeId: id, url: `tcp://127.0.0.1:${relayPort}`, reconnect: false });
  let expected: string[] = [];
  let downs = 0;
  let errors = 0;
  let firstError: string | undefined;
  let onLinkChange: (() => void) | undefined;
  client.on('error', (err) => {
    errors++;
    firstError ??= `${err.code}: ${err.message}`;
  });
  const linkedCount = (): number => {
    if (client.mesh === undefined) return client.connected ? 1 : 0;
    const want = new Set(expected);
    return client.mesh.list().filter((p) => p.linked && want.has(p.id)).length;
  };

  // The consumer loop: counts everything, times what arrives within the window.
  let window = { from: Infinity, to: -Infinity };
  let consumed = 0;
  let windowDeliveries = 0;
  let samples = new Float64Array(1 << 16);
  let nSamples = 0;
  const consume = async (): Promise<void> => {
    for await (const d of client) {
      const now = nowMicros();
      consumed++;
      if (now >= window.from && now < window.to) {
        windowDeliveries++;
        if (nSamples === samples.length) {
          const grown = new Float64Array(samples.length * 2);
          grown.set(samples);
          samples = grown;
        }
        samples[nSamples++] = (now - (d.message as { t: number }).t) / 1000;
      }
    }
  };

  const memory = async (collect: boolean): Promise<object> => {
    if (collect && gc) {
      for (let i = 0; i < 4; i++) {
        gc();
        await sleep(20);
      }
    }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
  };

  const load = async (cmd: LoadCommand): Promise<object> => {
    const text = textFor(MESSAGE_BYTES);
    const from = cmd.startMicros + cmd.warmupMs * 1000;
    const to = from + cmd.seconds * 1e6;
    window = { from, to };
    let sent = 0;
    let sentInWindow = 0;
    let delivered = 0;
    let offline = 0;
    let undelivered = 0;
    let rejected = 0;
    let firstRejection: string | undefined;
    let seq = 0;
    const pending = new Set<Promise<unknown>>();
    const usersOf = (host: string): string[] => Array.from({ length: USERS_PER_MESSAGE }, (_, k) => `${host}-u${k}`);
    const tables = cmd.peers.map((p) => ({ [p]: usersOf(p) }));
    const sendOne = (): void => {
      const t = nowMicros();
      const table = tables[Math.floor(Math.random() * tables.length)]!;
      sent++;
      if (t >= from && t < to) sentInWindow++;
      const p = client.send(table, { id: seq++, t, text }).then(
        (report) => {
          delivered += report.delivered.length;
          for (const host of Object.keys(report.offline)) {
            if (report.reasons?.[host] === 'overflow' || report.reasons?.[host] === 'refused') undelivered++;
            else offline++;
          }
        },
        (err: unknown) => {
          rejected++;
          firstRejection ??= err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
        },
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };

    await sleep(Math.max(0, (cmd.startMicros - nowMicros()) / 1000));
    let cpuFrom: NodeJS.CpuUsage | undefined;
    let cpu: NodeJS.CpuUsage | undefined;
    const start = nowMicros();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = nowMicros();
        if (cpuFrom === undefined && now >= from) cpuFrom = process.cpuUsage();
        if (now >= to) {
          cpu = process.cpuUsage(cpuFrom);
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor(((now - start) / 1e6) * cmd.rate);
        while (sent < due) sendOne();
      }, TICK_MS);
    });
    const settled = await waitUntil(() => pending.size === 0, 30_000, 10);
    return {
      sent,
      sentInWindow,
      delivered,
      offline,
      undelivered,
      rejected,
      unsettled: settled ? 0 : pending.size,
      ...(firstRejection ? { firstRejection } : {}),
      cpuMicros: cpu ? cpu.user + cpu.system : 0,
      systemCpuMicros: cpu ? cpu.system : 0,
    };
  };

  let announced = 0;
  serve(
    async (command) => {
      switch (command.cmd) {
        case 'start': {
          client.mesh?.on('peer:up', () => onLinkChange?.());
          client.mesh?.on('peer:down', () => {
            downs++;
            onLinkChange?.();
          });
          client.on('disconnect', () => downs++);
          await client.connect();
          void consume().catch(() => {});
          emit('listening', { address: client.mesh?.address, pid: process.pid });
          return;
        }
        case 'peers': {
          const peers = command.peers as Record<string, string>;
          expected = Object.keys(peers).filter((p) => p !== id);
          const linked = new Promise<number>((resolve) => {
            onLinkChange = () => {
              if (linkedCount() === expected.length) {
                onLinkChange = undefined;
                resolve(nowMicros());
              }
            };
          });
          client.mesh!.setPeers(peers);
          onLinkChange?.();
          emit('linked', { hr: await linked });
          return;
        }
        case 'mem':
          emit('mem', {
            ...(await memory(command.gc !== false)),
            linked: linkedCount(),
            downs,
            errors,
            ...(firstError ? { firstError } : {}),
          });
          return;
        case 'load':
          emit('loaded', await load(command as unknown as LoadCommand));
          return;
        case 'received':
          emit('received', {
            consumed,
            windowDeliveries,
            // µs precision is plenty; keeps the line short.
            samples: Array.from(samples.subarray(0, nSamples), (x) => Math.round(x * 1000) / 1000),
          });
          return;
        case 'announce': {
          const first = Number(command.first);
          const count = Number(command.count);
          for (let k = 0; k < count; k += CHUNK) {
            const ids: string[] = [];
            for (let i = k; i < Math.min(count, k + CHUNK); i++) ids.push(userId(first + i));
            client.online(ids);
            announced += ids.length;
            await new Promise((r) => setImmediate(r));
          }
          emit('announced', { hr: nowMicros() });
          return;
        }
        case 'directory': {
          let users = announced;
          for (const p of client.mesh!.list()) users += p.users;
          emit('directory', { users, hr: nowMicros() });
          return;
        }
        default:
          emit('error', { message: `unknown command ${command.cmd}` });
      }
    },
    () => client.close(),
  );
}

// ---------------------------------------------------------------- the bench

interface Mem {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  linked: number;
  downs: number;
  errors: number;
  firstError?: string;
}

/** Established TCP sockets on this machine: inode, local port, remote port. */
function establishedTcp(): Array<{ inode: string; local: number; remote: number }> {
  const out: Array<{ inode: string; local: number; remote: number }> = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '01') continue; // 01: ESTABLISHED
      const port = (addr: string): number => parseInt(addr.slice(addr.indexOf(':') + 1), 16);
      out.push({ local: port(f[1]!), remote: port(f[2]!), inode: f[9]! });
    }
  }
  return out;
}

/** Inodes of the sockets process `pid` holds. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const avg = (xs: number[]): number => (xs.length ? sum(xs) / xs.length : NaN);
const max = (xs: number[]): number => Math.max(...xs);
const min = (xs: number[]): number => Math.min(...xs);

async function bench(opts: Map<string, string>): Promise<void> {
  const N = Number(opts.get('nodes') ?? 16);
  const seconds = Number(opts.get('seconds') ?? 5);
  const rate = Number(opts.get('rate') ?? 250);
  const users = Number(opts.get('users') ?? 1_000_000);
  const warmup = Number(opts.get('warmup') ?? 3);
  const relayMode = opts.has('relay');
  const WARMUP_MS = warmup * 1000;
  for (const [name, v, lo] of [
    ['nodes', N, 2],
    ['seconds', seconds, 0],
    ['rate', rate, 0],
    ['users', users, 0],
    ['warmup', warmup, 0],
  ] as const) {
    if (!Number.isFinite(v) || v < lo) throw new Error(`--${name} must be a number ≥ ${lo}`);
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  const ids = Array.from({ length: N }, (_, i) => `im-${String(i + 1).padStart(2, '0')}`);
  const out: string[] = [];
  const anomalies: string[] = [];
  const started = performance.now();

  const relay = relayMode ? await startRelay() : undefined;
  log(`mesh-scale: starting ${N} node processes${relay ? `, over a relay (pid ${relay.pid})` : ''}`);
  const children = ids.map(
    (id) =>
      new Child(id, 'bench/mesh-scale.ts', [`--node=${id}`, ...(relay ? [`--relay=${relay.port}`] : [])], { execArgv: ['--expose-gc'] }),
  );
  const all = <T>(f: (c: Child, i: number) => Promise<T>): Promise<T[]> => Promise.all(children.map(f));
  const ask = (command: object, event: string, timeoutMs: number): Promise<ChildEvent[]> =>
    all((c) => c.request(command, event, timeoutMs));
  const mem = async (): Promise<Mem[]> => (await ask({ cmd: 'mem' }, 'mem', 30_000)) as unknown as Mem[];
  try {
    const listening = await ask({ cmd: 'start' }, 'listening', 120_000);
    const addresses = Object.fromEntries(ids.map((id, i) => [id, String(listening[i]!.address)]));
    const pids = listening.map((e) => Number(e.pid));
    const idle = await mem();

    // ------------------------------------------------------------ linking
    const links = relay ? N : (N * (N - 1)) / 2;
    let linkedAt: number[] = ids.map(() => NaN);
    if (!relay) {
      log('mesh-scale: linking');
      const linkedReplies = children.map((c) => c.next('linked', 60_000));
      const t0 = nowMicros();
      for (const c of children) c.send({ cmd: 'peers', peers: addresses });
      linkedAt = (await Promise.all(linkedReplies)).map((e) => (Number(e.hr) - t0) / 1000);
    }
    await sleep(300);
    const linked = await mem();

    // Every TCP connection has one end on a listening port (a mesh node's, or the relay's).
    const ports = new Set(relay ? [relay.port] : Object.values(addresses).map(portOf));
    const tcp = establishedTcp().filter((s) => ports.has(s.local) || ports.has(s.remote));
    const connections = tcp.filter((s) => ports.has(s.local)).length;
    const ownInodes = new Set(tcp.map((s) => s.inode));
    const perProcess = pids.map((pid) => [...socketInodes(pid)].filter((i) => ownInodes.has(i)).length);
    const ends = relay ? N : 2 * links;
    if (connections !== links) anomalies.push(`${connections} established connections to the listening ports, expected ${links}`);
    if (sum(perProcess) !== ends) anomalies.push(`${sum(perProcess)} connection ends held by the node processes, expected ${ends}`);

    out.push(
      relay ? `# ${N} nodes over one relay, one process each, on loopback` : `# Mesh of ${N} nodes, one process each, on loopback`,
      '',
    );
    out.push(
      table(
        [
          'nodes',
          'processes',
          relay ? 'connected' : 'fully linked after',
          'connections expected',
          'established TCP connections',
          'ends in node processes',
          'per node process',
        ],
        [
          [
            int(N),
            relay ? `${int(N)} + relay` : int(N),
            relay ? 'yes' : `${dec(max(linkedAt))} ms (first node ${dec(min(linkedAt))} ms)`,
            relay ? `${int(links)} (to the relay)` : `${int(links)} (${int(2 * links)} ends)`,
            int(connections),
            int(sum(perProcess)),
            min(perProcess) === max(perProcess) ? int(min(perProcess)) : `${int(min(perProcess))}–${int(max(perProcess))}`,
          ],
        ],
      ),
    );

    // What the linked mesh costs doing nothing (heartbeats, sweeps): all node processes, from /proc.
    const idleFrom = pids.map(procCpuMicros);
    await sleep(IDLE_MS);
    const idleCpuPercent = (sum(pids.map(procCpuMicros)) - sum(idleFrom)) / 1e4 / (IDLE_MS / 1000);

    // ------------------------------------------------------------ load
    let afterLoad: Mem[] | undefined;
    if (seconds > 0 && rate > 0) {
      log(`mesh-scale: load, ${rate} msg/s per node for ${WARMUP_MS / 1000} + ${seconds} s`);
      const startMicros = nowMicros() + 300_000;
      const loadReplies = children.map((c, i) =>
        c.request(
          { cmd: 'load', startMicros, warmupMs: WARMUP_MS, seconds, rate, peers: ids.filter((_, j) => j !== i) },
          'loaded',
          WARMUP_MS + seconds * 1000 + 60_000,
        ),
      );
      // Other processes' CPU over the window (this machine has 2 cores: it shows in the figures).
      await sleep((startMicros + WARMUP_MS * 1000 - nowMicros()) / 1000);
      const cpuA = readCpu();
      const relayA = await relay?.sample();
      await sleep(seconds * 1000);
      const relayB = await relay?.sample();
      const loadOther = otherCpuPercent(cpuA, readCpu());
      // The relay's CPU over the same window, scaled to the window's length.
      const relayCpu = relayA && relayB ? ((relayB.cpuMicros - relayA.cpuMicros) / (relayB.t - relayA.t)) * 1000 * seconds : 0;
      const loaded = await Promise.all(loadReplies);
      await sleep(500);
      const received = await ask({ cmd: 'received' }, 'received', 30_000);
      afterLoad = await mem();
      const n = (e: ChildEvent[], k: string): number => sum(e.map((x) => Number(x[k] ?? 0)));
      const samples = Float64Array.from(received.flatMap((r) => r.samples as number[]));
      const lat = summarize(samples, samples.length);
      const windowDeliveries = n(received, 'windowDeliveries');
      const sent = n(loaded, 'sent');
      const consumed = n(received, 'consumed');
      const offline = n(loaded, 'offline');
      const undelivered = n(loaded, 'undelivered');
      const rejected = n(loaded, 'rejected');
      const unsettled = n(loaded, 'unsettled');
      const cpu = n(loaded, 'cpuMicros');
      const sysCpu = n(loaded, 'systemCpuMicros');
      const lost = sent - consumed - offline - undelivered - rejected;
      const firstRejection = loaded.find((e) => e.firstRejection)?.firstRejection;
      const reported = n(loaded, 'delivered');
      if (reported !== consumed) anomalies.push(`load: reports say ${reported} delivered, the consumer loops took ${consumed}`);
      if (lost !== 0) anomalies.push(`load: ${lost} messages neither consumed nor reported failed (sent ${sent}, consumed ${consumed})`);
      if (offline || undelivered || rejected || unsettled) {
        anomalies.push(
          `load: ${offline} reported offline, ${undelivered} reported overflow/refused, ${rejected} rejected, ${unsettled} sends unanswered after 30 s` +
            (firstRejection ? ` (first: ${String(firstRejection)})` : ''),
        );
      }
      out.push(
        '',
        `## Load: ${int(rate)} msg/s per node (${int(rate * N)} offered), ~${MESSAGE_BYTES} B JSON, 1 random peer × ${USERS_PER_MESSAGE} users`,
        '',
      );
      out.push(
        table(
          [
            'offered msg/s',
            'delivered msg/s',
            'p50 ms',
            'p99 ms',
            'p99.9 ms',
            'max ms',
            relay ? 'CPU µs/msg, all nodes (kernel) + relay' : 'CPU µs/msg, all nodes (kernel)',
            relay ? 'CPU, all nodes + relay' : 'CPU, all nodes',
            'idle CPU before, all nodes',
            "other processes' CPU",
            'sent',
            'reported delivered',
            'consumed',
            'lost',
            'failed/rejected',
          ],
          [
            [
              int(rate * N),
              int(windowDeliveries / seconds),
              dec(lat.p50),
              dec(lat.p99),
              dec(lat.p999),
              dec(lat.max),
              windowDeliveries
                ? `${dec(cpu / windowDeliveries)} (${dec(sysCpu / windowDeliveries)})${relay ? ` + ${dec(relayCpu / windowDeliveries)}` : ''}`
                : '–',
              `${Math.round((cpu / 1e6 / seconds) * 100)}%${relay ? ` + ${Math.round((relayCpu / 1e6 / seconds) * 100)}%` : ''} of a core`,
              `${Math.round(idleCpuPercent)}% of a core`,
              loadOther === undefined ? '–' : `${loadOther}% of a core`,
              int(sent),
              int(reported),
              int(consumed),
              int(lost),
              int(offline + undelivered + rejected),
            ],
          ],
        ),
      );
    }

    // ------------------------------------------------------------ presence directory
    let before: Mem[] | undefined;
    let after: Mem[] | undefined;
    let convergedMs: number | undefined;
    const perNode = relay ? 0 : Math.floor(users / N);
    if (perNode > 0) {
      log(`mesh-scale: directory, ${int(perNode)} users per node, ${int(perNode * N)} in all`);
      before = await mem();
      const t1 = nowMicros();
      const dirA = readCpu();
      await all((c, i) => c.request({ cmd: 'announce', first: i * perNode, count: perNode }, 'announced', 120_000));
      const total = perNode * N;
      let last: ChildEvent[] = [];
      const done = await waitUntil(
        async () => {
          last = await ask({ cmd: 'directory' }, 'directory', 30_000);
          return last.every((e) => Number(e.users) === total);
        },
        180_000,
        100,
      );
      convergedMs = (nowMicros() - t1) / 1000;
      const dirOther = otherCpuPercent(dirA, readCpu());
      if (!done)
        anomalies.push(`directory: not complete after 180 s (${last.map((e) => int(Number(e.users))).join(', ')} of ${int(total)} users)`);
      after = await mem();
      const dRss = after.map((m, i) => m.rss - before![i]!.rss);
      const dHeap = after.map((m, i) => m.heapUsed - before![i]!.heapUsed);
      out.push('', `## Presence directory: ${int(total)} users (${int(perNode)} per node), held by every node`, '');
      out.push(
        table(
          [
            'complete after',
            'RSS increase per node avg (min–max) MB',
            'heap increase per node avg (min–max) MB',
            'RSS increase, all nodes MB',
            'heap bytes per user per node',
            "other processes' CPU",
          ],
          [
            [
              `${int(convergedMs)} ms${done ? '' : ' (**incomplete**)'}`,
              `${mb(avg(dRss))} (${mb(min(dRss))}–${mb(max(dRss))})`,
              `${mb(avg(dHeap))} (${mb(min(dHeap))}–${mb(max(dHeap))})`,
              mb(sum(dRss)),
              dec(avg(dHeap) / total),
              dirOther === undefined ? '–' : `${dirOther}% of a core`,
            ],
          ],
        ),
      );
    }

    // ------------------------------------------------------------ memory
    const stages: Array<[string, Mem[] | undefined]> = [
      [relay ? 'connected to the relay' : 'listening, no links', idle],
      ['fully linked', relay ? undefined : linked],
      ['after the load', afterLoad],
      ['before the directory', before],
      [`holding the directory (${int(perNode * N)} users)`, after],
    ];
    out.push('', '## Memory per node process (after a full GC)', '');
    out.push(
      table(
        ['stage', 'RSS avg (min–max) MB', 'RSS total MB', 'heap used avg (min–max) MB', 'heap used total MB'],
        stages
          .filter((s): s is [string, Mem[]] => s[1] !== undefined)
          .map(([stage, m]) => {
            const rss = m.map((x) => x.rss);
            const heap = m.map((x) => x.heapUsed);
            return [
              stage,
              `${mb(avg(rss))} (${mb(min(rss))}–${mb(max(rss))})`,
              mb(sum(rss)),
              `${mb(avg(heap))} (${mb(min(heap))}–${mb(max(heap))})`,
              mb(sum(heap)),
            ];
          }),
      ),
    );
    const final = after ?? afterLoad ?? linked;
    out.push('', '## Per node', '');
    out.push(
      table(
        [
          'node',
          'pid',
          'linked after ms',
          'sockets',
          'RSS linked MB',
          'heap linked MB',
          'RSS end MB',
          'heap end MB',
          'peers linked at end',
          'link drops',
          'errors',
        ],
        ids.map((id, i) => [
          id,
          String(pids[i]),
          dec(linkedAt[i]),
          int(perProcess[i]),
          mb(linked[i]!.rss),
          mb(linked[i]!.heapUsed),
          mb(final[i]!.rss),
          mb(final[i]!.heapUsed),
          relay ? (final[i]!.linked ? 'connected' : '**not connected**') : `${final[i]!.linked}/${N - 1}`,
          int(final[i]!.downs),
          final[i]!.errors ? `${final[i]!.errors} (${final[i]!.firstError})` : '0',
        ]),
      ),
    );
    const drops = sum(final.map((m) => m.downs));
    if (drops > 0) anomalies.push(`${drops} link drops (peer:down, or a disconnect from the relay) during the run`);
    const unlinked = final.filter((m) => m.linked !== (relay ? 1 : N - 1)).length;
    if (unlinked > 0) anomalies.push(`${unlinked} nodes not linked to every peer at the end`);
    const errors = sum(final.map((m) => m.errors));
    if (errors > 0) anomalies.push(`${errors} client errors`);
    out.push('', `Run took ${Math.round((performance.now() - started) / 1000)} s.`);
    if (anomalies.length > 0) out.push('', '## Anomalies', '', ...anomalies.map((a) => `- ${a}`));
    process.stdout.write(out.join('\n') + '\n');
    if (anomalies.length > 0) process.exitCode = 1;
  } finally {
    await Promise.all(children.map((c) => c.stop(10_000)));
    await relay?.stop();
  }
}

const opts = flags();
if (opts.has('help')) {
  process.stdout.write(HELP);
} else if (opts.has('node')) {
  nodeChild(opts.get('node')!, opts.has('relay') ? Number(opts.get('relay')) : undefined);
} else {
  await bench(opts);
}
