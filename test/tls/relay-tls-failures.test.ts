/**
 * The relay's side of TLS failures: nothing a peer does before or during
 * the TLS handshake crashes it or holds a socket for long. Each refusal is
 * counted in `stats().tlsFailures` and reported on the `error` event with a
 * code; a connection that closes before saying anything is no failure.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type RelayError } from '../../src/index.js';
import { FrameType, encodeControl } from '../../src/protocol/index.js';
import { EventLog, pollUntil, waitForEvent } from '../helpers/events.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { startServer, useRelayHarness } from '../helpers/harness.js';
import { serverTls, usePki } from './fixtures.js';

useRelayHarness();
const pki = usePki();

// The first bytes of a TLS ClientHello record: handshake (0x16), TLS 1.0 record version, a length.
const CLIENT_HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xf0, 0x01]);

describe('a TLS relay and peers that fail the handshake', () => {
  it('a peer that connects and sends nothing is closed after helloTimeoutMs, with ERR_TIMEOUT', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()), helloTimeoutMs: 300 });
    const peer = await RawPeer.connect(port);
    const [err] = await waitForEvent<[RelayError]>(server, 'error');
    expect(err.code).toBe(ErrorCodes.TIMEOUT);
    await peer.waitClosed(1_000);
    expect(peer.closedAt! - peer.openedAt).toBeGreaterThanOrEqual(250);
    expect(server.stats().tlsFailures).toBe(1);
  });

  it('a peer that starts the handshake and stalls is closed after helloTimeoutMs, with ERR_TIMEOUT', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()), helloTimeoutMs: 300 });
    const errors = new EventLog(server, 'error');
    const peer = await RawPeer.connect(port);
    peer.write(CLIENT_HELLO_START);
    await pollUntil(() => server.stats().pendingConnections === 1, 1_000, 'the handshake counted as pending');
    await peer.waitClosed(2_000);
    expect(peer.closedAt! - peer.openedAt).toBeGreaterThanOrEqual(250);
    expect(errors.firsts.map((e: RelayError) => e.code)).toEqual([ErrorCodes.TIMEOUT]);
    expect(server.stats()).toMatchObject({ tlsFailures: 1, pendingConnections: 0 });
  });

  it('a peer that hangs up mid-handshake is reported (ERR_AUTH: it may not trust the relay certificate)', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const peer = await RawPeer.connect(port);
    peer.write(CLIENT_HELLO_START);
    await pollUntil(() => server.stats().pendingConnections === 1, 1_000, 'the handshake counted as pending');
    const localPort = peer.socket.localPort;
    const reported = waitForEvent<[RelayError, { remoteAddress: string }]>(server, 'error');
    peer.destroy();
    const [err, who] = await reported;
    expect(err.code).toBe(ErrorCodes.AUTH);
    expect(err.message).toContain('hung up during the TLS handshake');
    expect(who.remoteAddress).toBe(`127.0.0.1:${localPort}`);
    expect(server.stats()).toMatchObject({ tlsFailures: 1, pendingConnections: 0 });
  });

  it('a plaintext peer reads an ERROR frame (ERR_PROTOCOL) saying to use TLS, in plain bytes', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const peer = await RawPeer.connect(port);
    // Any frame of the relay protocol, unencrypted.
    peer.write(encodeControl({ type: FrameType.PING }));
    const frame = await peer.nextControl();
    expect(frame).toMatchObject({ type: FrameType.ERROR, code: ErrorCodes.PROTOCOL });
    expect((frame as { message: string }).message).toContain('tls://');
    await peer.waitClosed();
    expect(server.stats().tlsFailures).toBe(1);
  });

  it('a peer that connects and closes without a byte (a port probe) is no failure', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const errors = new EventLog(server, 'error');
    const peer = await RawPeer.connect(port);
    peer.socket.end();
    await peer.waitClosed();
    // The relay has seen the close once it no longer counts the connection.
    await pollUntil(() => server.stats().pendingConnections === 0, 1_000, 'the probe forgotten');
    expect(errors.count).toBe(0);
    expect(server.stats().tlsFailures).toBe(0);
  });

  it('close() does not wait for handshakes in progress', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()), helloTimeoutMs: 10_000 });
    const silent = await RawPeer.connect(port);
    const stalled = await RawPeer.connect(port);
    stalled.write(CLIENT_HELLO_START);
    await pollUntil(() => server.stats().pendingConnections === 2, 1_000, 'both pending');
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await Promise.all([silent.waitClosed(), stalled.waitClosed()]);
  });
});
