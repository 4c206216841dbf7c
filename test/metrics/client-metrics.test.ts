import { describe, expect, it } from 'vitest';
import { ErrorCodes, type Logger } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { codeOf, pollUntil, settle, waitForEvent } from '../helpers/events.js';
import { connectClient, dropConnection, startServer, useRelayHarness } from '../helpers/harness.js';
import { parseSamples, promtoolCheck, sample } from './exposition-text.js';

useRelayHarness();

/** The sum of every sample of `name` (all its label sets). */
function total(text: string, name: string): number {
  let sum = 0;
  for (const [key, value] of parseSamples(text)) if (key.startsWith(`${name}{`)) sum += value;
  return sum;
}

describe('RelayClient.metrics()', () => {
  it('counts sends by outcome, undelivered users, report latency, and deliveries, labelled with the node id', async () => {
    const { server, url } = await startServer();
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    const inbox = collect(b);

    expect(await a.send({ b: ['u'] }, 1)).toEqual({ delivered: ['b'], offline: {} });
    expect((await a.send({ b: ['u'], gone: ['x', 'y'] }, 2)).reasons).toEqual({ gone: 'offline' });
    await a.send({ b: ['u'] }, 3, { report: false });
    await inbox.waitFor(3);
    await a.close();
    const closed = await settle(a.send({ b: ['u'] }, 4));
    expect(closed.status === 'rejected' && codeOf(closed.reason)).toBe(ErrorCodes.CLOSED);

    const text = a.metrics();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    expect(sample(text, 'imrelay_client_sends_total', { node: 'a', outcome: 'answered' })).toBe(2);
    expect(sample(text, 'imrelay_client_sends_total', { node: 'a', outcome: 'written' })).toBe(1);
    expect(sample(text, 'imrelay_client_sends_total', { node: 'a', outcome: 'closed' })).toBe(1);
    expect(sample(text, 'imrelay_client_sends_total', { node: 'a', outcome: 'timeout' })).toBe(0);
    expect(sample(text, 'imrelay_client_undelivered_users_total', { node: 'a', reason: 'offline' })).toBe(2);
    expect(sample(text, 'imrelay_client_report_latency_seconds_count', { node: 'a' })).toBe(2);
    expect(sample(text, 'imrelay_client_report_latency_seconds_bucket', { node: 'a', le: '+Inf' })).toBe(2);
    expect(sample(text, 'imrelay_client_connected', { node: 'a' })).toBe(0);
    expect(sample(b.metrics(), 'imrelay_client_deliveries_total', { node: 'b' })).toBe(3);
    expect(sample(b.metrics(), 'imrelay_client_connected', { node: 'b' })).toBe(1);
    // An application that serves the relay's metrics, or its own, appends a client's: names never collide.
    expect(promtoolCheck(server.metrics() + b.metrics())).toEqual({ status: 0, output: '' });
  });

  it('counts a reconnect, the send written again after it, and the repeat the receiver dropped', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    // b's loop does not run yet: the message waits in its queue, so a's send waits for its answer.
    const sending = a.send({ b: ['u'] }, 'once');
    await pollUntil(() => sample(b.metrics(), 'imrelay_client_deliveries_queued', { node: 'b' }) === 1, 3_000, 'delivery queued');
    expect(sample(a.metrics(), 'imrelay_client_sends_in_flight', { node: 'a' })).toBe(1);

    const reconnected = waitForEvent(a, 'connect');
    dropConnection(a);
    await reconnected;
    // Written again after the reconnect: the relay passes it on, and b, which has it, drops the copy.
    await pollUntil(() => sample(b.metrics(), 'imrelay_client_duplicates_dropped_total', { node: 'b' }) === 1, 3_000, 'repeat dropped');
    const inbox = collect(b);
    expect(await sending).toEqual({ delivered: ['b'], offline: {} });
    expect(inbox.messages).toEqual(['once']);

    const text = a.metrics();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    expect(sample(text, 'imrelay_client_reconnects_total', { node: 'a' })).toBe(1);
    expect(sample(text, 'imrelay_client_resends_total', { node: 'a' })).toBe(1);
    expect(total(text, 'imrelay_client_disconnects_total')).toBe(1);
    expect(sample(text, 'imrelay_client_sends_total', { node: 'a', outcome: 'answered' })).toBe(1);
    expect(sample(b.metrics(), 'imrelay_client_deliveries_total', { node: 'b' })).toBe(1);
  });
});

describe('RelayClient logger option', () => {
  it('logs the connection, its drop with the reason code, and never the secret', async () => {
    const secret = 'client-log-secret-93f0';
    const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
    const at =
      (level: string) =>
      (fields: object, message = ''): void => {
        lines.push({ level, fields: fields as Record<string, unknown>, message });
      };
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const { url, port } = await startServer({ secret });
    const a = await connectClient(url, 'a', { secret, logger });
    const reconnected = waitForEvent(a, 'connect');
    dropConnection(a);
    await reconnected;

    const events = lines.map((l) => `${l.level} ${String(l.fields.event)}`);
    expect(events).toEqual(['info relay_connected', 'warn relay_disconnected', 'debug relay_reconnecting', 'info relay_connected']);
    expect(lines[0]!.fields).toMatchObject({ node: 'a', relay: `the relay at 127.0.0.1:${port}` });
    expect(lines[1]!.fields.code).toMatch(/^ERR_/);
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
