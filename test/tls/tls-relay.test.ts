/**
 * A relay over TLS works as one over TCP: nodes connect with a tls:// url,
 * send and receive, and get their reports; with client certificates, each
 * node proves itself with its own.
 */
import { TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { collectN } from '../helpers/collector.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { mutualTls, serverTls, tlsUrl, usePki } from './fixtures.js';

useRelayHarness();
const pki = usePki();

describe('a relay over TLS', () => {
  it('carries a send, its delivery and its report between two nodes', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const url = tlsUrl(port);
    const a = await connectClient(url, 'im-1', { tls: { ca: pki().ca.cert } });
    const b = await connectClient(url, 'im-2', { tls: { ca: pki().ca.cert } });

    const received = collectN(b, 1);
    const report = await a.send({ 'im-2': ['bob'], 'im-3': ['carol'] }, { text: 'hi' });
    expect(await received).toEqual([{ from: 'im-1', users: ['bob'], message: { text: 'hi' } }]);
    expect(report).toEqual({ delivered: ['im-2'], offline: { 'im-3': ['carol'] }, reasons: { 'im-3': 'offline' } });

    // Really TLS, on both ends.
    const link = (a as unknown as { supervisor: { link: { socket: unknown } } }).supervisor.link;
    expect(link.socket).toBeInstanceOf(TLSSocket);
    expect((link.socket as TLSSocket).getProtocol()).toMatch(/^TLSv1\.[23]$/);
    expect(server.stats()).toMatchObject({ nodes: 2, routes: 1, deliveries: 1, tlsFailures: 0 });
    expect(inspect(a)).toBe(`RelayClient "im-1" { state: 'ready', transport: 'the TLS relay at 127.0.0.1:${port}' }`);
  });

  it('reaches a relay by name: the server name defaults to the url host', async () => {
    const { port } = await startServer({ tls: serverTls(pki()) });
    const client = await connectClient(tlsUrl(port, 'localhost'), 'im-1', { tls: { ca: pki().ca.cert } });
    expect(client.options.transport).toMatchObject({ kind: 'tcp', endpoint: { host: 'localhost', port } });
    const settings = client.options.transport.kind === 'tcp' ? client.options.transport.tls : undefined;
    expect(settings?.reveal().servername).toBe('localhost');
  });

  it('with client certificates: each node connects with its own, and the relay sees who it is', async () => {
    const { server, port } = await startServer({ tls: mutualTls(pki()) });
    const url = tlsUrl(port);
    const sockets: TLSSocket[] = [];
    server.on('node:up', () => {
      // The relay's side of each connection is a verified TLS socket.
      for (const s of (server as unknown as { hub: { sessions: Set<{ socket: TLSSocket }> } }).hub.sessions) sockets.push(s.socket);
    });
    const a = await connectClient(url, 'im-1', { tls: { ca: pki().ca.cert, key: pki().im1.key, cert: pki().im1.cert } });
    const b = await connectClient(url, 'im-2', { tls: { ca: pki().ca.cert, key: pki().im2.key, cert: pki().im2.cert } });
    const received = collectN(a, 1);
    expect(await b.send({ 'im-1': ['alice'] }, 'hello')).toEqual({ delivered: ['im-1'], offline: {} });
    expect((await received)[0]).toMatchObject({ from: 'im-2', users: ['alice'], message: 'hello' });
    expect(sockets.length).toBeGreaterThan(0);
    for (const s of sockets) expect(s.authorized).toBe(true);
    expect(server.stats().tlsFailures).toBe(0);
  });
});
