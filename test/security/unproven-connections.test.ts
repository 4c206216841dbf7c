import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayClient } from '../../src/index.js';
import { encodeFrameHeader } from '../../src/codec/index.js';
import { FrameType, encodeControl, newNonce, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN } from '../../src/protocol/index.js';
import { AuthThrottle } from '../../src/server/auth-throttle.js';
import { addressInId } from '../../src/server/id-claims.js';
import { HANDSHAKE_FRAME_BYTES } from '../../src/server/session.js';
import { pollUntil, settle } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, errorCodeOf } from '../helpers/raw-peer.js';

useRelayHarness();

/** Another loopback address: connections from it count apart from 127.0.0.1's. */
const OTHER = '127.0.0.2';

describe('before the hello', () => {
  it('a frame larger than a handshake needs is refused at its length prefix, ERR_FRAME_TOO_LARGE', async () => {
    const { port, server } = await startServer({ secret: 's', maxFrameBytes: 1024 * 1024 });
    const peer = await RawPeer.connect(port);
    // Only the prefix is sent: nothing of the megabyte is ever buffered.
    peer.write(encodeFrameHeader(HANDSHAKE_FRAME_BYTES + 1));
    expect(errorCodeOf(await peer.nextControl())).toBe(ErrorCodes.FRAME_TOO_LARGE);
    await peer.waitClosed();
    expect(server.stats().protocolErrors).toBe(1);
    // A node is still admitted, and then may send frames up to the relay's limit.
    await connectClient(`tcp://127.0.0.1:${port}`, 'a', { secret: 's' });
  });

  it('caps unproven connections per address: more are closed on arrival, other addresses still get in', async () => {
    const { port, url, server } = await startServer({ secret: 's', maxUnprovenPerAddress: 3 });
    const idle = await Promise.all([1, 2, 3].map(() => RawPeer.connect(port, OTHER)));
    const extra = await RawPeer.connect(port, OTHER);
    await extra.waitClosed();
    expect(extra.bytesReceived).toBe(0);
    expect(server.stats().connectionsRefused).toBe(1);
    // 127.0.0.1 is another address: its node joins.
    await connectClient(url, 'a', { secret: 's' });
    // A slot comes back when an unproven connection goes.
    idle[0]!.destroy();
    await pollUntil(() => server.stats().pendingConnections === 2, 2_000, 'the relay saw the close');
    const again = await RawPeer.connect(port, OTHER);
    await again.handshake('b', 's');
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('caps connections not past their hello in total', async () => {
    const { port, server } = await startServer({ secret: 's', maxPendingConnections: 2 });
    await RawPeer.connect(port);
    await RawPeer.connect(port, OTHER);
    const third = await RawPeer.connect(port, '127.0.0.3');
    await third.waitClosed();
    expect(server.stats()).toMatchObject({ connectionsRefused: 1, pendingConnections: 2 });
  });

  it('closes an idle connection at the hello timeout', async () => {
    const { port } = await startServer({ secret: 's', helloTimeoutMs: 200 });
    const peer = await RawPeer.connect(port);
    expect(errorCodeOf(await peer.nextControl(2_000))).toBe(ErrorCodes.TIMEOUT);
    await peer.waitClosed();
  });
});

describe('failed handshakes', () => {
  it('answers repeated failures from one address later and later; another address is not slowed', () => {
    const throttle = new AuthThrottle(1_000);
    const delays = Array.from({ length: 8 }, (_, i) => throttle.failed('10.0.0.1', i));
    expect(delays).toEqual([0, 0, 0, 100, 200, 400, 800, 1_000]);
    expect(throttle.failed('10.0.0.2', 8)).toBe(0);
    // Forgotten after a quiet minute.
    expect(throttle.failed('10.0.0.1', 8 + 60_001)).toBe(0);
  });

  it('a relay slows down a wrong-secret node after three failures, and still admits the right secret at once', async () => {
    const { url, server } = await startServer({ secret: 'right', authFailureDelayMaxMs: 400 });
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const wrong = createClient(url, `w${i}`, { secret: 'wrong' });
      const started = Date.now();
      const outcome = await settle(wrong.connect());
      timings.push(Date.now() - started);
      expect(outcome).toMatchObject({ status: 'rejected', reason: { code: ErrorCodes.AUTH } });
    }
    expect(server.stats().authFailures).toBe(5);
    // The fourth waits 100 ms, the fifth 200 ms: lower bounds, never upper ones.
    expect(timings[3]).toBeGreaterThanOrEqual(90);
    expect(timings[4]).toBeGreaterThanOrEqual(190);
    const started = Date.now();
    await connectClient(url, 'right', { secret: 'right' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a replayed handshake is refused: the proof answers another challenge', async () => {
    const { port } = await startServer({ secret: 's' });
    const honest = await RawPeer.connect(port);
    await honest.handshake('a', 's');
    // The attacker saw a HELLO and an AUTH; the relay's fresh challenge makes them useless.
    const attacker = await RawPeer.connect(port);
    const nonce = newNonce();
    attacker.write(
      encodeControl({
        type: FrameType.HELLO,
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        nodeId: 'a',
        maxFrameBytes: 1 << 20,
        features: 0,
        nonce,
      }),
    );
    expect((await attacker.nextControl()).type).toBe(FrameType.CHALLENGE);
    attacker.write(encodeControl({ type: FrameType.AUTH, proof: Buffer.alloc(32, 1) }));
    expect(errorCodeOf(await attacker.nextControl())).toBe(ErrorCodes.AUTH);
  });
});

describe('a relay that accepts legacy nodes', () => {
  it('idle legacy sockets count against maxLegacyNodes, never against binary nodes', async () => {
    const { port, url, server } = await startServer({ maxNodes: 2, maxLegacyNodes: 3, helloTimeoutMs: 100 });
    const legacy = await Promise.all([1, 2, 3, 4].map(() => RawPeer.connect(port, OTHER)));
    // After the hello timeout they are legacy nodes; the fourth finds the limit.
    await legacy[3]!.waitClosed(2_000);
    expect(server.nodes().filter((n) => n.dialect === 'legacy')).toHaveLength(3);
    await connectClient(url, 'a');
    await connectClient(url, 'b');
    expect(server.nodes().filter((n) => n.dialect === 'binary')).toHaveLength(2);
  });

  it("a binary node cannot take a legacy node's ip:port id, from another address or while it is connected", async () => {
    const { port, url, server } = await startServer({ helloTimeoutMs: 100 });
    const goNode = await RawPeer.connect(port, OTHER);
    const goId = `${OTHER}:${goNode.socket.localPort}`;
    await new Promise<void>((resolve) => server.once('node:up', () => resolve()));
    expect(server.nodes().map((n) => n.nodeId)).toEqual([goId]);

    const fromHere = createClient(url, goId);
    expect(await settle(fromHere.connect())).toMatchObject({ status: 'rejected', reason: { code: ErrorCodes.AUTH } });
    const sameMachine = await RawPeer.connect(port, OTHER);
    sameMachine.write(
      encodeControl({
        type: FrameType.HELLO,
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        nodeId: goId,
        maxFrameBytes: 1 << 20,
        features: 0,
        nonce: newNonce(),
      }),
    );
    expect(errorCodeOf(await sameMachine.nextControl())).toBe(ErrorCodes.DUPLICATE_NODE);
    expect(server.nodes().map((n) => n.nodeId)).toEqual([goId]);
    expect(server.nodes()[0]!.dialect).toBe('legacy');
  });

  it('reads ip:port ids, v4 and v6, and nothing else', () => {
    expect(addressInId('10.0.0.7:8080')).toBe('10.0.0.7');
    expect(addressInId('[::1]:8080')).toBe('::1');
    expect(addressInId('im-1')).toBeUndefined();
    expect(addressInId('999.0.0.1:80')).toBeUndefined();
    expect(addressInId('10.0.0.7')).toBeUndefined();
  });

  it('a binary node may use an ip:port id of its own address', async () => {
    const { url } = await startServer();
    const client = new RelayClient({ url, nodeId: '127.0.0.1:9999', connectTimeoutMs: 2_000 });
    await client.connect();
    await client.close();
  });
});
