/**
 * The relay's side of effectively-once delivery, driven by raw nodes that
 * speak the ONCE protocol by hand: a sender's answer waits for the
 * receiver's application (CONSUMED), answers keep send order, the receiver's
 * window bounds what is written, what waits too long is given up (EXPIRE)
 * and reported `overflow`, and a receiver that drops gets what it had not
 * taken again when it comes back within the grace (else `offline`).
 */
import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../../src/codec/index.js';
import {
  Features,
  FrameType,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  ReportFlags,
  RouteFlags,
  decodeAck,
  decodeDeliver,
  decodeExpire,
  decodeReport,
  encodeControl,
  newNonce,
  writeConsumed,
  writeRoute,
  type RouteTable,
} from '../../src/protocol/index.js';
import { startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer } from '../helpers/raw-peer.js';

useRelayHarness();

/** A raw ONCE node: says hello with an incarnation and a window, and speaks ROUTE and CONSUMED. */
class OnceNode {
  readonly incarnation = newNonce().subarray(0, 8);
  private seq = 0;
  private readonly writer = new FrameWriter();
  /** Deliveries received, numbered from 1. */
  delivered = 0;

  private constructor(
    readonly peer: RawPeer,
    readonly nodeId: string,
  ) {}

  static async join(port: number, nodeId: string, window = 100): Promise<OnceNode> {
    const node = new OnceNode(await RawPeer.connect(port), nodeId);
    node.peer.write(
      encodeControl({
        type: FrameType.HELLO,
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        nodeId,
        maxFrameBytes: 1024 * 1024,
        features: Features.ACKS | Features.FAILURE_NOTICES,
        nonce: newNonce(),
        once: { incarnation: node.incarnation, window },
      }),
    );
    const welcome = await node.peer.nextControl();
    if (welcome.type !== FrameType.WELCOME || (welcome.features & Features.ONCE) === 0) throw new Error('no ONCE welcome');
    return node;
  }

  send(table: RouteTable, message: string): number {
    const seq = ++this.seq;
    writeRoute(this.writer, RouteFlags.REPORT, seq, table, message, 1024 * 1024);
    for (const part of this.writer.take()) this.peer.write(part);
    return seq;
  }

  consumed(taken: number, settled = taken, window = 100): void {
    writeConsumed(this.writer, { taken, settled, window });
    for (const part of this.writer.take()) this.peer.write(part);
  }

  /** The next frame of `type`, skipping pings. */
  async next(type: number, timeoutMs = 3_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.peer.nextFrame(Math.max(1, deadline - Date.now()));
      if (frame[0] === FrameType.PING) continue;
      if (frame[0] !== type) throw new Error(`expected 0x${type.toString(16)}, got 0x${frame[0]!.toString(16)}`);
      if (type === FrameType.DELIVER) this.delivered++;
      return frame;
    }
  }

  /** True when nothing but pings arrives within `ms` (the inbox is empty of anything else). */
  async quietFor(ms: number): Promise<boolean> {
    const from = this.peer.received.length;
    try {
      await this.peer.until(() => this.peer.received.some((f, i) => i >= from && f[0] !== FrameType.PING), ms);
      return false;
    } catch {
      return true;
    }
  }
}

describe('the relay with ONCE nodes', () => {
  it("answers a send only once the receiver's application took it, with the send stamped", async () => {
    const { port } = await startServer();
    const a = await OnceNode.join(port, 'a');
    const b = await OnceNode.join(port, 'b');
    const seq = a.send({ b: ['u'] }, 'hello');
    const deliver = decodeDeliver(await b.next(FrameType.DELIVER));
    expect(deliver.stamp).toEqual({ incarnation: a.incarnation, seq });
    expect(deliver.users).toEqual(['u']);
    expect(await a.quietFor(150)).toBe(true);
    b.consumed(1);
    expect(decodeAck(await a.next(FrameType.ACK))).toEqual({ first: seq, count: 1 });
  });

  it('answers in send order: a send answered early waits for the one before it', async () => {
    const { port } = await startServer();
    const a = await OnceNode.join(port, 'a');
    const slow = await OnceNode.join(port, 'slow');
    const fast = await OnceNode.join(port, 'fast');
    const first = a.send({ slow: ['u'] }, 'one');
    a.send({ fast: ['v'] }, 'two');
    await slow.next(FrameType.DELIVER);
    await fast.next(FrameType.DELIVER);
    fast.consumed(1);
    expect(await a.quietFor(150)).toBe(true);
    slow.consumed(1);
    expect(decodeAck(await a.next(FrameType.ACK))).toEqual({ first, count: 2 });
  });

  it('writes within the window and holds the rest until CONSUMED opens it', async () => {
    const { port } = await startServer();
    const a = await OnceNode.join(port, 'a');
    const b = await OnceNode.join(port, 'b', 2);
    for (let i = 0; i < 5; i++) a.send({ b: ['u'] }, `m${i}`);
    await b.next(FrameType.DELIVER);
    await b.next(FrameType.DELIVER);
    expect(await b.quietFor(150)).toBe(true);
    b.consumed(2, 2, 2);
    const third = decodeDeliver(await b.next(FrameType.DELIVER));
    expect(third.payload.toString()).toBe('m2');
    await b.next(FrameType.DELIVER);
    expect(await b.quietFor(100)).toBe(true);
    b.consumed(4, 4, 10);
    await b.next(FrameType.DELIVER);
    b.consumed(5);
    // Answered as the window settles, in runs, in order, each send once.
    const answered: number[] = [];
    while (answered.length < 5) {
      const { first, count } = decodeAck(await a.next(FrameType.ACK));
      for (let k = 0; k < count; k++) answered.push(first + k);
    }
    expect(answered).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives up a delivery the application did not take in time: EXPIRE, then the sender hears overflow', async () => {
    const { port } = await startServer({ deliveryTimeoutMs: 200 });
    const a = await OnceNode.join(port, 'a');
    const b = await OnceNode.join(port, 'b');
    const seq = a.send({ b: ['u1', 'u2'] }, 'late');
    await b.next(FrameType.DELIVER);
    const through = decodeExpire(await b.next(FrameType.EXPIRE, 2_000));
    expect(through).toBe(1);
    b.consumed(0, 1);
    const report = await a.next(FrameType.REPORT);
    expect(report[1]! & ReportFlags.IMPLIED).toBe(ReportFlags.IMPLIED);
    const decoded = decodeReport(report);
    expect(decoded.seq).toBe(seq);
    expect(decoded.failed).toEqual([{ host: 'b', reason: 2, users: ['u1', 'u2'] }]);
  });

  it('a held delivery that waits past the bound is reported overflow without being written', async () => {
    const { port } = await startServer({ deliveryTimeoutMs: 200 });
    const a = await OnceNode.join(port, 'a');
    const b = await OnceNode.join(port, 'b', 1);
    a.send({ b: ['u'] }, 'written');
    a.send({ b: ['v'] }, 'held');
    await b.next(FrameType.DELIVER);
    b.consumed(1, 1, 1);
    expect(decodeAck(await a.next(FrameType.ACK))).toEqual({ first: 1, count: 1 });
    // The second is written now that the window opened; not taken, it expires.
    await b.next(FrameType.DELIVER);
    expect(decodeExpire(await b.next(FrameType.EXPIRE, 2_000))).toBe(2);
    b.consumed(1, 2, 1);
    expect(decodeReport(await a.next(FrameType.REPORT)).failed).toEqual([{ host: 'b', reason: 2, users: ['v'] }]);
  });

  it('a receiver that drops gets what it had not taken again when it is back within the grace', async () => {
    const { port } = await startServer({ presenceGraceMs: 2_000 });
    const a = await OnceNode.join(port, 'a');
    const b = await OnceNode.join(port, 'b');
    a.send({ b: ['u'] }, 'one');
    a.send({ b: ['u'] }, 'two');
    await b.next(FrameType.DELIVER);
    await b.next(FrameType.DELIVER);
    b.consumed(1);
    expect(decodeAck(await a.next(FrameType.ACK))).toEqual({ first: 1, count: 1 });
    b.peer.destroy();
    await b.peer.waitClosed();
    // Routed while it is away: parked, not offline.
    a.send({ b: ['u'] }, 'three');
    const back = await OnceNode.join(port, 'b');
    const again = [await back.next(FrameType.DELIVER), await back.next(FrameType.DELIVER)].map((f) => decodeDeliver(f));
    expect(again.map((d) => [d.payload.toString(), d.stamp?.seq])).toEqual([
      ['two', 2],
      ['three', 3],
    ]);
    back.consumed(2);
    expect(decodeAck(await a.next(FrameType.ACK))).toEqual({ first: 2, count: 2 });
  });

  it('a receiver that does not come back within the grace is reported offline, with its users', async () => {
    const { port } = await startServer({ presenceGraceMs: 300 });
    const a = await OnceNode.join(port, 'a');
    const b = await OnceNode.join(port, 'b');
    const seq = a.send({ b: ['u'] }, 'one');
    await b.next(FrameType.DELIVER);
    b.peer.destroy();
    const report = decodeReport(await a.next(FrameType.REPORT, 3_000));
    expect(report.seq).toBe(seq);
    expect(report.failed).toEqual([{ host: 'b', reason: 1, users: ['u'] }]);
  });

  it('a freshly started relay holds sends for nodes not connected yet, for the grace', async () => {
    const { port } = await startServer({ startupGraceMs: 2_000 });
    const a = await OnceNode.join(port, 'a');
    a.send({ late: ['u'] }, 'early bird');
    expect(await a.quietFor(150)).toBe(true);
    const late = await OnceNode.join(port, 'late');
    expect(decodeDeliver(await late.next(FrameType.DELIVER)).payload.toString()).toBe('early bird');
    late.consumed(1);
    expect(decodeAck(await a.next(FrameType.ACK))).toEqual({ first: 1, count: 1 });
  });
});
