/**
 * The relay's routing alone, in one process: batches of ROUTE frames routed
 * to in-memory targets, each batch flushed (and, for ONCE, settled one batch
 * later) as a relay session would, with no sockets. It gives CPU
 * nanoseconds (the process's, GC threads included) of routing per frame,
 * steadier than the capacity run (which shares two cores with its senders
 * and receivers), to compare changes to the routing path and what answering
 * after the receivers' applications (ONCE) costs over ACK runs.
 *
 *   node --import tsx bench/routing.ts [--rounds=5] [--ms=1500] [--only=once]
 *
 * Rounds interleave the cases; the best round of each is printed.
 */
import { FrameWriter } from '../src/codec/frame-writer.js';
import { AckRun } from '../src/protocol/index.js';
import { DeliveryWindow, type WindowOwner } from '../src/server/delivery-window.js';
import { HostIndex } from '../src/server/host-index.js';
import { Parking } from '../src/server/parking.js';
import { PendingAnswers, type AnswerSink } from '../src/server/pending-answers.js';
import type { RouteSender, RouteTarget } from '../src/server/route-endpoints.js';
import { Router } from '../src/server/router.js';
import { emptyStats } from '../src/server/stats.js';
import { buildRouteBatch } from './lib/wire.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const raw = argv.find((a) => a.startsWith(`--${name}=`));
  return raw === undefined ? fallback : Number(raw.slice(name.length + 3));
};
const ROUNDS = option('rounds', 5);
const MEASURE_MS = option('ms', 1500);
/** Only the cases whose label contains this (for profiling one). */
const ONLY = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
/** Frames per batch: about one 64 KiB socket read of 10-host frames. */
const BATCH_FRAMES = 256;
const WINDOW = 1 << 20;
const FRAME_LIMIT = 16 * 1024 * 1024;

class Target implements RouteTarget, WindowOwner {
  readonly idBytes: Uint8Array;
  readonly dialect = 'binary' as const;
  readonly maxFrameBytes = FRAME_LIMIT;
  readonly writer = new FrameWriter();
  readonly window: DeliveryWindow | undefined;
  /** Deliveries written by the end of the previous batch: settled at the end of this one. */
  private lastWritten = 0;

  constructor(
    readonly nodeId: string,
    once: boolean,
  ) {
    this.idBytes = Buffer.from(nodeId);
    this.window = once ? new DeliveryWindow(this, WINDOW) : undefined;
  }

  get outboundBytes(): number {
    return this.writer.length + (this.window?.heldBytes ?? 0);
  }

  touch(): void {}
  overflowed(): void {}

  /** What a session's flush does, less the socket write. */
  flush(): void {
    const parts = this.writer.take();
    this.window?.retain(parts);
  }

  /** The node's CONSUMED for what it was written one batch ago. */
  settle(): void {
    const window = this.window;
    if (window === undefined) return;
    if (this.lastWritten !== window.settled) window.consumed({ taken: this.lastWritten, settled: this.lastWritten, window: WINDOW });
    this.lastWritten = window.written;
  }
}

class Sender implements RouteSender, AnswerSink {
  readonly origin: Buffer;
  readonly stampedOrigin: Buffer | undefined;
  readonly answers: PendingAnswers | undefined;
  readonly acks = new AckRun();
  readonly maxFrameBytes = FRAME_LIMIT;
  readonly writer = new FrameWriter();
  readonly ready = true;
  lastReceived = Date.now();

  constructor(id: string, once: boolean) {
    this.origin = Buffer.concat([Buffer.of(id.length), Buffer.from(id)]);
    this.stampedOrigin = once ? Buffer.concat([this.origin, Buffer.alloc(8, 7)]) : undefined;
    this.answers = once ? new PendingAnswers(this) : undefined;
  }

  reportWriter(): FrameWriter {
    this.acks.seal(this.writer);
    return this.writer;
  }

  touch(): void {}

  acknowledge(seq: number): void {
    this.acks.add(seq, this.writer);
  }

  report(payload: Buffer): void {
    this.reportWriter().appendFrame(payload);
  }

  flush(): void {
    this.acks.seal(this.writer);
    this.writer.take();
  }
}

interface Case {
  label: string;
  hosts: number;
  once: boolean;
}

const CASES: Case[] = [
  { label: '1 host/msg, ACK runs', hosts: 1, once: false },
  { label: '1 host/msg, ONCE', hosts: 1, once: true },
  { label: '10 hosts/msg, ACK runs', hosts: 10, once: false },
  { label: '10 hosts/msg, ONCE', hosts: 10, once: true },
];

/** Routes batches for `ms` after a warm-up; returns nanoseconds per frame. */
function run(kase: Case, ms: number): number {
  const ids = Array.from({ length: 10 }, (_, i) => `receiver-${i}`);
  const targets = ids.map((id) => new Target(id, kase.once));
  const index = new HostIndex<Target>();
  for (const t of targets) index.add(t);
  const registry = { get: (): Target | undefined => undefined, find: index.find.bind(index) };
  const router = new Router(registry, emptyStats(), 64 * 1024 * 1024, new Parking(0, 0, 0));
  const sender = new Sender('sender-0', kase.once);
  const batch = buildRouteBatch({
    frames: BATCH_FRAMES,
    targets: ids,
    hostsPerFrame: kase.hosts,
    usersPerHost: 1,
    frameBytes: 100,
    report: true,
  });
  const bytes = batch.bytes;
  const oneBatch = (): void => {
    for (let pos = 0; pos < bytes.length;) {
      const end = pos + 4 + bytes.readUInt32LE(pos);
      router.route(sender, bytes, pos + 4, end);
      pos = end;
    }
    sender.flush();
    for (const t of targets) {
      t.flush();
      t.settle();
    }
  };
  const until = (deadline: number): number => {
    let frames = 0;
    while (performance.now() < deadline) {
      for (let k = 0; k < 8; k++) oneBatch();
      frames += 8 * BATCH_FRAMES;
    }
    return frames;
  };
  until(performance.now() + Math.min(500, ms / 2));
  // CPU time (GC threads included), not wall time: steadier on a shared machine.
  const cpu = process.cpuUsage();
  const frames = until(performance.now() + ms);
  const used = process.cpuUsage(cpu);
  return ((used.user + used.system) * 1e3) / frames;
}

const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const kase of CASES) {
    if (ONLY !== undefined && !kase.label.includes(ONLY)) continue;
    const ns = run(kase, MEASURE_MS);
    best.set(kase.label, Math.min(best.get(kase.label) ?? Infinity, ns));
  }
}
console.log('| Case | ns/frame (best of %d) |\n| --- | --- |', ROUNDS);
for (const kase of CASES) if (best.has(kase.label)) console.log(`| ${kase.label} | ${best.get(kase.label)!.toFixed(0)} |`);
const ratio = (hosts: number): string => {
  const once = best.get(`${hosts === 1 ? '1 host' : `${hosts} hosts`}/msg, ONCE`)!;
  const ack = best.get(`${hosts === 1 ? '1 host' : `${hosts} hosts`}/msg, ACK runs`)!;
  return `${((once / ack - 1) * 100).toFixed(0)}%`;
};
if (ONLY === undefined) console.log(`\nONCE over ACK runs: 1 host ${ratio(1)}, 10 hosts ${ratio(10)}`);
