/**
 * Relay capacity: the relay alone in its own process; one sender process
 * (2 nodes) writes pre-encoded ROUTE batches as fast as the relay takes
 * them, one receiver process (10 nodes) counts DELIVER frames. Frames routed
 * per second and relay CPU per frame come from the relay's own counters and
 * `process.cpuUsage()`, sampled at the start and the end of the window.
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
/** Size of a one-host ROUTE frame, prefix included (the same as the raw pipe's frames). */
export const FRAME_BYTES = 100;

interface Case {
  id: string;
  label: string;
  hosts: number;
  report: boolean;
  /** The senders read ACK frames: runs of delivered sends are answered by one frame. */
  acks?: boolean;
}

export const RELAY_CASES: Case[] = [
  { id: 'relay-1h', label: '1 host/msg', hosts: 1, report: false },
  { id: 'relay-1h-report', label: '1 host/msg + REPORT', hosts: 1, report: true },
  { id: 'relay-10h', label: '10 hosts/msg', hosts: 10, report: false },
  { id: 'relay-10h-report', label: '10 hosts/msg + REPORT', hosts: 10, report: true },
  // The same answers, as RelayClient gets them: every send reported, runs of delivered ones in one ACK.
  { id: 'relay-1h-ack', label: '1 host/msg + REPORT, ACK runs', hosts: 1, report: true, acks: true },
  { id: 'relay-10h-ack', label: '10 hosts/msg + REPORT, ACK runs', hosts: 10, report: true, acks: true },
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
    await receiver.request({ cmd: 'connect', port: relay.port, nodes: RECEIVERS }, 'connected', 20_000);
    await sender.request({ cmd: 'connect', port: relay.port, nodes: SENDERS }, 'connected', 20_000);
    let acks = false;
    for (const kase of RELAY_CASES) {
      if (options.only && !options.only.includes(kase.id)) continue;
      if ((kase.acks ?? false) !== acks) {
        acks = kase.acks ?? false;
        await sender.request({ cmd: 'close' }, 'closed', 10_000);
        await sender.request({ cmd: 'connect', port: relay.port, nodes: acks ? ACK_SENDERS : SENDERS, acks }, 'connected', 20_000);
      }
      log(`capacity: ${kase.label}`);
      rows.push(await quietest(() => runCase(kase, config, relay, sender, receiver), config.retries, log));
    }
  } finally {
    await sender.stop();
    await receiver.stop();
    await relay.stop();
  }
  return rows;
}

async function runCase(
  kase: Case,
  config: BenchConfig,
  relay: Awaited<ReturnType<typeof startRelay>>,
  sender: Child,
  receiver: Child,
): Promise<CapacityRow> {
  const c = config.capacity;
  await relay.resetPeak();
  const before = await relay.sample();
  const sentBefore = await sender.request({ cmd: 'counts' }, 'counts', 10_000);
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
  await sender.next('done', runMs + 20_000);

  // Let the relay finish what is still queued, then check that everything adds up.
  let last: ServerSample = b;
  let stable = 0;
  const problems: string[] = [];
  let counts = { deliver: 0, reports: 0, other: 0, pending: 0 };
  const settled = await waitUntil(
    async () => {
      const s = await relay.sample();
      const rc = await receiver.request({ cmd: 'counts' }, 'counts', 10_000);
      const sc = await sender.request({ cmd: 'counts' }, 'counts', 10_000);
      counts = {
        deliver: Number(rc.deliver),
        reports: Number(sc.reports) - Number(sentBefore.reports),
        other: Number(sc.other),
        pending: Number(sc.pending),
      };
      stable = s.stats!.routes === last.stats!.routes ? stable + 1 : 0;
      last = s;
      const reportsDone = !kase.report || counts.reports >= s.stats!.routes - before.stats!.routes;
      return stable >= 2 && counts.pending === 0 && counts.deliver === s.stats!.deliveries && reportsDone;
    },
    c.quiesceMs,
    50,
  );
  const routes = last.stats!.routes - before.stats!.routes;
  const overflows = last.stats!.overflows - before.stats!.overflows;
  if (!settled) problems.push('the relay did not settle in time');
  if (counts.deliver !== last.stats!.deliveries) {
    problems.push(`receivers counted ${counts.deliver} deliveries, the relay wrote ${last.stats!.deliveries}`);
  }
  if (kase.report && counts.reports !== routes) problems.push(`${counts.reports} reports for ${routes} routes`);
  if (overflows > 0) problems.push(`${overflows} hosts refused for overflow`);

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
