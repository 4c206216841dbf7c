/**
 * Sends survive the relay: a relay process killed with SIGKILL several times
 * while two senders pipeline sends to three live receivers, restarted 300 ms
 * later each time. Every send settles exactly once with the true report:
 * none rejected, none reported offline, each message taken by each receiver's
 * application exactly once and in send order.
 */
import { describe, expect, it } from 'vitest';
import { RelayClient, type SendReport } from '../../src/index.js';
import { spawnRelay, type ChildRelay } from '../helpers/child-relay.js';
import { collect, type DeliveryCollector } from '../helpers/collector.js';
import { settle, withTimeout, type Settled } from '../helpers/events.js';
import { track, urlFor, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

const RECEIVERS = ['r1', 'r2', 'r3'];
const SENDERS = ['s1', 's2'];
const PER_SENDER = 3_000;
const KILLS = 3;

function node(url: string, nodeId: string): RelayClient<string> {
  const client = new RelayClient<string>({
    url,
    nodeId,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0.2 },
    writeRetry: { attempts: 100, intervalMs: 100 },
    reportTimeoutMs: 15_000,
    closeTimeoutMs: 500,
  });
  client.on('error', () => {});
  track(`RelayClient(${nodeId})`, () => client.close());
  return client;
}

/** Pipelines `count` sends from `sender` to every receiver, a batch per turn, while `running()`. */
async function pipeline(sender: RelayClient<string>, count: number): Promise<Array<Settled<SendReport>>> {
  const table = Object.fromEntries(RECEIVERS.map((r) => [r, [`u-${r}`]]));
  const sends: Array<Promise<Settled<SendReport>>> = [];
  for (let i = 0; i < count; i++) {
    sends.push(settle(sender.send(table, `${sender.nodeId}:${i}`)));
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  return withTimeout(Promise.all(sends), 60_000, `every send of ${sender.nodeId}`);
}

describe('a relay killed mid-stream (SIGKILL), restarted 300 ms later', () => {
  it(`${KILLS} kills under pipelined load: every send delivered exactly once, in order, none rejected, none offline`, async () => {
    let relay: ChildRelay = await spawnRelay();
    const port = relay.port;
    track('relay process', () => relay.kill());
    const url = urlFor(port);

    const receivers = RECEIVERS.map((id) => node(url, id));
    const senders = SENDERS.map((id) => node(url, id));
    await Promise.all([...receivers, ...senders].map((c) => c.connect()));
    const inboxes: Record<string, DeliveryCollector<string>> = {};
    receivers.forEach((r, i) => (inboxes[RECEIVERS[i]!] = collect(r)));

    const streams = senders.map((s) => pipeline(s, PER_SENDER));
    for (let k = 0; k < KILLS; k++) {
      // Let some traffic through first, so that each kill cuts a stream mid-flight.
      const before = Object.values(inboxes).reduce((n, inbox) => n + inbox.count, 0);
      await withTimeout(
        (async () => {
          while (Object.values(inboxes).reduce((n, inbox) => n + inbox.count, 0) < before + 500) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        })(),
        20_000,
        `traffic before kill ${k + 1}`,
      );
      await relay.kill();
      await new Promise((resolve) => setTimeout(resolve, 300));
      relay = await spawnRelay(port);
    }

    const outcomes = (await Promise.all(streams)).flat();
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.map((o) => String((o as { reason: unknown }).reason)).slice(0, 3)).toEqual([]);
    for (const o of outcomes) {
      expect((o as { value: SendReport }).value.offline).toEqual({});
      expect([...(o as { value: SendReport }).value.delivered].sort()).toEqual(RECEIVERS);
    }

    for (const id of RECEIVERS) {
      const inbox = inboxes[id]!;
      await inbox.until(() => inbox.count >= SENDERS.length * PER_SENDER, 10_000, `${id}: every message`);
      const got = inbox.messages;
      expect(got.length, `${id}: exactly once`).toBe(SENDERS.length * PER_SENDER);
      for (const sender of SENDERS) {
        const mine = got.filter((m) => m.startsWith(`${sender}:`)).map((m) => Number(m.slice(sender.length + 1)));
        expect(mine, `${id} from ${sender}: in order, each once`).toEqual(Array.from({ length: PER_SENDER }, (_, i) => i));
      }
    }
  }, 120_000);
});
