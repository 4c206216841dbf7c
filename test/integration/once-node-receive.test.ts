/**
 * The receiving node's side of effectively-once delivery, against a fake
 * relay that speaks it: the node numbers every DELIVER of a connection,
 * drops repeats (counted as taken in their place), acknowledges what its
 * application took with one CONSUMED per flush, drops unseen what an EXPIRE
 * gives up, and never stops reading its socket.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type Delivery, type RelayClient } from '../../src/index.js';
import { Features, FrameType, decodeRoute, type ConsumedFrame } from '../../src/protocol/index.js';
import { collect } from '../helpers/collector.js';
import { waitForEvent } from '../helpers/events.js';
import { connectClient, useRelayHarness } from '../helpers/harness.js';
import {
  ONCE_FEATURES,
  ackFrame,
  consumedFrames,
  expireFrame,
  incarnation,
  lastConsumed,
  startOnceRelay,
  stampedDeliver,
} from '../helpers/once-fake-relay.js';
import type { RawPeer } from '../helpers/raw-peer.js';

useRelayHarness();

const A = incarnation(0xa1);
const B = incarnation(0xb2);

/** Waits until the last CONSUMED the peer got is `expected`. */
async function consumedUntil(peer: RawPeer, expected: ConsumedFrame, label: string): Promise<void> {
  await peer.until(() => JSON.stringify(lastConsumed(peer)) === JSON.stringify(expected), 2_000, label);
}

/** Lets a few turns of the event loop pass (so that a flush would have happened). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function onceNode(window = 64): Promise<{ client: RelayClient<string>; peer: RawPeer }> {
  const relay = await startOnceRelay();
  const client = await connectClient<string>(relay.url, 'n', { deliveryHighWaterMark: window });
  const peer = await relay.connection(1);
  return { client, peer };
}

describe('effectively-once delivery, the node side', () => {
  it('announces ONCE with its incarnation and its window, and sends CONSUMED (0, 0, window) right after the welcome', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient(relay.url, 'n', { deliveryHighWaterMark: 37 });
    const hello = await relay.hello(1);
    expect(hello.features & Features.ONCE).toBe(Features.ONCE);
    expect(hello.once?.window).toBe(37);
    const { incarnation: mine } = (client as unknown as { supervisor: { incarnation: Buffer } }).supervisor;
    expect(hello.once?.incarnation.equals(mine)).toBe(true);
    const peer = await relay.connection(1);
    await consumedUntil(peer, { taken: 0, settled: 0, window: 37 }, 'the first CONSUMED');
    expect(consumedFrames(peer)).toHaveLength(1);
  });

  it('against a relay that does not answer with ONCE, sends no CONSUMED and queues every DELIVER as before', async () => {
    const relay = await startOnceRelay(Features.FAILURE_NOTICES | Features.ACKS);
    const client = await connectClient<string>(relay.url, 'n');
    const peer = await relay.connection(1);
    const inbox = collect(client);
    peer.write(Buffer.concat([stampedDeliver('o', A, 1, 'a'), stampedDeliver('o', A, 2, 'b')]));
    await inbox.waitFor(2);
    await turns();
    expect(peer.received.filter((f) => f[0] === FrameType.CONSUMED)).toHaveLength(0);
  });

  it('drops stamped repeats, unseen, and counts each as taken in its place: taken moves only when the loop asks for the next', async () => {
    const { client, peer } = await onceNode(16);
    await consumedUntil(peer, { taken: 0, settled: 0, window: 16 }, 'the first CONSUMED');
    // 1: A1, 2: A2, 3: A2 again, 4: A1 again, 5: B1 (a new incarnation of the same node), 6: A3.
    peer.write(
      Buffer.concat([
        stampedDeliver('o', A, 1, 'A1'),
        stampedDeliver('o', A, 2, 'A2'),
        stampedDeliver('o', A, 2, 'A2 again'),
        stampedDeliver('o', A, 1, 'A1 again'),
        stampedDeliver('o', B, 1, 'B1'),
        stampedDeliver('o', A, 3, 'A3'),
      ]),
    );
    const it = client.deliveries();
    const next = async (): Promise<string> => ((await it.next()).value as Delivery<string>).message;

    expect(await next()).toBe('A1');
    await turns();
    // Held, not taken: the application is still handling it.
    expect(lastConsumed(peer)).toEqual({ taken: 0, settled: 0, window: 16 });

    expect(await next()).toBe('A2');
    await consumedUntil(peer, { taken: 1, settled: 1, window: 16 }, 'A1 taken');

    // Asking again takes A2, and with it the two repeats after it.
    expect(await next()).toBe('B1');
    await consumedUntil(peer, { taken: 4, settled: 4, window: 16 }, 'A2 and the repeats taken');

    expect(await next()).toBe('A3');
    await consumedUntil(peer, { taken: 5, settled: 5, window: 16 }, 'B1 taken');

    // Returning takes the one held.
    await it.return!();
    await consumedUntil(peer, { taken: 6, settled: 6, window: 16 }, 'A3 taken on return');

    // A repeat with nothing pending is taken at once.
    peer.write(stampedDeliver('o', B, 1, 'B1 again'));
    await consumedUntil(peer, { taken: 7, settled: 7, window: 16 }, 'a repeat taken at once');
    const rest = collect(client);
    peer.write(stampedDeliver('o', B, 2, 'B2'));
    await rest.waitFor(1);
    expect(rest.messages).toEqual(['B2']);
  });

  it('one CONSUMED per flush, however many deliveries the loop took; never one per message', async () => {
    const { client, peer } = await onceNode(1000);
    const inbox = collect(client);
    const total = 1000;
    peer.write(Buffer.concat(Array.from({ length: total }, (_, i) => stampedDeliver('o', A, i + 1, `m${i}`))));
    await inbox.waitFor(total);
    await inbox.stop();
    await consumedUntil(peer, { taken: total, settled: total, window: 1000 }, 'all taken');
    const frames = consumedFrames(peer);
    // One for the welcome, then a few: the deliveries arrive in a few reads, and the loop takes each read's in one turn.
    expect(frames.length).toBeLessThan(30);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.taken).toBeGreaterThan(frames[i - 1]!.taken);
    expect(inbox.messages).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
  });

  it('EXPIRE drops the queued deliveries it covers, unseen; the one the loop holds counts as taken; the answer comes at once', async () => {
    const { client, peer } = await onceNode(16);
    peer.write(Buffer.concat([1, 2, 3, 4, 5].map((n) => stampedDeliver('o', A, n, `m${n}`))));
    const it = client.deliveries();
    const next = async (): Promise<string> => ((await it.next()).value as Delivery<string>).message;
    expect(await next()).toBe('m1');
    await turns();
    expect(lastConsumed(peer)).toEqual({ taken: 0, settled: 0, window: 16 });

    peer.write(expireFrame(3));
    // m1 is the application's (taken); m2 and m3 are dropped, settled but not taken.
    await consumedUntil(peer, { taken: 1, settled: 3, window: 16 }, 'the answer to EXPIRE');

    expect(await next()).toBe('m4');
    await turns();
    // m4 held: nothing past the dropped ones is taken yet.
    expect(lastConsumed(peer)).toEqual({ taken: 1, settled: 3, window: 16 });
    expect(await next()).toBe('m5');
    await consumedUntil(peer, { taken: 4, settled: 4, window: 16 }, 'm4 taken');

    // An EXPIRE that covers nothing still gets its answer.
    const before = consumedFrames(peer).length;
    peer.write(expireFrame(2));
    await peer.until(() => consumedFrames(peer).length === before + 1, 2_000, 'the answer to a late EXPIRE');
    expect(lastConsumed(peer)).toEqual({ taken: 4, settled: 4, window: 16 });

    // Dropped deliveries never reach the application afterwards.
    await it.return!();
    const rest = collect(client);
    peer.write(stampedDeliver('o', A, 6, 'm6'));
    await rest.waitFor(1);
    expect(rest.messages).toEqual(['m6']);
  });

  it('an EXPIRE for a delivery that never arrived, or a DELIVER past the window, cuts the link with ERR_PROTOCOL', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient<string>(relay.url, 'n', { deliveryHighWaterMark: 2 });
    const first = await relay.connection(1);
    let cut = waitForEvent<[{ code: string }]>(client, 'disconnect');
    first.write(Buffer.concat([stampedDeliver('o', A, 1, 'a'), expireFrame(5)]));
    expect((await cut)[0].code).toBe(ErrorCodes.PROTOCOL);

    const second = await relay.connection(2);
    await consumedUntil(second, { taken: 0, settled: 0, window: 2 }, 'the first CONSUMED again');
    cut = waitForEvent<[{ code: string }]>(client, 'disconnect');
    // Nobody takes: settled stays 0, so a third delivery is past the window of 2.
    second.write(Buffer.concat([1, 2, 3].map((n) => stampedDeliver('o', B, n, `m${n}`))));
    expect((await cut)[0].code).toBe(ErrorCodes.PROTOCOL);
  });

  it('a new connection numbers from 1 again; what was queued and not handed to the loop is dropped, and taken when it comes again', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient<string>(relay.url, 'n', { deliveryHighWaterMark: 16 });
    const first = await relay.connection(1);
    first.write(Buffer.concat([1, 2, 3].map((n) => stampedDeliver('o', A, n, `m${n}`))));
    const it = client.deliveries();
    expect(((await it.next()).value as Delivery<string>).message).toBe('m1');
    await turns();
    // m1 is held, m2 and m3 queued: the link goes before the application takes them.
    first.destroy();
    const second = await relay.connection(2);
    await consumedUntil(second, { taken: 0, settled: 0, window: 16 }, 'the first CONSUMED');
    // The relay writes again what was not acknowledged: m1 (held, so taken) is a repeat; m2 and m3 are new again.
    second.write(Buffer.concat([1, 2, 3, 4].map((n) => stampedDeliver('o', A, n, `m${n}`))));
    await turns();
    const got: string[] = [];
    for (let k = 0; k < 3; k++) got.push(((await it.next()).value as Delivery<string>).message);
    expect(got).toEqual(['m2', 'm3', 'm4']);
    await it.return!();
    await consumedUntil(second, { taken: 4, settled: 4, window: 16 }, 'all taken');
  });

  it('never stops reading in ONCE mode: with a loop that takes nothing, pings are answered and its own sends answered within a second', async () => {
    const relay = await startOnceRelay(ONCE_FEATURES, 100);
    const client = await connectClient<string>(relay.url, 'n', { deliveryHighWaterMark: 4 });
    const peer = await relay.connection(1);
    // The window's worth, and no loop at all.
    peer.write(Buffer.concat([1, 2, 3, 4].map((n) => stampedDeliver('o', A, n, `m${n}`))));
    const socket = (client as unknown as { supervisor: { link: { socket: { isPaused(): boolean } } } }).supervisor.link.socket;
    const until = Date.now() + 1_200;
    let pings = 0;
    let n = 0;
    while (Date.now() < until) {
      peer.write(Buffer.from([1, 0, 0, 0, FrameType.PING]));
      pings++;
      const started = Date.now();
      const sent = client.send({ other: ['o'] }, `s${n++}`);
      peer.write(ackFrame(await nextRoute(peer), 1));
      expect(await sent).toEqual({ delivered: ['other'], offline: {} });
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(socket.isPaused()).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await peer.until(() => peer.received.filter((f) => f[0] === FrameType.PONG).length >= pings, 1_000, 'every ping answered');
    expect(client.connected).toBe(true);
  });
});

const routesSeen = new WeakMap<RawPeer, number>();

/** The seq of the next ROUTE the peer received (after those already taken by this helper). */
async function nextRoute(peer: RawPeer): Promise<number> {
  const seen = routesSeen.get(peer) ?? 0;
  const routesOf = (): Buffer[] => peer.received.filter((f) => f[0] === FrameType.ROUTE);
  await peer.until(() => routesOf().length > seen, 2_000, 'a ROUTE');
  routesSeen.set(peer, seen + 1);
  return decodeRoute(routesOf()[seen]!).seq;
}
