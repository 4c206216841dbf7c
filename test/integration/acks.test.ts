import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codec/index.js';
import {
  Features,
  FrameType,
  RouteFlags,
  Scratch,
  decodeAck,
  decodeReport,
  decodeRoute,
  encodeAck,
  encodeRouteHeader,
} from '../../src/protocol/index.js';
import { collect } from '../helpers/collector.js';
import { settle } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, startFakeRelay, welcomeFrame } from '../helpers/raw-peer.js';

useRelayHarness();

/** One ROUTE frame, length prefix included. */
function route(seq: number, table: Record<string, string[]>, report = true): Buffer {
  const scratch = new Scratch();
  const n = encodeRouteHeader(scratch, report ? RouteFlags.REPORT : 0, seq, table);
  return encodeFrame(Buffer.concat([scratch.buf.subarray(0, n), Buffer.from('"m"')]));
}

/** The answers a raw sender got, in order: ['ack', first, count] or ['report', seq, failed hosts]. */
function answers(peer: RawPeer): Array<[string, number, number | string[]]> {
  return peer.received
    .filter((f) => f[0] === FrameType.ACK || f[0] === FrameType.REPORT)
    .map((f) => {
      if (f[0] === FrameType.ACK) {
        const { first, count } = decodeAck(f);
        return ['ack', first, count];
      }
      const r = decodeReport(f);
      return ['report', r.seq, r.failed.map((x) => x.host)];
    });
}

function answered(peer: RawPeer): number {
  return answers(peer).reduce((n, [kind, , v]) => n + (kind === 'ack' ? (v as number) : 1), 0);
}

async function nodes(): Promise<{ sender: RawPeer; receiver: RawPeer; features: number }> {
  const { port } = await startServer();
  const receiver = await RawPeer.connect(port);
  await receiver.handshake('im-2');
  const sender = await RawPeer.connect(port);
  const welcome = await sender.handshake('im-1', undefined, Features.ACKS);
  return { sender, receiver, features: welcome.features };
}

describe('ACK: one frame for a run of fully delivered sends', () => {
  it('a node that reads ACKs gets its sends acknowledged in runs, covering every seq once, in order', async () => {
    const { sender, receiver, features } = await nodes();
    expect(features & Features.ACKS).toBe(Features.ACKS);
    sender.write(Buffer.concat(Array.from({ length: 200 }, (_, i) => route(i + 1, { 'im-2': ['u'] }))));
    await sender.until(() => answered(sender) >= 200, 3_000, '200 answers');
    const got = answers(sender);
    expect(got.every(([kind]) => kind === 'ack')).toBe(true);
    let next = 1;
    for (const [, first, count] of got) {
      expect(first).toBe(next);
      next += count as number;
    }
    expect(next).toBe(201);
    expect(got.length).toBeLessThan(200);
    await receiver.until(() => receiver.received.filter((f) => f[0] === FrameType.DELIVER).length === 200);
  });

  it('failures, and sends without reports, keep the answers in send order around the runs', async () => {
    const { sender } = await nodes();
    sender.write(
      Buffer.concat([
        route(1, { 'im-2': ['a'] }),
        route(2, { 'im-2': ['b'] }),
        route(3, { 'im-2': ['c'], 'im-9': ['gone'] }),
        route(4, { 'im-2': ['d'] }),
        route(5, { 'im-2': ['e'] }),
        route(6, { 'im-2': ['f'] }, false),
        route(7, { 'im-2': ['g'] }),
        route(8, { 'im-8': ['h'] }, false),
        route(9, { 'im-2': ['i'] }),
      ]),
    );
    await sender.until(() => answers(sender).some(([kind, seq]) => kind === 'ack' && seq === 9), 3_000, 'the last answer');
    expect(answers(sender)).toEqual([
      ['ack', 1, 2],
      ['report', 3, ['im-9']],
      ['ack', 4, 2],
      ['ack', 7, 1],
      ['report', 8, ['im-8']],
      ['ack', 9, 1],
    ]);
  });

  it('when the relay closes a node for a bad frame, the sends routed before it are acknowledged before the ERROR', async () => {
    const { sender } = await nodes();
    sender.write(Buffer.concat([...Array.from({ length: 5 }, (_, i) => route(i + 1, { 'im-2': ['u'] })), encodeFrame(Buffer.of(0xbf))]));
    await sender.waitClosed();
    const kinds = sender.received.map((f) => f[0]).filter((t) => t === FrameType.ACK || t === FrameType.ERROR);
    expect(kinds).toEqual([FrameType.ACK, FrameType.ERROR]);
    expect(answers(sender)).toEqual([['ack', 1, 5]]);
  });

  it('a node that does not announce ACKs gets one full REPORT per send, as before', async () => {
    const { port } = await startServer();
    const receiver = await RawPeer.connect(port);
    await receiver.handshake('im-2');
    const sender = await RawPeer.connect(port);
    await sender.handshake('im-1');
    sender.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => route(i + 1, { 'im-2': ['u'] }))));
    await sender.until(() => answered(sender) >= 20);
    expect(answers(sender)).toEqual(Array.from({ length: 20 }, (_, i) => ['report', i + 1, []]));
  });

  it('RelayClient resolves acknowledged sends with the hosts it named that had users', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'im-1');
    // A host is delivered once its application took the message: both loops run.
    collect(await connectClient(url, 'im-2'));
    collect(await connectClient(url, 'im-3'));
    const reports = await Promise.all(
      Array.from({ length: 300 }, (_, i) => sender.send(i % 2 ? { 'im-2': ['u'], 'im-3': ['v'], 'im-4': [] } : { 'im-3': ['w'] }, i)),
    );
    reports.forEach((report, i) => expect(report).toEqual({ delivered: i % 2 ? ['im-2', 'im-3'] : ['im-3'], offline: {} }));
  });

  it('a hostile ACK count settles the sends in flight it names, in order, then cuts the link with ERR_PROTOCOL; so does an ACK for a send not in flight', async () => {
    const fake = await startFakeRelay((peer) => {
      // A connection torn down before its hello is no failure here.
      peer.nextFrame().then(
        () => peer.write(welcomeFrame(60_000)),
        () => {},
      );
    });
    const client = await connectClient(fake.url, 'n', { reportTimeoutMs: 300 });
    const peer = await fake.connection(1);
    const first = [client.send({ a: ['u'] }, 1), client.send({ b: ['v'] }, 2)];
    await peer.until(() => peer.received.filter((f) => f[0] === FrameType.ROUTE).length === 2);
    const seqs = peer.received.filter((f) => f[0] === FrameType.ROUTE).map((f) => decodeRoute(f).seq);
    let cut = new Promise<unknown>((resolve) => client.once('disconnect', resolve));
    peer.write(encodeFrame(encodeAck(seqs[0]!, 0xffff_ffff)));
    expect(await Promise.all(first)).toEqual([
      { delivered: ['a'], offline: {} },
      { delivered: ['b'], offline: {} },
    ]);
    expect(await cut).toMatchObject({ code: 'ERR_PROTOCOL' });

    const second = await fake.connection(2);
    const later = settle(client.send({ c: ['w'] }, 3));
    await second.until(() => second.received.filter((f) => f[0] === FrameType.ROUTE).length === 1);
    const seq = decodeRoute(second.received.filter((f) => f[0] === FrameType.ROUTE)[0]!).seq;
    cut = new Promise<unknown>((resolve) => client.once('disconnect', resolve));
    second.write(encodeFrame(encodeAck((seq + 1) >>> 0, 5)));
    expect(await cut).toMatchObject({ code: 'ERR_PROTOCOL' });
    // Without effectively-once delivery, whether it arrived is unknown.
    const outcome = await later;
    expect(outcome.status).toBe('rejected');
    expect((outcome as { reason: unknown }).reason).toMatchObject({ code: 'ERR_CONNECTION_LOST' });
  });

  it('a malformed ACK closes the connection with ERR_PROTOCOL; the client reconnects', async () => {
    const fake = await startFakeRelay((peer) => {
      // A connection torn down before its hello is no failure here.
      peer.nextFrame().then(
        () => peer.write(welcomeFrame(60_000)),
        () => {},
      );
    });
    const client = await connectClient(fake.url, 'n');
    const peer = await fake.connection(1);
    const disconnected = new Promise<unknown>((resolve) => client.once('disconnect', resolve));
    peer.write(encodeFrame(Buffer.from([FrameType.ACK, 1, 0, 0, 0])));
    expect(await disconnected).toMatchObject({ code: 'ERR_PROTOCOL' });
    await fake.connection(2);
  });
});
