/**
 * Relay capacity: the relay alone in its own process; one sender process
 * (2 nodes) writes pre-encoded ROUTE batches as fast as the relay takes
 * them, one receiver process (10 nodes) counts DELIVER frames. Frames routed
 * per second and relay CPU per frame come from the relay's own counters and
 * `process.cpuUsage()`, sampled at the start and the end of the window.
 *
 * The ONCE cases measure the relay's effectively-once bookkeeping: senders
 * and receivers announce `Features.ONCE`, every DELIVER is stamped and
 * numbered against the receiver's window, and a send is answered only when
 * the receivers' CONSUMED (one per socket read) says they took it.
 */
import { Child } from '../lib/child.js';
import type { BenchConfig } from '../lib/config.js';
import type { CapacityRow } from '../lib/results.js';
import { startRelay, type ServerSample } from '../lib/servers.js';
import { otherCpuPercent, quietest, readCpu } from '../lib/interference.js';
import { sleep, waitUntil } from '../lib/time.js';

const RECEIVERS = Array.from({ length: 10 }, (_, i) => `r${i}`);
const SENDERS = ['s0', 's1'];
const ACK_SENDERS = ['k0', 'k1'];
const ONCE_SENDERS = ['e0', 'e1'];
/** Size of a one-host ROUTE frame, prefix included (the same as the raw pipe's frames). */
export const FRAME_BYTES = 100;
/** A ONCE sender's own window: it is sent nothing, so any size does. */
const SENDER_WINDOW = 1 << 20;
/** Bytes of unanswered sends a ONCE sender keeps per node, as RelayClient's default `maxBufferedBytes`. */
const MAX_UNANSWERED_BYTES = 16 * 1024 * 1024;

/**
 * Deliveries a ONCE receiver lets the relay write past what it settled.
 * Beyond it the relay holds deliveries back (each copied into a frame of its
 * own, written when a CONSUMED opens the window, given up after the relay's
 * `deliveryTimeoutMs`): a cost these cases must not measure. Answering every
 * read is not enough to keep a small window open: what is in flight to a
 * receiver (the relay's buffer, the sockets', the kernel's) is several ticks
 * of deliveries, and in the 10-host case a tick writes a whole batch to
 * every receiver (a window of 4096 closed there, and tripled the relay's CPU
 * per frame). So the window is larger than everything the senders can have
 * unanswered: a delivery stays unsettled only while its send is unanswered,
 * a send has at most one delivery per receiver, and a sender writes at most
 * one batch past its bound on unanswered bytes (the smallest ROUTE is
 * FRAME_BYTES). The senders wait for answers before the window can close.
 */
function receiverWindow(batchFrames: number): number {
  return ONCE_SENDERS.length * (Math.ceil(MAX_UNANSWERED_BYTES / FRAME_BYTES) + batchFrames);
}

interface Case {
  id: string;
  label: string;
  hosts: number;
  report: boolean;
  /** The senders read ACK frames: runs of delivered sends are answered by one frame. */
  acks?: boolean;
  /** Senders and receivers speak ONCE: answers wait for the receivers' CONSUMED (implies `acks`). */
  once?: boolean;
}

/** How the nodes of a case connect: which senders, with what features, and whether the receivers speak ONCE. */
function nodesOf(kase: Case): 'plain' | 'acks' | 'once' {
  return kase.once ? 'once' : kase.acks ? 'acks' : 'plain';
}

export const RELAY_CASES: Case[] = [
  { id: 'relay-1h', label: '1 host/msg', hosts: 1, report: false },
  { id: 'relay-1h-report', label: '1 host/msg + REPORT', hosts: 1, report: true },
  { id: 'relay-10h', label: '10 hosts/msg', hosts: 10, report: false },
  { id: 'relay-10h-report', label: '10 hosts/msg + REPORT', hosts: 10, report: true },
  // The same answers, as RelayClient gets them: every send reported, runs of delivered ones in one ACK.
  { id: 'relay-1h-ack', label: '1 host/msg + REPORT, ACK runs', hosts: 1, report: true, acks: true },
  { id: 'relay-10h-ack', label: '10 hosts/msg + REPORT, ACK runs', hosts: 10, report: true, acks: true },
  // The same, effectively once: a send is answered (in ACK runs) once the receivers' applications took it.
  { id: 'relay-1h-once', label: '1 host/msg + report, ONCE', hosts: 1, report: true, acks: true, once: true },
  { id: 'relay-10h-once', label: '10 hosts/msg + report, ONCE', hosts: 10, report: true, acks: true, once: true },
];

export interface RelayCapacityOptions {
  /** Node flags for the relay process (e.g. --cpu-prof). */
  relayExecArgv?: string[];
  /** Only these case ids. */
  only?: string[];
  log?: (line: string) => void;
}

export async function runRelayCapacity(config: BenchConfig, options: RelayCapacityOptions = {}): Promise<CapacityRow[]> {
  const log = options.log ?? (() => {});
  const relay = await startRelay({
    maxOutboundBytes: 64 * 1024 * 1024,
    ...(options.relayExecArgv ? { execArgv: options.relayExecArgv } : {}),
  });
  const sender = new Child('capacity-sender', 'bench/capacity/sender.ts');
  const receiver = new Child('capacity-receiver', 'bench/capacity/receiver.ts');
  const rows: CapacityRow[] = [];
  try {
    let nodes: ReturnType<typeof nodesOf> | undefined;
    for (const kase of RELAY_CASES) {
      if (options.only && !options.only.includes(kase.id)) continue;
      const wanted = nodesOf(kase);
      if (wanted !== nodes) {
        await connectNodes(relay.port, sender, receiver, nodes, wanted, receiverWindow(config.capacity.batchFrames));
        nodes = wanted;
      }
      log(`capacity: ${kase.label}`);
      rows.push(await quietest(() => runCase(kase, config, relay, sender, receiver, log), config.retries, log));
    }
  } finally {
    await sender.stop();
    await receiver.stop();
    await relay.stop();
  }
  return rows;
}

/** (Re)connects the senders, and the receivers when whether they speak ONCE changes. */
async function connectNodes(
  port: number,
  sender: Child,
  receiver: Child,
  from: ReturnType<typeof nodesOf> | undefined,
  to: ReturnType<typeof nodesOf>,
  window: number,
): Promise<void> {
  if (from !== undefined) await sender.request({ cmd: 'close' }, 'closed', 10_000);
  if (from === undefined || (from === 'once') !== (to === 'once')) {
    if (from !== undefined) await receiver.request({ cmd: 'close' }, 'closed', 10_000);
    await receiver.request({ cmd: 'connect', port, nodes: RECEIVERS, ...(to === 'once' ? { once: window } : {}) }, 'connected', 20_000);
  }
  const senders = { plain: SENDERS, acks: ACK_SENDERS, once: ONCE_SENDERS }[to];
  await sender.request(
    { cmd: 'connect', port, nodes: senders, acks: to !== 'plain', ...(to === 'once' ? { once: SENDER_WINDOW } : {}) },
    'connected',
    20_000,
  );
}

async function runCase(
  kase: Case,
  config: BenchConfig,
  relay: Awaited<ReturnType<typeof startRelay>>,
  sender: Child,
  receiver: Child,
  log: (line: string) => void,
): Promise<CapacityRow> {
  const c = config.capacity;
  await relay.resetPeak();
  const before = await relay.sample();
  const sentBefore = await sender.request({ cmd: 'counts' }, 'counts', 10_000);
  // Receivers may have reconnected since the relay started: compare what they counted in this case only.
  const receivedBefore = await receiver.request({ cmd: 'counts' }, 'counts', 10_000);
  const runMs = c.warmupMs + c.measureMs + 2_000;
  const started = await sender.request(
    {
      cmd: 'run',
      spec: {
        frames: c.batchFrames,
        targets: RECEIVERS,
        hostsPerFrame: kase.hosts,
        usersPerHost: 1,
        frameBytes: FRAME_BYTES,
        report: kase.report,
      },
      maxMs: runMs,
      maxFrames: c.maxFrames,
      ...(kase.once ? { maxUnansweredBytes: MAX_UNANSWERED_BYTES } : {}),
    },
    'started',
    20_000,
  );
  await sleep(c.warmupMs);
  const a = await relay.sample();
  const cpuA = readCpu();
  await sleep(c.measureMs);
  const b = await relay.sample();
  const cpuB = readCpu();
  sender.send({ cmd: 'stop' });
  const done = await sender.next('done', runMs + 20_000);

  // Let the relay finish what is still queued, then check that everything adds up.
  let last: ServerSample = b;
  let stable = 0;
  const problems: string[] = [];
  const delivered = (s: ServerSample): number => s.stats!.deliveries - before.stats!.deliveries;
  let counts = { deliver: 0, reports: 0, other: 0, pending: 0 };
  let expired = 0;
  const settled = await waitUntil(
    async () => {
      const s = await relay.sample();
      const rc = await receiver.request({ cmd: 'counts' }, 'counts', 10_000);
      const sc = await sender.request({ cmd: 'counts' }, 'counts', 10_000);
      counts = {
        deliver: Number(rc.deliver) - Number(receivedBefore.deliver),
        reports: Number(sc.reports) - Number(sentBefore.reports),
        other: Number(sc.other),
        pending: Number(sc.pending),
      };
      expired = Number(rc.expire) - Number(receivedBefore.expire);
      stable = s.stats!.routes === last.stats!.routes ? stable + 1 : 0;
      last = s;
      const reportsDone = !kase.report || counts.reports >= s.stats!.routes - before.stats!.routes;
      return stable >= 2 && counts.pending === 0 && counts.deliver === delivered(s) && reportsDone;
    },
    c.quiesceMs,
    50,
  );
  const routes = last.stats!.routes - before.stats!.routes;
  const overflows = last.stats!.overflows - before.stats!.overflows;
  if (!settled) problems.push('the relay did not settle in time');
  if (counts.deliver !== delivered(last)) {
    problems.push(`receivers counted ${counts.deliver} deliveries, the relay wrote ${delivered(last)}`);
  }
  if (kase.report && counts.reports !== routes) problems.push(`${counts.reports} reports for ${routes} routes`);
  if (overflows > 0) problems.push(`${overflows} hosts refused for overflow`);
  if (kase.once) {
    const waits = Number(done.answerWaits);
    if (waits > 0) log(`  the senders waited for answers ${waits} times (${MAX_UNANSWERED_BYTES} bytes of sends unanswered on a node)`);
    if (expired > 0) problems.push(`the relay gave up deliveries: ${expired} EXPIRE frames`);
  }

  const seconds = (b.t - a.t) / 1000;
  const frames = b.stats!.routes - a.stats!.routes;
  const deliveries = b.stats!.deliveries - a.stats!.deliveries;
  const cpu = b.cpuMicros - a.cpuMicros;
  return {
    id: kase.id,
    label: kase.label,
    system: 'imrelay relay',
    framesPerSecond: frames / seconds,
    deliveriesPerSecond: deliveries / seconds,
    cpuMicrosPerFrame: frames > 0 ? cpu / frames : undefined,
    cpuPercent: (cpu / 1e6 / seconds) * 100,
    peakRssBytes: last.peakRss,
    frameBytes: Number(started.frameBytes),
    frames,
    seconds,
    otherCpuPercent: otherCpuPercent(cpuA, cpuB),
    window: { fromMicros: a.hrMicros!, toMicros: b.hrMicros! },
    ...(problems.length ? { problems } : {}),
  };
}
