import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codec/index.js';
import { ErrorCodes, type Logger } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { codeOf, pollUntil, settle, waitForEvent } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { parseSamples, promtoolCheck, sample } from './exposition-text.js';

useRelayHarness();

const SECRET = 'metrics-test-secret-4a1b';

/** A logger that keeps every call, as pino would receive it. */
function recordingLogger(): Logger & { lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at =
    (level: string) =>
    (fields: object, message = ''): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('RelayServer.metrics()', () => {
  it('counts routes, deliveries, bytes and undelivered users by reason as nodes send, in text promtool accepts', async () => {
    const { server, url } = await startServer();
    const a = await connectClient(url, 'a');
    // A node that accepts only small frames: a larger message is refused for it.
    const b = await connectClient(url, 'b', { maxFrameBytes: 4096 });
    const inbox = collect(b);
    b.online(['bob']);

    const before = server.metrics();
    expect(promtoolCheck(before)).toEqual({ status: 0, output: '' });
    expect(sample(before, 'imrelay_nodes_connected')).toBe(2);
    expect(sample(before, 'imrelay_routes_total')).toBe(0);

    for (let i = 0; i < 5; i++) expect(await a.send({ b: ['bob'] }, i)).toEqual({ delivered: ['b'], offline: {} });
    expect((await a.send({ b: ['bob'], gone: ['x', 'y'] }, 'half')).reasons).toEqual({ gone: 'offline' });
    expect((await a.send({ b: ['bob', 'carol'] }, 'z'.repeat(8000))).reasons).toEqual({ b: 'refused' });
    expect((await a.sendToUsers(['bob', 'nobody'], 'by user')).offline).toEqual(['nobody']);
    await inbox.waitFor(7);

    const after = server.metrics();
    expect(promtoolCheck(after)).toEqual({ status: 0, output: '' });
    expect(sample(after, 'imrelay_routes_total')).toBe(8);
    expect(sample(after, 'imrelay_deliveries_total')).toBe(7);
    expect(sample(after, 'imrelay_undelivered_users_total', { reason: 'offline' })).toBe(2);
    expect(sample(after, 'imrelay_undelivered_users_total', { reason: 'refused' })).toBe(2);
    expect(sample(after, 'imrelay_undelivered_users_total', { reason: 'nowhere' })).toBe(1);
    expect(sample(after, 'imrelay_undelivered_users_total', { reason: 'overflow' })).toBe(0);
    expect(sample(after, 'imrelay_bytes_received_total')).toBeGreaterThan(sample(before, 'imrelay_bytes_received_total') + 8000);
    expect(sample(after, 'imrelay_bytes_sent_total')).toBeGreaterThan(sample(before, 'imrelay_bytes_sent_total'));
    expect(sample(after, 'imrelay_presence_users')).toBe(1);
    expect(sample(after, 'imrelay_node_connections_total')).toBe(2);
    expect(sample(after, 'imrelay_start_time_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    // The counters agree with stats(): one set of numbers, two views.
    const stats = server.stats();
    expect(sample(after, 'imrelay_frames_received_total')).toBe(stats.framesIn);
    expect(sample(after, 'imrelay_protocol_errors_total')).toBe(0);
  });

  it('counts users given up after routing too: parked past the grace (offline), not taken in time (overflow)', async () => {
    // A fresh relay holds sends for nodes not connected yet, for the startup grace.
    const { server, url } = await startServer({ startupGraceMs: 200, presenceGraceMs: 200, deliveryTimeoutMs: 200 });
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    expect(await a.send({ later: ['x', 'y'] }, 'parked')).toMatchObject({ reasons: { later: 'offline' } });
    // b's loop never takes it: given up after the delivery timeout.
    expect(await a.send({ b: ['u'] }, 'not taken')).toMatchObject({ reasons: { b: 'overflow' } });
    const text = server.metrics();
    expect(sample(text, 'imrelay_undelivered_users_total', { reason: 'offline' })).toBe(2);
    expect(sample(text, 'imrelay_undelivered_users_total', { reason: 'overflow' })).toBe(1);
    expect(server.stats().usersOffline).toBe(3);
    expect(b.state).toBe('ready');
  });

  it('shows a slow node: bytes waiting for it in all, for the worst node, and under its own name among the top nodes', async () => {
    const { server, url, port } = await startServer({ legacy: false });
    const a = await connectClient(url, 'a');
    const slow = await RawPeer.connect(port);
    await slow.handshake('slow-node');
    slow.stopReading();
    const payload = 'p'.repeat(64 * 1024);
    // A node that reads nothing: the kernel's buffers fill, then the relay's.
    for (let sent = 0; sample(server.metrics(), 'imrelay_outbound_buffered_bytes') === 0; sent++) {
      if (sent === 1024) throw new Error('nothing buffered for a node that reads nothing after 64 MiB');
      await a.send({ 'slow-node': ['u'] }, payload, { report: false });
    }

    const text = server.metrics();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    const perNode = sample(text, 'imrelay_node_outbound_buffered_bytes', { node: 'slow-node' });
    expect(perNode).toBeGreaterThan(0);
    expect(sample(text, 'imrelay_outbound_buffered_bytes_max')).toBe(perNode);
    expect(sample(text, 'imrelay_outbound_limit_bytes')).toBe(server.options.maxOutboundBytes);
    // Per-node series are bounded, and can be left out.
    const none = server.metrics({ topNodes: 0 });
    expect([...parseSamples(none).keys()].some((k) => k.includes('node="'))).toBe(false);
    expect(sample(none, 'imrelay_outbound_buffered_bytes')).toBeGreaterThan(0);
  });

  it('shows users still located on a node that is gone (normal within the grace; lasting, a presence leak)', async () => {
    const { server, url } = await startServer({ presenceGraceMs: 60_000 });
    const b = await connectClient(url, 'b');
    b.online(['u1', 'u2', 'u3']);
    await pollUntil(() => sample(server.metrics(), 'imrelay_presence_users') === 3, 3_000, 'presence applied');
    expect(sample(server.metrics(), 'imrelay_presence_nodes_disconnected')).toBe(0);
    const down = waitForEvent(server, 'node:down');
    await b.close();
    await down;
    const text = server.metrics();
    expect(sample(text, 'imrelay_presence_nodes')).toBe(1);
    expect(sample(text, 'imrelay_presence_nodes_disconnected')).toBe(1);
    expect(sample(text, 'imrelay_node_disconnections_total')).toBe(1);
  });
});

describe('RelayServer logger option', () => {
  it('logs nodes up and down, a failed handshake and a protocol error with pino-shaped calls, and never the secret', async () => {
    const logger = recordingLogger();
    const { server, url, port } = await startServer({ secret: SECRET, logger });
    const a = await connectClient(url, 'a', { secret: SECRET });

    const intruder = createClient(url, 'intruder', { secret: `${SECRET}-wrong` });
    const refused = await settle(intruder.connect());
    expect(refused.status === 'rejected' && codeOf(refused.reason)).toBe(ErrorCodes.AUTH);
    const garbage = await RawPeer.connect(port);
    garbage.write(encodeFrame(Buffer.from([0xee, 1, 2, 3])));
    await garbage.waitClosed();
    await a.close();
    await pollUntil(() => logger.lines.some((l) => l.fields.event === 'node_down'), 3_000, 'node down logged');

    const events = logger.lines.map((l) => `${l.level} ${String(l.fields.event)}`);
    expect(events).toEqual(expect.arrayContaining(['info node_up', 'warn auth_failure', 'warn protocol_error', 'info node_down']));
    const up = logger.lines.find((l) => l.fields.event === 'node_up')!;
    expect(up.fields).toMatchObject({ node: 'a', dialect: 'binary' });
    expect(up.message).toMatch(/^node up a from 127\.0\.0\.1:\d+$/);
    const auth = logger.lines.find((l) => l.fields.event === 'auth_failure')!;
    expect(auth.fields).toMatchObject({ code: ErrorCodes.AUTH, node: 'intruder' });
    expect(JSON.stringify(logger.lines)).not.toContain(SECRET);

    const text = server.metrics();
    expect(sample(text, 'imrelay_auth_failures_total')).toBe(1);
    expect(sample(text, 'imrelay_protocol_errors_total')).toBe(1);
  });
});
