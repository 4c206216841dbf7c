/**
 * Load for the capacity runs: connects as one or more nodes (HELLO/WELCOME
 * over a raw socket, no RelayClient) and writes one pre-encoded batch of
 * ROUTE frames again and again, as fast as the relay takes them: after a
 * write that fills the socket's buffer it waits for 'drain'. Reports (and
 * failure notices) coming back are counted by their length prefixes.
 * With `raw`, it writes plain 100-byte frames to a counting peer instead.
 *
 * With `acks`, the nodes announce that they read ACK frames, so runs of
 * delivered sends come back as one ACK each instead of a REPORT per send.
 *
 * With `once` (a window size), the nodes also announce `Features.ONCE`, each
 * with an incarnation of its own: the relay answers a send only once every
 * receiver's application took it. Like RelayClient, which keeps every
 * unanswered send (bounded by its `maxBufferedBytes`), a run given
 * `maxUnansweredBytes` stops writing on a node while that many bytes of its
 * sends are unanswered, until answers come back.
 *
 * Commands: connect {port, nodes, acks, once?}, connect-raw {port}, run
 * {spec | raw, maxMs, maxFrames, maxUnansweredBytes?}, stop, counts, close,
 * quit.
 */
import { connect, type Socket } from 'node:net';
import { Features } from '../../src/protocol/index.js';
import { FrameCounter } from '../lib/frame-counter.js';
import { buildRawBatch, buildRouteBatch, newIncarnation, openNode, type Batch, type RouteBatchSpec } from '../lib/wire.js';
import { emit, serve } from '../lib/worker.js';

interface Conn {
  socket: Socket;
  counter: FrameCounter;
  /** Frames written on this connection (each send asks for a report: each is answered once). */
  sent: number;
  /** Called after each read (answers may have come). */
  onRead?: (() => void) | undefined;
}

let conns: Conn[] = [];
let written = 0;
/** Times a run stopped writing on a node to wait for answers (`maxUnansweredBytes`). */
let answerWaits = 0;
let stopping = false;
const wakers = new Set<() => void>();

function stop(): void {
  stopping = true;
  for (const wake of wakers) wake();
  wakers.clear();
}

/** Waits for 'drain', a stop, or the deadline, whichever comes first. */
function drained(socket: Socket, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      wakers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, deadline - performance.now()));
    socket.once('drain', done);
    socket.once('close', done);
    wakers.add(done);
  });
}

/** Waits until at most `maxUnanswered` of `c`'s sends are unanswered, a stop, or the deadline. */
function answered(c: Conn, maxUnanswered: number, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      c.onRead = undefined;
      c.socket.off('close', done);
      wakers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, deadline - performance.now()));
    c.onRead = () => {
      if (c.sent - c.counter.report <= maxUnanswered) done();
    };
    c.socket.once('close', done);
    wakers.add(done);
  });
}

async function pump(c: Conn, batch: Batch, maxFrames: number, deadline: number, maxUnanswered: number): Promise<void> {
  const socket = c.socket;
  let frames = 0;
  while (!stopping && frames < maxFrames && performance.now() < deadline && !socket.destroyed) {
    const ok = socket.write(batch.bytes);
    frames += batch.frames;
    written += batch.frames;
    c.sent += batch.frames;
    if (!ok) await drained(socket, deadline);
    else await new Promise((resolve) => setImmediate(resolve));
    if (c.sent - c.counter.report > maxUnanswered && !stopping) {
      answerWaits++;
      await answered(c, maxUnanswered, deadline);
    }
  }
}

serve(async (command) => {
  switch (command.cmd) {
    case 'connect': {
      const port = Number(command.port);
      const nodes = command.nodes as string[];
      const features = Features.FAILURE_NOTICES | (command.acks ? Features.ACKS : 0);
      const window = command.once === undefined ? undefined : Number(command.once);
      conns = await Promise.all(
        nodes.map(async (id) => {
          const conn: Conn = { socket: undefined as unknown as Socket, counter: new FrameCounter(), sent: 0 };
          const onData = (chunk: Buffer): void => {
            conn.counter.push(chunk);
            conn.onRead?.();
          };
          const once = window === undefined ? undefined : { incarnation: newIncarnation(), window };
          conn.socket = await openNode(port, id, onData, 10_000, features, once);
          return conn;
        }),
      );
      emit('connected', { nodes: conns.length });
      return;
    }
    case 'connect-raw': {
      const socket = connect({ host: '127.0.0.1', port: Number(command.port), noDelay: true });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const counter = new FrameCounter();
      socket.on('data', (chunk: Buffer) => counter.push(chunk));
      conns = [{ socket, counter, sent: 0 }];
      emit('connected', { nodes: 1 });
      return;
    }
    case 'run': {
      const batch = command.raw
        ? buildRawBatch(Number(command.batchFrames), Number(command.frameBytes))
        : buildRouteBatch(command.spec as RouteBatchSpec);
      stopping = false;
      const deadline = performance.now() + Number(command.maxMs);
      const perConn = Math.ceil(Number(command.maxFrames) / conns.length);
      // Unanswered sends allowed per node, from a byte bound (by the batch's mean frame size); none: no bound.
      const maxUnanswered =
        command.maxUnansweredBytes === undefined
          ? Infinity
          : Math.max(batch.frames, Math.floor(Number(command.maxUnansweredBytes) / (batch.bytes.length / batch.frames)));
      answerWaits = 0;
      emit('started', { frameBytes: batch.frameBytes, payloadBytes: batch.payloadBytes, batchBytes: batch.bytes.length });
      await Promise.all(conns.map((c) => pump(c, batch, perConn, deadline, maxUnanswered)));
      emit('done', { written, answerWaits });
      return;
    }
    case 'stop':
      stop();
      return;
    case 'counts': {
      let reports = 0;
      let other = 0;
      let pending = 0;
      for (const c of conns) {
        reports += c.counter.report;
        other += c.counter.other;
        pending += c.socket.writableLength;
      }
      emit('counts', { written, reports, other, pending });
      return;
    }
    case 'close':
      stop();
      for (const c of conns) c.socket.destroy();
      conns = [];
      emit('closed');
      return;
    default:
      emit('error', { message: `unknown command ${command.cmd}` });
  }
});
