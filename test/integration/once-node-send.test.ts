/**
 * The sending node's side of effectively-once delivery, against a fake
 * relay: sends written and unanswered survive a dropped link (written again
 * first, in order, with their seq), answers out of order are a protocol
 * error that the resend recovers from, and IMPLIED reports name the hosts
 * the send named that did not fail.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type SendReport } from '../../src/index.js';
import { FailureReason, Features, FrameType, decodeRoute, encodeReport } from '../../src/protocol/index.js';
import { encodeFrame } from '../../src/codec/index.js';
import { codeOf, settle, waitForEvent, type Settled } from '../helpers/events.js';
import { connectClient, useRelayHarness } from '../helpers/harness.js';
import { ONCE_FEATURES, ackFrame, reportFrame, startOnceRelay } from '../helpers/once-fake-relay.js';
import type { RawPeer } from '../helpers/raw-peer.js';

useRelayHarness();

/** Rides out a reconnect: retries come quickly, and writes wait long enough. */
const PATIENT = { reconnect: { initialDelayMs: 10, maxDelayMs: 20, jitter: 0 }, writeRetry: { attempts: 50, intervalMs: 100 } };

/** The ROUTE frames a peer received, whole (to compare bytes), once there are `n`. */
async function routeFrames(peer: RawPeer, n: number): Promise<Buffer[]> {
  const of = (): Buffer[] => peer.received.filter((f) => f[0] === FrameType.ROUTE);
  await peer.until(() => of().length >= n, 3_000, `${n} ROUTEs`);
  return of();
}

const seqOf = (route: Buffer): number => decodeRoute(route).seq;
const messageOf = (route: Buffer): string => decodeRoute(route).payload.toString();

describe('sends on an effectively-once link', () => {
  it('survive a dropped link: written again first after the reconnect, in order, same seq and bytes, before new ones', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient(relay.url, 'n', PATIENT);
    const first = await relay.connection(1);
    const inFlight = [0, 1, 2, 3, 4].map((i) => settle(client.send({ r: ['u'] }, `m${i}`)));
    const written = await routeFrames(first, 5);
    // The relay goes without a word: nothing was answered.
    first.destroy();
    await waitForEvent(client, 'disconnect');
    const later = [5, 6].map((i) => settle(client.send({ r: ['u'] }, `m${i}`)));

    const second = await relay.connection(2);
    const again = await routeFrames(second, 7);
    for (let i = 0; i < 5; i++) expect(again[i]!.equals(written[i]!), `send ${i}: the same bytes`).toBe(true);
    expect(again.map(messageOf)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    const seqs = again.map(seqOf);
    expect(seqs.slice(0, 5)).toEqual(written.map(seqOf));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);

    second.write(ackFrame(seqs[0]!, 7));
    for (const outcome of await Promise.all([...inFlight, ...later])) {
      expect(outcome).toEqual({ status: 'fulfilled', value: { delivered: ['r'], offline: {} } });
    }
  });

  it('written once and never answered: past the write retries after the drop, reject with ERR_CONNECTION_LOST', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient(relay.url, 'n', {
      reconnect: { initialDelayMs: 10, maxDelayMs: 20, jitter: 0 },
      writeRetry: { attempts: 3, intervalMs: 100 },
    });
    const first = await relay.connection(1);
    const sent = settle(client.send({ r: ['u'] }, 'lost?'));
    await routeFrames(first, 1);
    // The relay is gone for good: nothing listens any more.
    relay.server.close();
    const dropped = Date.now();
    first.destroy();
    const outcome = await sent;
    expect(outcome.status).toBe('rejected');
    expect(codeOf((outcome as { reason: unknown }).reason)).toBe(ErrorCodes.CONNECTION_LOST);
    // The window (2 x 100 ms) starts when the link dropped.
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(190);
  });

  it('without ONCE, a send in flight when the link drops rejects at once with ERR_CONNECTION_LOST, as before', async () => {
    const relay = await startOnceRelay(Features.FAILURE_NOTICES | Features.ACKS);
    const client = await connectClient(relay.url, 'n', PATIENT);
    const first = await relay.connection(1);
    const sent = settle(client.send({ r: ['u'] }, 'x'));
    await routeFrames(first, 1);
    first.destroy();
    const outcome = await sent;
    expect(codeOf((outcome as { reason: unknown }).reason)).toBe(ErrorCodes.CONNECTION_LOST);
    const second = await relay.connection(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(second.received.filter((f) => f[0] === FrameType.ROUTE)).toHaveLength(0);
  });

  it('a relay that answers out of order is cut with ERR_PROTOCOL; after the resend every send settles once, with the true report', async () => {
    const relay = await startOnceRelay();
    const client = await connectClient(relay.url, 'n', PATIENT);
    const first = await relay.connection(1);
    const reports: Array<Promise<Settled<SendReport>>> = [];
    for (let i = 0; i < 8; i++) reports.push(settle(client.send({ r: ['u'], s: ['v'] }, `m${i}`)));
    const seqs = (await routeFrames(first, 8)).map(seqOf);
    const cut = waitForEvent<[{ code: string }]>(client, 'disconnect');
    // Send 1 is answered, then send 3 before send 2.
    first.write(Buffer.concat([ackFrame(seqs[0]!, 1), ackFrame(seqs[2]!, 1)]));
    expect((await cut)[0].code).toBe(ErrorCodes.PROTOCOL);

    // Written again: sends 2-8, in order, and only those (send 1 was answered).
    const second = await relay.connection(2);
    const again = await routeFrames(second, 7);
    expect(again.map(seqOf)).toEqual(seqs.slice(1));
    // The true answers: s overflowed for send 2 (reported, the delivered list implied), the rest fully delivered.
    const implied = encodeReport({
      seq: seqs[1]!,
      full: true,
      delivered: [],
      implied: true,
      failed: [{ host: 's', reason: FailureReason.OVERFLOW, users: ['v'] }],
    });
    second.write(Buffer.concat([encodeFrame(implied), ackFrame(seqs[2]!, 5), reportFrame(seqs[7]!, ['r', 's'])]));
    const outcomes = await Promise.all(reports);
    expect(outcomes.map((o) => o.status)).toEqual(Array(8).fill('fulfilled'));
    const values = outcomes.map((o) => (o as { value: SendReport }).value);
    expect(values[0]).toEqual({ delivered: ['r', 's'], offline: {} });
    expect(values[1]).toEqual({ delivered: ['r'], offline: { s: ['v'] }, reasons: { s: 'overflow' } });
    for (const v of values.slice(2)) expect(v).toEqual({ delivered: ['r', 's'], offline: {} });
    expect(client.connected).toBe(true);
  });

  it('an answer for a send not in flight, or an ACK past the sends in flight, is a protocol error too', async () => {
    const relay = await startOnceRelay(ONCE_FEATURES);
    const client = await connectClient(relay.url, 'n', PATIENT);
    const first = await relay.connection(1);
    const a = settle(client.send({ r: ['u'] }, 'a'));
    const [seq] = (await routeFrames(first, 1)).map(seqOf);
    let cut = waitForEvent<[{ code: string }]>(client, 'disconnect');
    first.write(reportFrame(seq! + 100, ['r']));
    expect((await cut)[0].code).toBe(ErrorCodes.PROTOCOL);

    const second = await relay.connection(2);
    await routeFrames(second, 1);
    cut = waitForEvent<[{ code: string }]>(client, 'disconnect');
    // Answers the one send in flight, then claims 2^32 - 2 more.
    second.write(ackFrame(seq!, 0xffff_ffff));
    expect(await a).toEqual({ status: 'fulfilled', value: { delivered: ['r'], offline: {} } });
    expect((await cut)[0].code).toBe(ErrorCodes.PROTOCOL);
  });
});
