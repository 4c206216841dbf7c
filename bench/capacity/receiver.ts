/**
 * The receiving side of the capacity runs: connects as nodes (HELLO/WELCOME
 * over a raw socket) and counts the DELIVER frames it is sent by their
 * length prefixes, decoding nothing else. With `listen-raw`, it accepts
 * plain connections (the raw TCP pipe) and counts their frames the same way.
 *
 * With `once` (a window size), the nodes announce `Features.ONCE`: each
 * counts a DELIVER as taken once its last byte is in, and answers every
 * socket read that completed deliveries with one CONSUMED (taken = settled =
 * deliveries so far, the same window), as a node does once per flush, so
 * the relay's window to it keeps moving.
 *
 * Commands: connect {port, nodes, once?}, listen-raw, counts, close, quit.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FrameWriter } from '../../src/codec/index.js';
import { FrameType, writeConsumed } from '../../src/protocol/index.js';
import { FrameCounter } from '../lib/frame-counter.js';
import { newIncarnation, openNode } from '../lib/wire.js';
import { emit, serve } from '../lib/worker.js';

/** Bytes of a length prefix and a type byte. */
const HEAD = 5;

/**
 * A ONCE node's reading side: counts frames like {@link FrameCounter} (a
 * frame when it is whole) and answers each read with one CONSUMED.
 */
class OnceCounter {
  deliver = 0;
  report = 0;
  other = 0;
  bytes = 0;
  /** EXPIRE frames: the relay gave deliveries up (a bench run should see none). */
  expire = 0;
  /** The `settled` of the last CONSUMED written. */
  private told = 0;
  /** A CONSUMED is owed even if nothing new was taken (an EXPIRE wants its answer). */
  private owed = false;
  /** Bytes of the current frame still to come (its prefix and type byte read). */
  private remaining = 0;
  private type = 0;
  private readonly head = Buffer.alloc(HEAD);
  private headLen = 0;
  private readonly writer = new FrameWriter();

  constructor(readonly window: number) {}

  push(chunk: Buffer, socket: Socket): void {
    const n = chunk.length;
    this.bytes += n;
    let pos = 0;
    while (pos < n) {
      if (this.remaining > 0) {
        const k = Math.min(this.remaining, n - pos);
        this.remaining -= k;
        pos += k;
        if (this.remaining === 0) this.whole();
      } else if (this.headLen === 0 && n - pos >= HEAD) {
        this.begin(chunk.readUInt32LE(pos), chunk[pos + 4]!);
        pos += HEAD;
      } else {
        this.head[this.headLen++] = chunk[pos++]!;
        if (this.headLen === HEAD) {
          this.headLen = 0;
          this.begin(this.head.readUInt32LE(0), this.head[4]!);
        }
      }
    }
    const taken = this.deliver;
    if (taken === this.told && !this.owed) return;
    writeConsumed(this.writer, { taken, settled: taken, window: this.window });
    for (const part of this.writer.take()) socket.write(part);
    this.told = taken;
    this.owed = false;
  }

  /** A frame of `length` bytes (type byte included) whose type is `type` begins. */
  private begin(length: number, type: number): void {
    this.type = type;
    this.remaining = length - 1;
    if (this.remaining === 0) this.whole();
  }

  /** The current frame is all in. */
  private whole(): void {
    switch (this.type) {
      case FrameType.DELIVER:
        this.deliver++;
        return;
      case FrameType.REPORT:
        this.report++;
        return;
      case FrameType.EXPIRE:
        // Every delivery it names was written before it, so is counted by
        // now: settled covers it in the CONSUMED that ends this read.
        this.expire++;
        this.owed = true;
        return;
      default:
        this.other++;
    }
  }
}

interface Counts {
  deliver: number;
  report: number;
  other: number;
  bytes: number;
}

let counters: Array<FrameCounter | OnceCounter> = [];
let sockets: Socket[] = [];
let server: Server | undefined;

serve(async (command) => {
  switch (command.cmd) {
    case 'connect': {
      const port = Number(command.port);
      const nodes = command.nodes as string[];
      const window = command.once === undefined ? undefined : Number(command.once);
      const opened = await Promise.all(
        nodes.map(async (id) => {
          if (window === undefined) {
            const counter = new FrameCounter();
            const socket = await openNode(port, id, (chunk) => counter.push(chunk));
            return { socket, counter };
          }
          const counter = new OnceCounter(window);
          const socket = await openNode(port, id, (chunk, s) => counter.push(chunk, s), 10_000, undefined, {
            incarnation: newIncarnation(),
            window,
          });
          return { socket, counter };
        }),
      );
      counters = opened.map((o) => o.counter);
      sockets = opened.map((o) => o.socket);
      emit('connected', { nodes: sockets.length });
      return;
    }
    case 'listen-raw': {
      counters = [];
      server = createServer((socket) => {
        socket.setNoDelay(true);
        const counter = new FrameCounter();
        counters.push(counter);
        sockets.push(socket);
        socket.on('data', (chunk: Buffer) => counter.push(chunk));
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      emit('listening', { port: typeof address === 'object' && address ? address.port : 0 });
      return;
    }
    case 'counts': {
      const sum: Counts = { deliver: 0, report: 0, other: 0, bytes: 0 };
      let expire = 0;
      for (const c of counters) {
        sum.deliver += c.deliver;
        sum.report += c.report;
        sum.other += c.other;
        sum.bytes += c.bytes;
        if (c instanceof OnceCounter) expire += c.expire;
      }
      emit('counts', { t: performance.now(), ...sum, expire, cpu: process.cpuUsage() });
      return;
    }
    case 'close':
      for (const s of sockets) s.destroy();
      sockets = [];
      counters = [];
      server?.close();
      server = undefined;
      emit('closed');
      return;
    default:
      emit('error', { message: `unknown command ${command.cmd}` });
  }
});
