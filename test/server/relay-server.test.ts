import { describe, expect, it } from 'vitest';
import { ErrorCodes, ListenError, RelayError, RelayServer, type NodeInfo } from '../../src/index.js';
import { resolveServerOptions } from '../../src/server/options.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, codeOf, pollUntil, settle, waitForEvent } from '../helpers/events.js';
import { LOOPBACK, connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer } from '../helpers/raw-peer.js';

useRelayHarness();

function invalidOption(options: Parameters<typeof resolveServerOptions>[0]): string | undefined {
  try {
    resolveServerOptions(options);
    return undefined;
  } catch (err) {
    return codeOf(err);
  }
}

describe('RelayServer options', () => {
  it('listens on loopback by default, on the legacy port 8333', () => {
    const o = resolveServerOptions();
    expect(o.host).toBe('127.0.0.1');
    expect(o.port).toBe(8333);
    expect(o.heartbeatTimeoutMs).toBe(2 * o.heartbeatIntervalMs);
    expect(o.duplicateNode).toBe('replace');
    expect(o.secrets).toEqual([]);
  });

  it('rejects inconsistent options with ERR_INVALID_ARGUMENT', () => {
    expect(invalidOption({ port: -1 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ port: 70_000 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ port: 1.5 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ maxFrameBytes: 0 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ maxFrameBytes: 2 ** 31 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ helloTimeoutMs: Number.NaN })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 100 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ duplicateNode: 'ignore' as 'reject' })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ secret: '' })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ secret: ['ok', Buffer.alloc(0)] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(invalidOption({ maxOutboundBytes: -5 })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(() => new RelayServer({ maxNodes: 0 })).toThrow(RelayError);
  });
});

describe('RelayServer', () => {
  it('listens on port 0 on loopback and reports the bound address', async () => {
    const { server, port } = await startServer();
    expect(port).toBeGreaterThan(0);
    expect(server.address()).toMatchObject({ address: LOOPBACK, port });
  });

  it('refuses to listen on a port already taken', async () => {
    const { port } = await startServer();
    const second = new RelayServer({ host: LOOPBACK, port });
    const err = await second.listen().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ListenError);
    expect(err).toMatchObject({ code: 'ERR_LISTEN', cause: { code: 'EADDRINUSE' } });
    expect(String((err as Error).message)).toContain(String(port));
    await second.close();
  });

  it('emits node:up and node:down, and lists the nodes connected', async () => {
    const { url, server } = await startServer();
    const ups = new EventLog<[NodeInfo]>(server, 'node:up');
    const downs = new EventLog<[NodeInfo, RelayError | undefined]>(server, 'node:down');
    const a = await connectClient(url, 'a');
    await connectClient(url, 'b');
    expect(ups.firsts.map((n) => n.nodeId)).toEqual(['a', 'b']);
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
    const [info] = server.nodes().filter((n) => n.nodeId === 'a');
    expect(info!.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(info!.connectedAt).toBeLessThanOrEqual(Date.now());

    const down = waitForEvent(server, 'node:down');
    await a.close();
    await down;
    expect(downs.calls.map((c) => c.args[0].nodeId)).toEqual(['a']);
    // a clean goodbye from the node carries its reason
    expect(codeOf(downs.calls[0]!.args[1])).toBe(ErrorCodes.CLOSED);
    expect(server.nodes().map((n) => n.nodeId)).toEqual(['b']);
    expect(server.stats().nodes).toBe(1);
  });

  it('counts routes, deliveries, frames and bytes', async () => {
    const { url, server } = await startServer();
    const a = await connectClient(url, 'a');
    const b = collect(await connectClient(url, 'b'));
    const c = collect(await connectClient(url, 'c'));
    const before = server.stats();
    await a.send({ b: ['1'], c: ['2'], gone: ['3', '4'] }, 'x');
    await barrier(a, { b, c });
    const after = server.stats();
    expect(after.routes - before.routes).toBe(2); // the send and the barrier
    expect(after.deliveries - before.deliveries).toBe(4);
    expect(after.usersOffline - before.usersOffline).toBe(2);
    expect(after.framesIn - before.framesIn).toBeGreaterThanOrEqual(2);
    expect(after.framesOut - before.framesOut).toBeGreaterThanOrEqual(6); // 4 deliveries, 2 reports
    expect(after.bytesIn).toBeGreaterThan(before.bytesIn);
    expect(after.bytesOut).toBeGreaterThan(before.bytesOut);
    expect(after.protocolErrors).toBe(0);
    expect(after.nodes).toBe(3);
  });

  it('refuses nodes past maxNodes with ERR_TOO_MANY_NODES and admits again once one leaves', async () => {
    const { url, server } = await startServer({ maxNodes: 2 });
    const a = await connectClient(url, 'a');
    await connectClient(url, 'b');
    const errors = new EventLog<[RelayError]>(server, 'error');
    const third = createClient(url, 'c', { reconnect: false });
    const outcome = await settle(third.connect());
    expect(outcome.status).toBe('rejected');
    expect(codeOf((outcome as { reason: RelayError }).reason.cause)).toBe(ErrorCodes.TOO_MANY_NODES);
    expect(errors.firsts.map((e) => e.code)).toEqual([ErrorCodes.TOO_MANY_NODES]);
    expect(server.stats().nodes).toBe(2);

    await a.close();
    await connectClient(url, 'c');
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['b', 'c']);
  });

  it('a replacing connection does not count against maxNodes', async () => {
    const { url, server } = await startServer({ maxNodes: 1 });
    await connectClient(url, 'only');
    await connectClient(url, 'only');
    expect(server.stats().nodes).toBe(1);
  });

  it('tracks connections still in their hello as pending', async () => {
    const { port, server } = await startServer();
    const peer = await RawPeer.connect(port);
    await pollUntil(() => server.stats().pendingConnections === 1, 2_000, 'the relay accepted the connection');
    await peer.handshake('late');
    expect(server.stats().pendingConnections).toBe(0);
    expect(server.stats().nodes).toBe(1);
  });

  it('refuses a message larger than its maxFrameBytes at the sender, before it is written', async () => {
    const { url } = await startServer({ maxFrameBytes: 1024 });
    const a = await connectClient(url, 'a');
    const b = collect(await connectClient(url, 'b'));
    await expect(a.send({ b: ['u'] }, 'x'.repeat(2_000))).rejects.toMatchObject({ code: ErrorCodes.FRAME_TOO_LARGE });
    await expect(a.send({ b: ['u'] }, Buffer.alloc(20_000))).rejects.toMatchObject({ code: ErrorCodes.FRAME_TOO_LARGE });
    expect(a.connected).toBe(true);
    expect(await a.send({ b: ['u'] }, 'small')).toEqual({ delivered: ['b'], offline: {} });
    await barrier(a, { b });
    expect(b.messages).toEqual(['small']);
  });
});
