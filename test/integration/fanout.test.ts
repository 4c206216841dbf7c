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
    [
      'a JSON object',
      { text: 'hi', n: 1, nested: { list: [1, 'two', null] } },
      (got) => expect(got).toEqual({ text: 'hi', n: 1, nested: { list: [1, 'two', null] } }),
    ],
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
});
