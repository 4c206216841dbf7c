/**
 * Group fan-out and ordering, the same cases over every transport: each
 * target node gets exactly one delivery per send, with exactly its users and
 * the payload intact; pipelined sends arrive exactly once and in order.
 */
import { describe, expect, it } from 'vitest';
import type { RelayClient, SendReport } from '../../src/index.js';
import { barrier, collect, type DeliveryCollector } from '../helpers/collector.js';
import { TRANSPORTS, useTransportHarness, type TransportInstance } from '../helpers/transports.js';

useTransportHarness();

const USERS: Record<string, string[]> = {
  'im-2': ['c', 'd'],
  'im-3': ['e', 'f', '18446744073709551615'],
  'im-4': ['g'],
};
const TARGETS = Object.keys(USERS);

interface Nodes {
  sender: RelayClient;
  receivers: Record<string, DeliveryCollector>;
}

/** One sender and three receivers, each receiver consumed in the background. */
async function nodes(t: TransportInstance): Promise<Nodes> {
  const sender = await t.connect('im-1');
  const receivers: Record<string, DeliveryCollector> = {};
  for (const id of TARGETS) receivers[id] = collect(await t.connect(id));
  return { sender, receivers };
}

/** 64 KiB of varied bytes. */
function bigBuffer(): Buffer {
  const big = Buffer.alloc(64 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
  return big;
}

const PAYLOADS: Array<{ name: string; message: () => unknown; check: (got: unknown) => void }> = [
  {
    name: 'a JSON object',
    message: () => ({ text: 'hi', n: 1, nested: { list: [1, 'two', null] } }),
    check: (got) => expect(got).toEqual({ text: 'hi', n: 1, nested: { list: [1, 'two', null] } }),
  },
  { name: 'a string', message: () => 'héllo wörld ✓ 𝄞', check: (got) => expect(got).toBe('héllo wörld ✓ 𝄞') },
  {
    name: 'a Buffer',
    message: () => Buffer.from([0, 1, 2, 0xff, 0x85]),
    check: (got) => {
      expect(Buffer.isBuffer(got)).toBe(true);
      expect((got as Buffer).equals(Buffer.from([0, 1, 2, 0xff, 0x85]))).toBe(true);
    },
  },
  {
    name: 'a 64 KiB Buffer',
    message: bigBuffer,
    check: (got) => {
      expect(Buffer.isBuffer(got)).toBe(true);
      expect((got as Buffer).length).toBe(64 * 1024);
      expect((got as Buffer).equals(bigBuffer())).toBe(true);
    },
  },
];

describe.each(TRANSPORTS)('fan-out over $name', (transport) => {
  it('each payload kind reaches each of three nodes exactly once, with exactly its users, intact', async () => {
    const t = await transport.start();
    const { sender, receivers } = await nodes(t);
    for (const [i, payload] of PAYLOADS.entries()) {
      const report = await sender.send(USERS, payload.message());
      expect([...report.delivered].sort(), payload.name).toEqual(TARGETS);
      expect(report.offline, payload.name).toEqual({});
      expect(report.reasons, payload.name).toBeUndefined();

      // The barrier follows the send on every target: after it, a duplicate would show.
      await barrier(sender, receivers);
      for (const [host, collector] of Object.entries(receivers)) {
        expect(collector.count, `${payload.name} at ${host}`).toBe(i + 1);
        const d = collector.items[i]!;
        expect(d.from).toBe('im-1');
        expect(d.users, `${payload.name} at ${host}`).toEqual(USERS[host]);
        payload.check(d.message);
      }
    }
  });

  it('hosts with no users are left out; an all-empty send resolves with an empty report', async () => {
    const t = await transport.start();
    const { sender, receivers } = await nodes(t);
    expect(await sender.send({ 'im-2': [], 'im-3': [] }, 'nothing')).toEqual({ delivered: [], offline: {} });
    expect(await sender.send({ 'im-2': [], 'im-3': ['e'] }, 'only im-3')).toEqual({ delivered: ['im-3'], offline: {} });
    await barrier(sender, receivers);
    expect(receivers['im-2']!.count).toBe(0);
    expect(receivers['im-3']!.messages).toEqual(['only im-3']);
    expect(receivers['im-4']!.count).toBe(0);
  });

  it('2,000 pipelined sends: every node receives exactly its count, in order, with no duplicates', async () => {
    const t = await transport.start();
    const { sender, receivers } = await nodes(t);
    const n = 2_000;
    const sends: Array<Promise<SendReport>> = [];
    for (let i = 0; i < n; i++) {
      // Each node gets a different subset, so the counts differ per node.
      const table: Record<string, string[]> = { 'im-2': ['c'] };
      if (i % 2 === 0) table['im-3'] = ['e', 'f'];
      if (i % 5 === 0) table['im-4'] = ['g'];
      sends.push(sender.send(table, { i }));
    }
    const reports = await Promise.all(sends);
    for (const r of reports) expect(r.offline).toEqual({});
    expect(reports.map((r) => r.delivered.length)).toEqual(
      Array.from({ length: n }, (_, i) => 1 + (i % 2 === 0 ? 1 : 0) + (i % 5 === 0 ? 1 : 0)),
    );

    await barrier(sender, receivers, 10_000);
    const all = Array.from({ length: n }, (_, i) => i);
    const expected: Record<string, number[]> = {
      'im-2': all,
      'im-3': all.filter((i) => i % 2 === 0),
      'im-4': all.filter((i) => i % 5 === 0),
    };
    for (const [host, collector] of Object.entries(receivers)) {
      const got = collector.messages.map((m) => (m as { i: number }).i);
      expect(got.length, host).toBe(expected[host]!.length);
      expect(got, host).toEqual(expected[host]);
      expect(collector.items.every((d) => d.from === 'im-1')).toBe(true);
    }
  });

  it('2,000 pipelined { report: false } sends resolve once written and arrive exactly once each, in order', async () => {
    const t = await transport.start();
    const { sender, receivers } = await nodes(t);
    const n = 2_000;
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) sends.push(sender.send({ 'im-2': ['c'], 'im-3': ['e'], 'im-4': ['g'] }, i, { report: false }));
    expect(await Promise.all(sends)).toEqual(Array.from({ length: n }, () => undefined));
    await barrier(sender, receivers, 10_000);
    for (const collector of Object.values(receivers)) {
      expect(collector.messages).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  it("two senders to one node: each sender's messages arrive in order, all exactly once", async () => {
    const t = await transport.start();
    const a = await t.connect('a');
    const b = await t.connect('b');
    const target = collect(await t.connect('t'));
    const n = 500;
    const sends: Array<Promise<SendReport>> = [];
    for (let i = 0; i < n; i++) {
      sends.push(a.send({ t: ['u'] }, `a${i}`));
      sends.push(b.send({ t: ['u'] }, `b${i}`));
    }
    for (const report of await Promise.all(sends)) expect(report).toEqual({ delivered: ['t'], offline: {} });
    await barrier(a, { t: target });
    await barrier(b, { t: target });
    expect(target.count).toBe(2 * n);
    expect(target.items.filter((d) => d.from === 'a').map((d) => d.message)).toEqual(Array.from({ length: n }, (_, i) => `a${i}`));
    expect(target.items.filter((d) => d.from === 'b').map((d) => d.message)).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
  });

  it('a node may send to itself', async () => {
    const t = await transport.start();
    const self = await t.connect('self');
    const inbox = collect(self);
    expect(await self.send({ self: ['me'] }, 'echo')).toEqual({ delivered: ['self'], offline: {} });
    await barrier(self, { self: inbox });
    expect(inbox.items).toEqual([{ from: 'self', users: ['me'], message: 'echo' }]);
  });
});
