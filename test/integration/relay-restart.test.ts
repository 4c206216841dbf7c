import { describe, expect, it } from 'vitest';
import { ErrorCodes, type RelayClient, type SendReport } from '../../src/index.js';
import { spawnRelay } from '../helpers/child-relay.js';
import { barrier, collect, type DeliveryCollector } from '../helpers/collector.js';
import { codeOf, settle, waitForEvent, withTimeout, type Settled } from '../helpers/events.js';
import { connectClient, startServer, urlFor, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

/** Long enough to ride out a restart; reconnect quickly. */
const RIDE_OUT = {
  writeRetry: { attempts: 50, intervalMs: 100 },
  reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
};
/** The sender comes back a little after the receivers, so that they are there to take its backlog. */
const SENDER = { ...RIDE_OUT, reconnect: { initialDelayMs: 150, maxDelayMs: 150, jitter: 0 } };

const RECEIVERS = ['r1', 'r2', 'r3'];

interface Nodes {
  sender: RelayClient;
  receivers: RelayClient[];
  inboxes: Record<string, DeliveryCollector>;
}

async function nodes(url: string): Promise<Nodes> {
  const sender = await connectClient(url, 'sender', SENDER);
  const receivers: RelayClient[] = [];
  const inboxes: Record<string, DeliveryCollector> = {};
  for (const id of RECEIVERS) {
    const client = await connectClient(url, id, RIDE_OUT);
    receivers.push(client);
    inboxes[id] = collect(client);
  }
  return { sender, receivers, inboxes };
}

const everyone = (): Record<string, string[]> => Object.fromEntries(RECEIVERS.map((r) => [r, [`u-${r}`]]));

/**
 * Checks the outcome of every send against what each receiver got: a send
 * reported delivered to a host arrived there exactly once; a send reported
 * otherwise did not arrive; a send whose outcome is unknown (ERR_CONNECTION_LOST)
 * arrived at most once. Per receiver, the order of sending is kept.
 */
function reconcile(outcomes: Array<Settled<SendReport>>, inboxes: Record<string, DeliveryCollector>, tag: (i: number) => unknown): void {
  for (const host of RECEIVERS) {
    const got = inboxes[host]!.messages;
    const must: unknown[] = [];
    const may = new Set<unknown>();
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') {
        if (o.value.delivered.includes(host)) must.push(tag(i));
      } else {
        expect(codeOf(o.reason), `send ${i}`).toBe(ErrorCodes.CONNECTION_LOST);
        may.add(tag(i));
      }
    });
    expect(new Set(got).size, `${host}: duplicates`).toBe(got.length);
    expect(
      got.filter((m) => !may.has(m)),
      host,
    ).toEqual(must);
    const order = outcomes.map((_, i) => tag(i));
    const positions = got.map((m) => order.indexOf(m));
    expect(
      positions.every((p) => p >= 0),
      `${host}: only sent messages`,
    ).toBe(true);
    expect(positions, `${host}: order`).toEqual([...positions].sort((a, b) => a - b));
  }
}

async function allDisconnected(clients: RelayClient[]): Promise<void> {
  await Promise.all(clients.map((c) => (c.connected ? waitForEvent(c, 'disconnect', 3_000) : undefined)));
}

/**
 * A sender sending to every receiver every couple of milliseconds, each send
 * tagged `s<n>`, until stopped. Remembers, per send, whether the client was
 * connected when it was made.
 */
class Stream {
  readonly sends: Array<Promise<Settled<SendReport>>> = [];
  readonly madeWhileDown = new Set<number>();
  resolved = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly sender: RelayClient) {
    this.timer = setInterval(() => this.tick(), 2);
  }

  private tick(): void {
    const n = this.sends.length;
    if (!this.sender.connected) this.madeWhileDown.add(n);
    this.sends.push(
      settle(this.sender.send(everyone(), `s${n}`)).then((o) => {
        this.resolved++;
        this.notify();
        return o;
      }),
    );
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Waits until `predicate` holds, re-checked at every send and every outcome. */
  until(predicate: () => boolean, timeoutMs = 5_000, label = 'stream condition'): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!predicate()) return;
          this.listeners.delete(check);
          resolve();
        };
        this.listeners.add(check);
        check();
      }),
      timeoutMs,
      label,
    );
  }

  async stop(): Promise<Array<Settled<SendReport>>> {
    clearInterval(this.timer);
    return withTimeout(Promise.all(this.sends), 8_000, 'every send of the stream');
  }
}

/** Drives a stream across a relay restart done by `restart`, then checks every outcome. */
async function streamAcrossRestart(
  sender: RelayClient,
  receivers: RelayClient[],
  inboxes: Record<string, DeliveryCollector>,
  kill: () => Promise<void>,
  restart: () => Promise<void>,
): Promise<void> {
  const stream = new Stream(sender);
  await stream.until(() => stream.resolved >= 100, 5_000, '100 sends settled before the kill');
  const down = allDisconnected([sender]);
  await kill();
  await down;
  const sentAtDisconnect = stream.sends.length;
  await stream.until(() => stream.sends.length >= sentAtDisconnect + 50, 5_000, '50 sends during the outage');
  const up = waitForEvent(sender, 'connect', 8_000);
  await restart();
  await up;
  const sentAtReconnect = stream.sends.length;
  await stream.until(() => stream.sends.length >= sentAtReconnect + 100, 5_000, '100 sends after the restart');
  const outcomes = await stream.stop();

  // Sends made during the outage waited for the connection: written once, each with a report.
  expect(stream.madeWhileDown.size).toBeGreaterThanOrEqual(50);
  for (const n of stream.madeWhileDown) {
    const o = outcomes[n]!;
    expect(o.status, `s${n}, made while down`).toBe('fulfilled');
    const report = (o as { value: SendReport }).value;
    expect([...report.delivered, ...Object.keys(report.offline)].sort()).toEqual(RECEIVERS);
  }
  // Sends in flight at the kill: a report, or ERR_CONNECTION_LOST; never anything else, never pending.
  for (const o of outcomes) {
    if (o.status === 'rejected') expect(codeOf(o.reason)).toBe(ErrorCodes.CONNECTION_LOST);
  }

  await Promise.all(receivers.map((c) => (c.connected ? undefined : waitForEvent(c, 'connect', 3_000))));
  await barrier(sender, inboxes);
  reconcile(outcomes, inboxes, (i) => `s${i}`);
}

describe('relay restarted mid-stream (in process)', () => {
  it('sends made during the outage are delivered exactly once after reconnect; sends in flight settle', async () => {
    const first = await startServer();
    const { sender, receivers, inboxes } = await nodes(first.url);
    await streamAcrossRestart(
      sender,
      receivers,
      inboxes,
      () => first.server.close(),
      async () => {
        expect((await startServer({ port: first.port })).port).toBe(first.port);
      },
    );
  });

  it('a backlog queued during the outage reaches receivers that came back first, all of it, in order', async () => {
    const first = await startServer();
    const { sender, receivers, inboxes } = await nodes(first.url);
    const down = allDisconnected([sender, ...receivers]);
    await first.server.close();
    await down;
    const outage = Array.from({ length: 200 }, (_, i) => settle(sender.send(everyone(), `o${i}`)));
    const receiversBack = receivers.map((c) => waitForEvent(c, 'connect', 3_000));
    await startServer({ port: first.port });
    await Promise.all(receiversBack);
    // the sender's reconnect delay (150 ms) is longer than the receivers' (10 ms)
    const outcomes = await withTimeout(Promise.all(outage), 5_000, 'outage sends');
    for (const o of outcomes) expect(o).toEqual({ status: 'fulfilled', value: { delivered: RECEIVERS, offline: {} } });
    await barrier(sender, inboxes);
    for (const inbox of Object.values(inboxes)) {
      expect(inbox.messages).toEqual(Array.from({ length: 200 }, (_, i) => `o${i}`));
    }
  });

  it('after the restart every node is back and a send reaches each receiver exactly once', async () => {
    const first = await startServer();
    const { sender, receivers, inboxes } = await nodes(first.url);
    const reconnected = [sender, ...receivers].map((c) => waitForEvent(c, 'connect', 3_000));
    await first.server.close();
    const second = await startServer({ port: first.port });
    await Promise.all(reconnected);
    expect(
      second.server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['r1', 'r2', 'r3', 'sender']);
    expect(await sender.send(everyone(), 'after')).toEqual({ delivered: RECEIVERS, offline: {} });
    await barrier(sender, inboxes);
    for (const inbox of Object.values(inboxes)) expect(inbox.messages).toEqual(['after']);
  });
});

describe('relay process killed with SIGKILL and restarted', () => {
  it('sends made while it is down are delivered exactly once after it is back; sends in flight settle', async () => {
    const relay = await spawnRelay(0);
    const { sender, receivers, inboxes } = await nodes(urlFor(relay.port));
    await streamAcrossRestart(
      sender,
      receivers,
      inboxes,
      () => relay.kill(),
      async () => {
        expect((await spawnRelay(relay.port)).port).toBe(relay.port);
      },
    );
  });
});
