/**
 * Which connections the relay takes as legacy Go nodes, and how they are
 * announced: the `legacy` option, secrets, the hello timeout, node:up and
 * node:down.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayServer, type NodeInfo, type RelayError, type RelayServerOptions } from '../../src/index.js';
import { goAddress } from '../../src/legacy/go-address.js';
import { FrameType, decodeDeliver } from '../../src/protocol/index.js';
import { collect } from '../helpers/collector.js';
import { EventLog, pollUntil, waitForEvent } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { LegacyPeer, goDocText, legacyMark, waitRegistered } from '../helpers/legacy.js';
import { RawPeer, errorCodeOf } from '../helpers/raw-peer.js';

useRelayHarness();

const HELLO_TIMEOUT_MS = 150;
const SECRET = 's3cret';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Relays where a raw legacy connection from 127.0.0.1 must be treated as a binary peer. */
const notAccepted: Array<[string, RelayServerOptions]> = [
  ['a secret and no legacy option', { secret: SECRET }],
  ['a secret and an allow list without this address', { secret: SECRET, legacy: { allow: ['10.0.0.0/8', '192.168.1.7', '::2'] } }],
  ['legacy: false and no secret', { legacy: false }],
];

describe('a legacy connection the relay does not accept is a binary peer', () => {
  for (const [label, options] of notAccepted) {
    describe(`with ${label}`, () => {
      it('a JSON first frame gets a binary ERROR ERR_PROTOCOL and is closed', async () => {
        const { server, port } = await startServer({ ...options, helloTimeoutMs: 2_000 });
        const ups = new EventLog<[NodeInfo]>(server, 'node:up');
        const peer = await LegacyPeer.connect(port);
        expect(server.nodes()).toEqual([]);
        peer.sendDoc({ users: { '127.0.0.1:1': [1] }, id: 'x', type: 1 });
        const frame = await peer.raw.nextControl();
        expect(errorCodeOf(frame)).toBe(ErrorCodes.PROTOCOL);
        await peer.waitClosed();
        // Nothing but that one binary frame: no legacy notice.
        expect(peer.raw.received).toHaveLength(1);
        expect(peer.raw.received[0]![0]).toBe(FrameType.ERROR);
        expect(ups.count).toBe(0);
        expect(server.nodes()).toEqual([]);
      });

      it('a silent one times out with ERR_TIMEOUT and is never announced', async () => {
        const { server, port } = await startServer({ ...options, helloTimeoutMs: HELLO_TIMEOUT_MS });
        const ups = new EventLog<[NodeInfo]>(server, 'node:up');
        const peer = await LegacyPeer.connect(port);
        await delay(20);
        expect(server.nodes()).toEqual([]);
        const frame = await peer.raw.nextControl(2_000);
        expect(errorCodeOf(frame)).toBe(ErrorCodes.TIMEOUT);
        await peer.waitClosed();
        expect(Date.now() - peer.raw.openedAt).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 5);
        expect(ups.count).toBe(0);
      });

      it('routing to its address from a binary node reports it offline', async () => {
        const { server, port, url } = await startServer({ ...options, helloTimeoutMs: 2_000 });
        const peer = await LegacyPeer.connect(port);
        const client = await connectClient(url, 'b1', { secret: 'secret' in options ? SECRET : undefined });
        await waitRegistered(server, 'b1');
        const report = await client.send({ [peer.address]: [1] }, { id: 'x' });
        expect(report.reasons).toEqual({ [peer.address]: 'offline' });
        expect(peer.raw.bytesReceived).toBe(0);
      });
    });
  }

  it('legacy: true with a secret is refused with ERR_INVALID_ARGUMENT', () => {
    expect(() => new RelayServer({ host: '127.0.0.1', port: 0, secret: SECRET, legacy: true })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
    expect(() => new RelayServer({ host: '127.0.0.1', port: 0, secret: SECRET, legacy: { allow: ['not an address'] } })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
  });
});

describe('legacy acceptance with a secret and an allow list', () => {
  for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['10.1.2.3', '127.0.0.1']]) {
    it(`accepts a raw legacy node from an allowed address (${allow.join(', ')}) next to authenticated binary nodes`, async () => {
      const { server, port, url } = await startServer({ secret: SECRET, legacy: { allow }, helloTimeoutMs: HELLO_TIMEOUT_MS });
      const legacy = await LegacyPeer.connect(port, server);
      // A binary node from the same (allowed) address still says hello and proves the secret.
      const bin = await connectClient(url, 'b1', { secret: SECRET });
      const inbox = collect(bin);
      legacy.sendDoc({ users: { b1: [5] }, id: 'to-bin', from: 1, to: 5, type: 1, content: 'hi' });
      const [d] = await inbox.waitFor(1);
      expect(d).toMatchObject({ from: legacy.address, users: ['5'], message: { id: 'to-bin', content: 'hi' } });
      const report = await bin.send({ [legacy.address]: [1] }, { id: 'to-legacy', type: 1 });
      expect(report).toEqual({ delivered: [legacy.address], offline: {} });
      expect((await legacy.nextDoc()).doc.message.id).toBe('to-legacy');
      expect(
        server
          .nodes()
          .map((n) => [n.nodeId, n.dialect])
          .sort(),
      ).toEqual(
        [
          [legacy.address, 'legacy'],
          ['b1', 'binary'],
        ].sort(),
      );
    });
  }

  it('a binary node from an allowed address with a wrong secret is refused with ERR_AUTH', async () => {
    const { url } = await startServer({ secret: SECRET, legacy: { allow: ['127.0.0.1'] } });
    await expect(connectClient(url, 'b1', { secret: 'wrong', reconnect: false })).rejects.toMatchObject({ code: ErrorCodes.AUTH });
  });
});

describe('binary nodes on a relay with legacy acceptance on', () => {
  it('a binary client says hello first and is only ever a binary node: one node:up, no legacy entry', async () => {
    const { server, url } = await startServer({ helloTimeoutMs: HELLO_TIMEOUT_MS });
    const ups = new EventLog<[NodeInfo]>(server, 'node:up');
    const downs = new EventLog<[NodeInfo, RelayError | undefined]>(server, 'node:down');
    const a = await connectClient(url, 'bin-a');
    const b = await connectClient(url, 'bin-b');
    const inbox = collect(b);
    // Past the hello timeout: nobody turned into a legacy node meanwhile.
    await delay(HELLO_TIMEOUT_MS * 2);
    expect(
      server
        .nodes()
        .map((n) => [n.nodeId, n.dialect])
        .sort(),
    ).toEqual([
      ['bin-a', 'binary'],
      ['bin-b', 'binary'],
    ]);
    expect(ups.firsts.map((n) => [n.nodeId, n.dialect])).toEqual([
      ['bin-a', 'binary'],
      ['bin-b', 'binary'],
    ]);
    expect(downs.count).toBe(0);
    expect(await a.send({ 'bin-b': ['u'] }, 'still works')).toEqual({ delivered: ['bin-b'], offline: {} });
    await inbox.waitFor(1);
    expect(inbox.items[0]).toEqual({ from: 'bin-a', users: ['u'], message: 'still works' });
  });

  it('once a connection says hello, its ip:port is no longer routable as a legacy node', async () => {
    const { server, port } = await startServer({ helloTimeoutMs: 2_000 });
    const bin = await RawPeer.connect(port);
    // The connection's ip:port, as a Go hub would have keyed it.
    const address = goAddress(bin.socket.localAddress, bin.socket.localPort);
    await waitRegistered(server, address);
    await bin.handshake('raw-bin');
    expect(server.nodes()).toEqual([expect.objectContaining({ nodeId: 'raw-bin', dialect: 'binary' })]);
    const legacy = await LegacyPeer.connect(port, server);
    legacy.sendDoc({ users: { [address]: [1], 'raw-bin': [2] }, id: 'by-address', type: 1 });
    const notice = await legacy.nextDoc();
    expect(notice.json).toMatchObject({ type: 100, host: address, reason: 'offline' });
    // Only the delivery addressed to its node id arrives.
    const deliver = await bin.nextFrame();
    expect(deliver[0]).toBe(FrameType.DELIVER);
    expect(decodeDeliver(deliver)).toMatchObject({ from: legacy.address, users: ['2'] });
  });
});

describe('legacy node lifecycle', () => {
  it('a silent legacy node is announced with node:up (dialect legacy, id = its ip:port) after helloTimeoutMs', async () => {
    const { server, port } = await startServer({ helloTimeoutMs: HELLO_TIMEOUT_MS });
    const ups = new EventLog<[NodeInfo]>(server, 'node:up');
    const peer = await LegacyPeer.connect(port, server);
    // Registered (routable) at once, announced only once it is settled.
    expect(server.nodes()).toEqual([expect.objectContaining({ nodeId: peer.address, dialect: 'legacy' })]);
    expect(ups.count).toBe(0);
    const [node] = await waitForEvent<[NodeInfo]>(server, 'node:up', 2_000);
    const elapsed = Date.now() - peer.raw.openedAt;
    expect(elapsed).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 5);
    expect(node).toMatchObject({
      nodeId: peer.address,
      dialect: 'legacy',
      remoteAddress: expect.stringContaining(String(peer.raw.socket.localPort)),
    });
    await delay(HELLO_TIMEOUT_MS);
    expect(ups.count).toBe(1);
    expect(peer.isClosed).toBe(false);
    expect(peer.raw.bytesReceived).toBe(0);
  });

  it('a legacy node that writes first is announced at once', async () => {
    const { server, port } = await startServer({ helloTimeoutMs: 5_000 });
    const peer = await LegacyPeer.connect(port, server);
    const up = waitForEvent<[NodeInfo]>(server, 'node:up', 1_000);
    peer.send(goDocText({ type: 0 }));
    const [node] = await up;
    expect(node).toMatchObject({ nodeId: peer.address, dialect: 'legacy' });
  });

  it("a legacy node's disconnect emits node:down with its id, and it is no longer routable", async () => {
    const { server, port } = await startServer({ helloTimeoutMs: HELLO_TIMEOUT_MS });
    const peer = await LegacyPeer.connect(port, server);
    const up = waitForEvent<[NodeInfo]>(server, 'node:up', 2_000, (n) => n.nodeId === peer.address);
    const other = await LegacyPeer.connect(port, server);
    // Announced (past its hello timeout), and routable.
    await up;
    await legacyMark(other, [peer]);
    const down = waitForEvent<[NodeInfo, RelayError | undefined]>(server, 'node:down', 2_000, (n) => n.nodeId === peer.address);
    peer.end();
    const [node, reason] = await down;
    expect(node).toMatchObject({ nodeId: peer.address, dialect: 'legacy' });
    expect(reason).toBeUndefined();
    await pollUntil(() => !server.nodes().some((n) => n.nodeId === peer.address));
    other.sendDoc({ users: { [peer.address]: [1] }, id: 'gone', type: 1 });
    expect((await other.nextDoc()).json).toMatchObject({ type: 100, host: peer.address, reason: 'offline', msgId: 'gone' });
  });

  it('a silent legacy node that leaves before its hello timeout is never announced, and leaves no node:down', async () => {
    const { server, port } = await startServer({ helloTimeoutMs: HELLO_TIMEOUT_MS });
    const ups = new EventLog<[NodeInfo]>(server, 'node:up');
    const downs = new EventLog<[NodeInfo, RelayError | undefined]>(server, 'node:down');
    const peer = await LegacyPeer.connect(port, server);
    peer.end();
    await pollUntil(() => server.nodes().length === 0);
    await delay(HELLO_TIMEOUT_MS * 2);
    expect(ups.count).toBe(0);
    expect(downs.count).toBe(0);
  });
});
