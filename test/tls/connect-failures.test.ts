/**
 * Every way a TLS connection can fail ends the first connect() with a coded
 * error whose cause says what happened, and in time: a plaintext node and a
 * TLS relay, a TLS node and a plain relay, a relay certificate the node
 * does not trust or that names another host. Certificate failures are not
 * retried: connect() rejects at once and the client has failed for good.
 */
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectError, ErrorCodes, ProtocolError, type RelayError } from '../../src/index.js';
import { EventLog, settle } from '../helpers/events.js';
import { createClient, LOOPBACK, startServer, track, urlFor, useRelayHarness } from '../helpers/harness.js';
import { serverTls, tlsUrl, usePki } from './fixtures.js';

useRelayHarness();
const pki = usePki();

const CONNECT_TIMEOUT_MS = 3_000;
// Well inside the connect timeout: the failure was reported, not waited out.
const PROMPTLY_MS = 1_000;

/** What connect() rejected with, and how long it took. */
async function failedConnect(connect: () => Promise<void>): Promise<{ err: RelayError; elapsed: number }> {
  const started = Date.now();
  const outcome = await settle(connect());
  if (outcome.status === 'fulfilled') throw new Error('expected connect() to reject');
  return { err: outcome.reason as RelayError, elapsed: Date.now() - started };
}

describe('a certificate the node does not accept', () => {
  it('a relay certificate from a CA the node does not trust: ERR_CONNECT at once, caused by UNABLE_TO_VERIFY_LEAF_SIGNATURE; failed for good', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const client = createClient(tlsUrl(port), 'im-1', { tls: { ca: pki().otherCa.cert }, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const reconnecting = new EventLog(client, 'reconnecting');
    const { err, elapsed } = await failedConnect(() => client.connect());
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe(ErrorCodes.CONNECT);
    expect(err.cause).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(err.message).toContain('TLS');
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    expect(reconnecting.count).toBe(0);
    expect(client.state).toBe('failed');
    await expect(client.connect()).rejects.toBe(err);
    // The relay's side of this is in relay-tls-failures.test.ts (whether it sees the handshake finish is a race).
    expect(server.stats().nodes).toBe(0);
  });

  it('a self-signed relay certificate: caused by DEPTH_ZERO_SELF_SIGNED_CERT', async () => {
    const { port } = await startServer({ tls: { key: pki().selfSigned.key, cert: pki().selfSigned.cert } });
    const client = createClient(tlsUrl(port), 'im-1', { tls: { ca: pki().ca.cert }, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const { err, elapsed } = await failedConnect(() => client.connect());
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.cause).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    expect(client.state).toBe('failed');
  });

  it('a relay certificate for another name: caused by ERR_TLS_CERT_ALTNAME_INVALID', async () => {
    const { port } = await startServer({ tls: serverTls(pki()) });
    const client = createClient(tlsUrl(port), 'im-1', {
      tls: { ca: pki().ca.cert, servername: 'relay.example' },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    const { err, elapsed } = await failedConnect(() => client.connect());
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.cause).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect((err.cause as Error).message).toContain('relay.example');
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    expect(client.state).toBe('failed');
  });

  it('a host name the certificate does not name: the same, from the url', async () => {
    // The certificate names localhost and 127.0.0.1, not 127.0.0.2 (which is loopback too, on Linux).
    const { port } = await startServer({ tls: serverTls(pki()), host: '127.0.0.2' });
    const client = createClient(tlsUrl(port, '127.0.0.2'), 'im-1', { tls: { ca: pki().ca.cert }, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const { err } = await failedConnect(() => client.connect());
    expect(err.cause).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});

describe('one end speaks TLS, the other does not', () => {
  it('a plaintext node and a TLS relay: ERR_PROTOCOL at once, saying to use tls://; the relay counts it', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const errors = new EventLog(server, 'error');
    const client = createClient(urlFor(port), 'im-1', { connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const { err, elapsed } = await failedConnect(() => client.connect());
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toContain('tls://');
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    // Refused, not failed: the client is idle and may be given another go.
    expect(client.state).toBe('idle');
    expect(server.stats().tlsFailures).toBe(1);
    expect(errors.count).toBe(1);
    const [reported, peer] = errors.calls[0]!.args as [RelayError, { remoteAddress: string }];
    expect(reported.code).toBe(ErrorCodes.PROTOCOL);
    expect(peer.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('a TLS node and a plain relay: ERR_CONNECT at once, caused by the TLS error', async () => {
    const { port } = await startServer();
    const client = createClient(tlsUrl(port), 'im-1', { tls: { ca: pki().ca.cert }, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const { err, elapsed } = await failedConnect(() => client.connect());
    expect(err).toBeInstanceOf(ConnectError);
    expect((err.cause as NodeJS.ErrnoException).code).toMatch(/^ERR_SSL_/);
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    expect(client.state).toBe('idle');
  });

  it('a server that never answers the handshake: ERR_CONNECT within connectTimeoutMs', async () => {
    // It takes the connection and the TLS hello, and says nothing.
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, LOOPBACK, resolve));
    track('silent TLS server', async () => {
      for (const s of held) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as { port: number }).port;
    const client = createClient(tlsUrl(port), 'im-1', { tls: { ca: pki().ca.cert }, connectTimeoutMs: 800 });
    const { err, elapsed } = await failedConnect(() => client.connect());
    expect(err).toBeInstanceOf(ConnectError);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(800 + 500);
  });
});
