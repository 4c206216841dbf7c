/**
 * A node's channel is open to anyone who can PUBLISH on the Redis server.
 * Whatever arrives there, the node stays up, hands the application only
 * genuine messages, once, and counts what it dropped:
 *
 * - with a secret: forged, altered, replayed and misdirected channel
 *   messages are dropped (`forged`, `replayed`, `stale`), never delivered;
 * - without one: anything that is not a well-formed batch of DELIVER frames
 *   from the sender it names is dropped (`malformed`), never thrown;
 * - in both cases honest traffic goes on, each message exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ErrorCodes, type RelayClient, type RelayError } from '../../src/index.js';
import { encodeDeliver } from '../../src/protocol/index.js';
import { MAC_OFFSET, writeBatchHeader } from '../../src/transport/redis/channel-format.js';
import type { ChannelStats } from '../../src/transport/redis/channel-reader.js';
import { channelOf } from '../../src/transport/redis/options.js';
import type { RedisLink } from '../../src/transport/redis/redis-link.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, pollUntil, waitForEvent } from '../helpers/events.js';
import { createClient, track, useRelayHarness } from '../helpers/harness.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { openBareLink } from './bare-link.js';

useRelayHarness();

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

let prefixes = 0;
const newPrefix = (): string => `s${process.pid}-${++prefixes}:`;
const SECRET = 'correct horse battery staple';

function linkOf(client: RelayClient): RedisLink {
  return (client as unknown as { supervisor: { link: RedisLink } }).supervisor.link;
}

function statsOf(client: RelayClient): ChannelStats {
  return linkOf(client).stats;
}

/** Counts of dropped messages only. */
function drops(stats: ChannelStats): Pick<ChannelStats, 'malformed' | 'forged' | 'replayed' | 'stale'> {
  return { malformed: stats.malformed, forged: stats.forged, replayed: stats.replayed, stale: stats.stale };
}

/** A plain ioredis connection: publishes anything, or listens on a node's channel like an eavesdropper. */
async function rawRedis(): Promise<Redis> {
  const raw = new Redis(redis.port, '127.0.0.1');
  track('raw ioredis', () => raw.disconnect());
  await raw.ping();
  return raw;
}

/** Channel messages an eavesdropper sees on `channel`, in order. */
async function eavesdrop(channel: string): Promise<Buffer[]> {
  const raw = await rawRedis();
  const seen: Buffer[] = [];
  raw.on('messageBuffer', (_channel: Buffer, message: Buffer) => seen.push(message));
  await raw.subscribe(channel);
  return seen;
}

/** Shapes of garbage: empty, one byte, the frame-type bytes that once crashed a node, text, truncated and oversized claims. */
function garbage(): Buffer[] {
  const list: Buffer[] = [
    Buffer.alloc(0),
    Buffer.of(0x86),
    Buffer.of(0x8f),
    Buffer.of(0x87, 0, 0),
    Buffer.of(0x90, 1, 0, 0, 0, 1, 0, 0, 0),
    Buffer.from('{"type":"message","users":["x"]}'),
    Buffer.from('not a located frame'),
    // A raw DELIVER, as nodes published before batching: no batch header.
    encodeDeliver('a', ['u1'], 0, Buffer.from('"raw deliver"')),
    // A header length that claims more than the message holds.
    Buffer.of(0xff, 0xff, 0xff, 0x7f, 0xb1),
  ];
  for (let n = 1; n <= 80; n += 7) list.push(Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)));
  return list;
}

/** A batch in the current format from `from` with one DELIVER, unsigned: what a node without the secret would publish. */
function unsignedBatch(from: string, users: string[], message: string, deliverFrom = from): Buffer {
  const origin = Buffer.concat([Buffer.of(Buffer.byteLength(from)), Buffer.from(from)]);
  const header = Buffer.alloc(44 + origin.length);
  writeBatchHeader(header, 0, 0, { origin, incarnation: Buffer.alloc(8, 7), epoch: 1 }, 1, Date.now());
  const deliver = encodeDeliver(deliverFrom, users, 0, Buffer.from(JSON.stringify(message)));
  const record = (b: Buffer): Buffer => Buffer.concat([Buffer.from(Uint32Array.of(b.length).buffer), b]);
  return Buffer.concat([record(header), record(deliver)]);
}

describe('with a shared secret', () => {
  it('forged, altered, replayed and misdirected channel messages are dropped and counted; honest messages arrive exactly once', async () => {
    const prefix = newPrefix();
    const options = { secret: SECRET, redisOptions: { prefix, probeIntervalMs: 600_000 } };
    const a = createClient(redis.url, 'a', options);
    const b = createClient(redis.url, 'b', options);
    const c = createClient(redis.url, 'c', options);
    await Promise.all([a.connect(), b.connect(), c.connect()]);
    const inboxB = collect(b);
    const inboxC = collect(c);
    const disconnects = new EventLog(b, 'disconnect');
    const warnings = new EventLog<[RelayError]>(b, 'error');
    const toB = await eavesdrop(channelOf(prefix, 'b'));

    expect(await a.send({ b: ['bob'] }, 'genuine')).toEqual({ delivered: ['b'], offline: {} });
    await inboxB.waitFor(1);
    await pollUntil(() => toB.length === 1, 2_000, 'the eavesdropper saw the batch');
    const genuine = toB[0]!;
    const publisher = await rawRedis();
    const publishToB = (message: Buffer): Promise<number> => publisher.publish(channelOf(prefix, 'b'), message);

    // Garbage of every shape, and a well-formed batch without the MAC.
    const junk = [...garbage(), unsignedBatch('a', ['bob'], 'forged')];
    for (const message of junk) expect(await publishToB(message)).toBe(2);
    // Altered: one byte of the message, then one byte of the MAC.
    const altered = Buffer.from(genuine);
    altered.writeUInt8(altered.readUInt8(altered.length - 2) ^ 0x01, altered.length - 2);
    await publishToB(altered);
    const badMac = Buffer.from(genuine);
    badMac.writeUInt8(badMac.readUInt8(MAC_OFFSET) ^ 0x80, MAC_OFFSET);
    await publishToB(badMac);
    // Replayed, verbatim, twice.
    await publishToB(genuine);
    await publishToB(genuine);
    // Misdirected: b's genuine batch on c's channel (the MAC names the receiver).
    await publisher.publish(channelOf(prefix, 'c'), genuine);

    // Honest traffic after all that: delivered, once.
    expect(await a.send({ b: ['bob'], c: ['carol'] }, 'after')).toEqual({ delivered: ['b', 'c'], offline: {} });
    await barrier(a, { b: inboxB, c: inboxC });
    expect(inboxB.messages).toEqual(['genuine', 'after']);
    expect(inboxC.messages).toEqual(['after']);
    expect(drops(statsOf(b))).toEqual({ malformed: 0, forged: junk.length + 2, replayed: 2, stale: 0 });
    expect(drops(statsOf(c))).toEqual({ malformed: 0, forged: 1, replayed: 0, stale: 0 });
    expect(disconnects.count).toBe(0);
    expect(b.connected && c.connected).toBe(true);
    // The application hears of it on the client's error event, coded, rate-limited.
    expect(warnings.count).toBeGreaterThanOrEqual(1);
    for (const [w] of warnings.calls.map((c) => c.args)) expect(w.code).toBe(ErrorCodes.AUTH);
  });

  it('a genuine message replayed after the receiver reconnected, or restarted, is still dropped', async () => {
    const prefix = newPrefix();
    const options = { secret: SECRET, redisOptions: { prefix, probeIntervalMs: 600_000 } };
    const a = createClient(redis.url, 'a', options);
    const b = createClient(redis.url, 'b', options);
    await Promise.all([a.connect(), b.connect()]);
    const inbox = collect(b);
    const toB = await eavesdrop(channelOf(prefix, 'b'));
    await a.send({ b: ['bob'] }, 'once');
    await inbox.waitFor(1);
    await pollUntil(() => toB.length === 1, 2_000, 'the eavesdropper saw the batch');
    const captured = toB[0]!;

    // b's subscriber connection is cut: b makes a new link, which still knows what b took.
    const publisher = await rawRedis();
    const up = waitForEvent(b, 'connect', 5_000);
    await publisher.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes');
    await up;
    expect(await publisher.publish(channelOf(prefix, 'b'), captured)).toBe(1);
    await barrier(a, { b: inbox });
    expect(inbox.messages).toEqual(['once']);
    expect(drops(statsOf(b))).toEqual({ malformed: 0, forged: 0, replayed: 1, stale: 0 });

    // b restarts (a new client, nothing remembered): the batch predates its subscription.
    await b.close();
    const restarted = createClient(redis.url, 'b', { ...options, redisOptions: { ...options.redisOptions, maxClockSkewMs: 0 } });
    await restarted.connect();
    const after = collect(restarted);
    expect(await publisher.publish(channelOf(prefix, 'b'), captured)).toBe(1);
    await barrier(a, { b: after });
    expect(after.count).toBe(0);
    expect(drops(statsOf(restarted))).toEqual({ malformed: 0, forged: 0, replayed: 0, stale: 1 });
  });

  it('a node without the secret cannot reach nodes that have one: its messages are dropped as forged, its reports still truthful', async () => {
    const prefix = newPrefix();
    const b = createClient(redis.url, 'b', { secret: SECRET, redisOptions: { prefix, probeIntervalMs: 600_000 } });
    const stranger = createClient(redis.url, 'stranger', { redisOptions: { prefix, probeIntervalMs: 600_000 } });
    await Promise.all([b.connect(), stranger.connect()]);
    const inbox = collect(b);
    // Redis did hand it to b's subscriber: the report can only say so.
    expect(await stranger.send({ b: ['bob'] }, 'unsigned')).toEqual({ delivered: ['b'], offline: {} });
    await pollUntil(() => statsOf(b).forged === 1, 2_000, 'the unsigned batch dropped');
    expect(inbox.count).toBe(0);
  });

  it('each drop is reported as a coded warning (ERR_AUTH, ERR_PROTOCOL), at most one per reason per second', async () => {
    const prefix = newPrefix();
    const bare = openBareLink({ target: redis.url, nodeId: 'b', secret: SECRET, redisOptions: { prefix, probeIntervalMs: 600_000 } });
    await bare.ready;
    const publisher = await rawRedis();
    for (let i = 0; i < 5; i++) await publisher.publish(channelOf(prefix, 'b'), Buffer.of(0x86, i));
    await pollUntil(() => bare.link.stats.forged === 5, 2_000, 'five drops counted');
    expect(bare.warnings.map((w) => w.code)).toEqual([ErrorCodes.AUTH]);
    expect(bare.warnings[0]!.message).toMatch(/without a valid MAC .* not delivered \(1 forged so far/);
    expect(bare.frames).toEqual([]);
  });
});

describe('without a secret', () => {
  it('garbage is dropped as malformed and reported with ERR_PROTOCOL, never thrown; honest messages arrive exactly once', async () => {
    const prefix = newPrefix();
    const options = { redisOptions: { prefix, probeIntervalMs: 600_000 } };
    const a = createClient(redis.url, 'a', options);
    await a.connect();
    const bare = openBareLink({ target: redis.url, nodeId: 'b', redisOptions: options.redisOptions });
    await bare.ready;
    const publisher = await rawRedis();
    const junk = garbage();
    for (const message of junk) expect(await publisher.publish(channelOf(prefix, 'b'), message)).toBe(1);
    // Well formed, but a DELIVER claiming another sender than the batch header does.
    await publisher.publish(channelOf(prefix, 'b'), unsignedBatch('a', ['bob'], 'x', 'z'));

    expect(await a.send({ b: ['bob'] }, 'honest')).toEqual({ delivered: ['b'], offline: {} });
    await bare.waitFrames(1);
    expect(bare.link.stats.malformed).toBe(junk.length + 1);
    expect(bare.warnings.map((w) => w.code)).toEqual([ErrorCodes.PROTOCOL]);
    expect(bare.frames.map((f) => f[0])).toEqual([0x86]);
    // A batch of the current format from a node without a secret is taken by a node without one.
    await publisher.publish(channelOf(prefix, 'b'), unsignedBatch('a', ['bob'], 'by hand'));
    await bare.waitFrames(2);
    expect(bare.link.ready).toBe(true);
  });
});
