import { describe, expect, it } from 'vitest';
import type { RelayClient } from '../../src/index.js';
import { barrier, collect, type DeliveryCollector } from '../helpers/collector.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

interface Cluster {
  sender: RelayClient;
  receivers: Record<string, DeliveryCollector>;
}

/** A relay, one sender and three receiving nodes, each receiver consumed in the background. */
async function cluster(): Promise<Cluster> {
  const { url } = await startServer();
  const sender = await connectClient(url, 'im-1');
  const receivers: Record<string, DeliveryCollector> = {};
  for (const id of ['im-2', 'im-3', 'im-4']) receivers[id] = collect(await connectClient(url, id));
  return { sender, receivers };
}

const USERS: Record<string, string[]> = {
  'im-2': ['c', 'd'],
  'im-3': ['e', 'f', '18446744073709551615'],
  'im-4': ['g'],
};

describe('group fan-out', () => {
  const payloads: Array<[string, unknown, (got: unknown) => void]> = [
    ['a JSON object', { text: 'hi', n: 1, nested: { list: [1, 'two', null] } }, (got) => expect(got).toEqual({ text: 'hi', n: 1, nested: { list: [1, 'two', null] } })],
    ['a string', 'héllo wörld ✓', (got) => expect(got).toBe('héllo wörld ✓')],
    ['a Buffer', Buffer.from([0, 1, 2, 0xff, 0x85]), (got) => expect(Buffer.from([0, 1, 2, 0xff, 0x85]).equals(got as Buffer)).toBe(true)],
    ['an empty string', '', (got) => expect(got).toBe('')],
  ];

  for (const [name, message, check] of payloads) {
    it(`one send of ${name} reaches each of three nodes exactly once, with exactly its users`, async () => {
      const { sender, receivers } = await cluster();
      const report = await sender.send(USERS, message);
      expect(report.delivered.sort()).toEqual(['im-2', 'im-3', 'im-4']);
      expect(report.offline).toEqual({});
      expect(report.reasons).toBeUndefined();

      await barrier(sender, receivers);
      for (const [host, collector] of Object.entries(receivers)) {
        expect(collector.count, host).toBe(1);
        const d = collector.items[0]!;
        expect(d.from).toBe('im-1');
        expect(d.users).toEqual(USERS[host]);
        check(d.message);
      }
    });
  }

  it('a 64 KiB Buffer (shared by reference on the relay) arrives intact at every node', async () => {
    const { sender, receivers } = await cluster();
    const big = Buffer.alloc(64 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
    const report = await sender.send(USERS, big);
    expect(report.delivered.sort()).toEqual(['im-2', 'im-3', 'im-4']);
    await barrier(sender, receivers);
    for (const [host, collector] of Object.entries(receivers)) {
      expect(collector.count, host).toBe(1);
      const got = collector.items[0]!.message as Buffer;
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got.length).toBe(big.length);
      expect(got.equals(big)).toBe(true);
      expect(collector.items[0]!.users).toEqual(USERS[host]);
    }
  });

  it('a large string (sent by reference) arrives intact', async () => {
    const { sender, receivers } = await cluster();
    const text = 'ü€𝄞'.repeat(10_000);
    await sender.send(USERS, text);
    await barrier(sender, receivers);
    for (const collector of Object.values(receivers)) {
      expect(collector.messages).toEqual([text]);
    }
  });

  it('a Uint8Array payload arrives as a Buffer with the same bytes', async () => {
    const { sender, receivers } = await cluster();
    const bytes = Uint8Array.from([9, 8, 7, 6]);
    await sender.send({ 'im-2': ['c'] }, bytes);
    await barrier(sender, { 'im-2': receivers['im-2']! });
    expect(receivers['im-2']!.count).toBe(1);
    expect(Buffer.from(bytes).equals(receivers['im-2']!.items[0]!.message as Buffer)).toBe(true);
  });

  it('hosts with no users are left out and an all-empty send resolves with an empty report', async () => {
    const { sender, receivers } = await cluster();
    expect(await sender.send({ 'im-2': [], 'im-3': [] }, 'nothing')).toEqual({ delivered: [], offline: {} });
    const report = await sender.send({ 'im-2': [], 'im-3': ['e'] }, 'only im-3');
    expect(report).toEqual({ delivered: ['im-3'], offline: {} });
    await barrier(sender, receivers);
    expect(receivers['im-2']!.count).toBe(0);
    expect(receivers['im-3']!.messages).toEqual(['only im-3']);
    expect(receivers['im-4']!.count).toBe(0);
  });

  it('2,000 pipelined sends: every node receives exactly its count, in order, with no duplicates', async () => {
    const { sender, receivers } = await cluster();
    const n = 2_000;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) {
      // Each node gets a different subset, so the counts differ per node.
      const table: Record<string, string[]> = { 'im-2': ['c'] };
      if (i % 2 === 0) table['im-3'] = ['e', 'f'];
      if (i % 5 === 0) table['im-4'] = ['g'];
      sends.push(sender.send(table, { i }));
    }
    const reports = (await Promise.all(sends)) as Array<{ delivered: string[]; offline: object }>;
    for (const r of reports) expect(r.offline).toEqual({});
    expect(reports.map((r) => r.delivered.length)).toEqual(
      Array.from({ length: n }, (_, i) => 1 + (i % 2 === 0 ? 1 : 0) + (i % 5 === 0 ? 1 : 0)),
    );

    await barrier(sender, receivers, 10_000);
    const expected = {
      'im-2': Array.from({ length: n }, (_, i) => i),
      'im-3': Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 0),
      'im-4': Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 0),
    };
    for (const [host, collector] of Object.entries(receivers)) {
      const got = collector.messages.map((m) => (m as { i: number }).i);
      expect(got.length, host).toBe(expected[host as keyof typeof expected].length);
      expect(got, host).toEqual(expected[host as keyof typeof expected]);
    }
  });

  it('2,000 pipelined { report: false } sends arrive exactly once each', async () => {
    const { sender, receivers } = await cluster();
    const n = 2_000;
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) sends.push(sender.send({ 'im-2': ['c'], 'im-3': ['e'], 'im-4': ['g'] }, i, { report: false }));
    expect(await Promise.all(sends)).toEqual(Array.from({ length: n }, () => undefined));
    await barrier(sender, receivers, 10_000);
    for (const collector of Object.values(receivers)) {
      expect(collector.messages).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  it('two senders to one node: each sender\'s messages arrive in order, all exactly once', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    const target = collect(await connectClient(url, 't'));
    const n = 500;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) {
      sends.push(a.send({ t: ['u'] }, `a${i}`));
      sends.push(b.send({ t: ['u'] }, `b${i}`));
    }
    await Promise.all(sends);
    await barrier(a, { t: target });
    await barrier(b, { t: target });
    const fromA = target.items.filter((d) => d.from === 'a').map((d) => d.message);
    const fromB = target.items.filter((d) => d.from === 'b').map((d) => d.message);
    expect(target.count).toBe(2 * n);
    expect(fromA).toEqual(Array.from({ length: n }, (_, i) => `a${i}`));
    expect(fromB).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
  });

  it('a node may send to itself through the relay', async () => {
    const { url } = await startServer();
    const self = await connectClient(url, 'self');
    const inbox = collect(self);
    expect(await self.send({ self: ['me'] }, 'echo')).toEqual({ delivered: ['self'], offline: {} });
    await barrier(self, { self: inbox });
    expect(inbox.items).toEqual([{ from: 'self', users: ['me'], message: 'echo' }]);
  });
});
