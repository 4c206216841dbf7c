/**
 * Batching over Redis: what a node sends to one target within one flush
 * travels as one channel message (one PUBLISH, one SPUBLISH on a cluster),
 * and every send in it gets a truthful answer from that one reply: runs of
 * fully delivered sends as one ACK frame, a REPORT for the others, in send
 * order. Per sender and receiver the order of messages holds.
 */
import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../../src/codec/frame-writer.js';
import type { RelayClient, SendReport } from '../../src/index.js';
import { FrameType, RouteFlags, decodeAck, decodeReport, writeRoute, type RouteTable } from '../../src/protocol/index.js';
import type { RedisLink } from '../../src/transport/redis/redis-link.js';
import { barrier, collect } from '../helpers/collector.js';
import { REDIS_TRANSPORTS, useTransportHarness } from '../helpers/transports.js';
import { openBareLink } from './bare-link.js';

useTransportHarness();

const QUIET = { secret: 'batch secret', redisOptions: { probeIntervalMs: 600_000 } };

function linkOf(client: RelayClient): RedisLink {
  return (client as unknown as { supervisor: { link: RedisLink } }).supervisor.link;
}

describe.each(REDIS_TRANSPORTS)('$name', (transport) => {
  it('a flush of many sends is one channel message per target; each send gets its own truthful report; order holds', async () => {
    const t = await transport.start();
    const a = await t.connect('a', QUIET);
    const b = await t.connect('b', QUIET);
    const c = await t.connect('c', QUIET);
    const inboxB = collect(b);
    const inboxC = collect(c);
    const sentBefore = linkOf(a).stats.batchesSent;
    const receivedBefore = { b: linkOf(b).stats.batchesReceived, c: linkOf(c).stats.batchesReceived };

    // 300 sends in one turn of the event loop: one flush.
    const tables: RouteTable[] = [{ b: ['bob'] }, { c: ['carol'] }, { b: ['bob', 'ben'], c: ['carol'], gone: ['gary'] }];
    const sends: Array<Promise<SendReport>> = [];
    for (let i = 0; i < 300; i++) sends.push(a.send(tables[i % 3]!, i));
    const reports = await Promise.all(sends);

    reports.forEach((report, i) => {
      if (i % 3 === 0) expect(report, `send ${i}`).toEqual({ delivered: ['b'], offline: {} });
      else if (i % 3 === 1) expect(report, `send ${i}`).toEqual({ delivered: ['c'], offline: {} });
      else expect(report, `send ${i}`).toEqual({ delivered: ['b', 'c'], offline: { gone: ['gary'] }, reasons: { gone: 'offline' } });
    });
    // One channel message to each of b, c and gone.
    expect(linkOf(a).stats.batchesSent - sentBefore).toBe(3);
    await Promise.all([inboxB.waitFor(200), inboxC.waitFor(200)]);
    expect(linkOf(b).stats.batchesReceived - receivedBefore.b).toBe(1);
    expect(linkOf(c).stats.batchesReceived - receivedBefore.c).toBe(1);
    const range = (keep: (i: number) => boolean): number[] => Array.from({ length: 300 }, (_, i) => i).filter(keep);
    expect(inboxB.messages).toEqual(range((i) => i % 3 !== 1));
    expect(inboxC.messages).toEqual(range((i) => i % 3 !== 0));
    expect(inboxB.items.map((d) => d.users)).toEqual(range((i) => i % 3 !== 1).map((i) => (i % 3 === 0 ? ['bob'] : ['bob', 'ben'])));
    expect(inboxB.items.every((d) => d.from === 'a')).toBe(true);
  });

  it('a flush larger than one batch holds is split into several channel messages, in order', async () => {
    const t = await transport.start();
    const a = await t.connect('a', QUIET);
    const b = await t.connect('b', QUIET);
    const inbox = collect(b);
    const before = linkOf(a).stats.batchesSent;
    const big = 'x'.repeat(10 * 1024);
    const reports = await Promise.all(Array.from({ length: 40 }, (_, i) => a.send({ b: ['bob'] }, { i, big })));
    expect(reports.every((r) => r.delivered[0] === 'b')).toBe(true);
    // 40 DELIVERs of about 10 KiB: past 256 KiB the batch is sealed and another begins.
    expect(linkOf(a).stats.batchesSent - before).toBe(2);
    await inbox.waitFor(40);
    expect(inbox.messages.map((m) => (m as { i: number }).i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('sends across many flushes and hosts keep their order per receiver, and their reports come back in send order', async () => {
    const t = await transport.start();
    const a = await t.connect('a', QUIET);
    const receivers = await Promise.all(['r0', 'r1', 'r2', 'r3', 'r4'].map((id) => t.connect(id, QUIET)));
    const inboxes = Object.fromEntries(receivers.map((r, k) => [`r${k}`, collect(r)]));
    const settledOrder: number[] = [];
    const sends: Array<Promise<unknown>> = [];
    for (let flush = 0; flush < 20; flush++) {
      for (let j = 0; j < 25; j++) {
        const n = flush * 25 + j;
        const hosts = Object.fromEntries([0, 1, 2, 3, 4].filter((k) => (n + k) % 2 === 0).map((k) => [`r${k}`, [`u${k}`]]));
        sends.push(a.send(hosts, n).then(() => settledOrder.push(n)));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(sends);
    expect(settledOrder).toEqual(Array.from({ length: 500 }, (_, n) => n));
    await barrier(a, inboxes);
    for (let k = 0; k < 5; k++) {
      expect(inboxes[`r${k}`]!.messages).toEqual(Array.from({ length: 500 }, (_, n) => n).filter((n) => (n + k) % 2 === 0));
    }
  });
});

describe('answers on a single server', () => {
  it('a run of fully delivered sends is one ACK frame; a send that failed somewhere gets a REPORT, in send order', async () => {
    const t = await REDIS_TRANSPORTS[0]!.start();
    const b = await t.connect('b', QUIET);
    const inbox = collect(b);
    const redisUrl = `redis://127.0.0.1:${t.redisPorts![0]}`;
    const bare = openBareLink({
      target: redisUrl,
      nodeId: 'a',
      secret: QUIET.secret,
      redisOptions: { prefix: t.prefix, probeIntervalMs: 600_000 },
    });
    const terms = await bare.ready;
    expect(terms.features & 0x04).toBe(0x04);

    const writer = new FrameWriter();
    for (let seq = 1; seq <= 60; seq++) {
      const table: RouteTable = seq === 51 ? { b: ['bob'], gone: ['gary'] } : { b: ['bob'] };
      writeRoute(writer, RouteFlags.REPORT, seq, table, JSON.stringify(seq), 1 << 20);
    }
    bare.writeEncoded(writer.take());
    await bare.waitFrames(3);
    await inbox.waitFor(60);
    expect(bare.frames.map((f) => f[0])).toEqual([FrameType.ACK, FrameType.REPORT, FrameType.ACK]);
    expect(decodeAck(bare.frames[0]!)).toEqual({ first: 1, count: 50 });
    expect(decodeReport(bare.frames[1]!)).toEqual({
      seq: 51,
      full: true,
      delivered: ['b'],
      failed: [{ host: 'gone', reason: 1, users: ['gary'] }],
    });
    expect(decodeAck(bare.frames[2]!)).toEqual({ first: 52, count: 9 });
    expect(bare.link.stats.batchesSent).toBe(2);
    expect(inbox.messages).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
});
