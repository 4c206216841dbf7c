/**
 * With `tlsNodeIdentity: 'require'`, a node's client certificate must name
 * the node id it says hello with (subject CN, or a subjectAltName DNS or URI
 * entry). The check itself is a pure function of the relay's socket,
 * tested here on real TLS sockets; the relay end to end below.
 */
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { AuthError, ErrorCodes, type RelayError } from '../../src/index.js';
import { certificateNames, certificateNamesNode, checkNodeCertificate } from '../../src/server/tls-identity.js';
import type { KeyPair } from '../helpers/certs.js';
import { settle } from '../helpers/events.js';
import { connectClient, createClient, LOOPBACK, startServer, track, useRelayHarness } from '../helpers/harness.js';
import { mutualTls, tlsUrl, usePki } from './fixtures.js';

useRelayHarness();
const pki = usePki();

const REQUIRE = { tlsNodeIdentity: 'require' } as const;
const NONE = { tlsNodeIdentity: 'none' } as const;

/**
 * The relay's end of a real TLS connection from a client holding `client`
 * (or no certificate): the socket the check is given.
 */
async function serverSideOf(client: KeyPair | undefined, serverOptions: TlsOptions = {}): Promise<TLSSocket> {
  const server = createServer({ ...mutualTls(pki()), rejectUnauthorized: false, ...serverOptions });
  const accepted = new Promise<TLSSocket>((resolve) => server.once('secureConnection', resolve));
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  const socket = tlsConnect({ host: LOOPBACK, port, ca: pki().ca.cert, ...(client ? { key: client.key, cert: client.cert } : {}) });
  socket.on('error', () => {});
  const serverSide = await accepted;
  track('identity test sockets', async () => {
    socket.destroy();
    serverSide.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return serverSide;
}

describe('certificateNamesNode and checkNodeCertificate', () => {
  it('a certificate names its node by subject CN or subjectAltName DNS', async () => {
    const socket = await serverSideOf(pki().im1);
    expect(certificateNames(socket.getPeerCertificate())).toEqual(['im-1', 'im-1']);
    expect(certificateNamesNode(socket, 'im-1')).toBe(true);
    expect(certificateNamesNode(socket, 'im-2')).toBe(false);
    // Node ids are compared exactly, case included.
    expect(certificateNamesNode(socket, 'IM-1')).toBe(false);
    expect(checkNodeCertificate(socket, 'im-1', REQUIRE)).toBeUndefined();
  });

  it('by subjectAltName URI', async () => {
    const socket = await serverSideOf(pki().im3);
    expect(certificateNames(socket.getPeerCertificate())).toEqual(['node', 'spiffe://cluster/im-3']);
    expect(certificateNamesNode(socket, 'spiffe://cluster/im-3')).toBe(true);
    expect(checkNodeCertificate(socket, 'spiffe://cluster/im-3', REQUIRE)).toBeUndefined();
  });

  it('refuses another node id with ERR_AUTH naming both the node id and what the certificate names', async () => {
    const socket = await serverSideOf(pki().im1);
    const refusal = checkNodeCertificate(socket, 'im-2', REQUIRE);
    expect(refusal).toBeInstanceOf(AuthError);
    expect(refusal?.code).toBe(ErrorCodes.AUTH);
    expect(refusal?.message).toBe('node id "im-2" is not named by its certificate, which names "im-1", "im-1"');
    // Not required: anything goes.
    expect(checkNodeCertificate(socket, 'im-2', NONE)).toBeUndefined();
  });

  it('refuses a node with no certificate, or one the TLS layer did not verify', async () => {
    const bare = await serverSideOf(undefined);
    expect(certificateNamesNode(bare, 'im-1')).toBe(false);
    expect(checkNodeCertificate(bare, 'im-1', REQUIRE)?.message).toContain('no verified client certificate');

    const unverified = await serverSideOf(pki().untrustedIm1);
    expect(unverified.authorized).toBe(false);
    // It does say im-1, but nobody vouches for it.
    expect(certificateNames(unverified.getPeerCertificate())).toContain('im-1');
    expect(certificateNamesNode(unverified, 'im-1')).toBe(false);
    expect(checkNodeCertificate(unverified, 'im-1', REQUIRE)).toBeInstanceOf(AuthError);
  });

  it('a plain TCP socket names nothing', async () => {
    const plain: Socket = netConnect({ host: LOOPBACK, port: 9 });
    plain.on('error', () => {});
    track('plain socket', () => plain.destroy());
    expect(certificateNamesNode(plain, 'im-1')).toBe(false);
    expect(checkNodeCertificate(plain, 'im-1', REQUIRE)?.message).toContain('without TLS');
    expect(checkNodeCertificate(plain, 'im-1', NONE)).toBeUndefined();
  });

  it('reads entries Node quotes (a comma inside a name)', () => {
    const cert = { subject: { CN: ['a', 'b'] }, subjectaltname: 'DNS:x, IP Address:10.0.0.1, URI:"urn:a,b", email:e@x' };
    expect(certificateNames(cert as never)).toEqual(['a', 'b', 'x', 'urn:a,b']);
  });
});

describe('a relay with tlsNodeIdentity: require', () => {
  const identityRelay = () => startServer({ tls: mutualTls(pki()), tlsNodeIdentity: 'require' });
  const tlsOf = (pair: KeyPair) => ({ ca: pki().ca.cert, key: pair.key, cert: pair.cert });

  it("lets each node in under the id its certificate names, and refuses im-1's certificate as im-2 with ERR_AUTH", async () => {
    const { server, port } = await identityRelay();
    const url = tlsUrl(port);
    await connectClient(url, 'im-1', { tls: tlsOf(pki().im1) });
    await connectClient(url, 'spiffe://cluster/im-3', { tls: tlsOf(pki().im3) });

    const impostor = createClient(url, 'im-2', { tls: tlsOf(pki().im1), connectTimeoutMs: 3_000 });
    const started = Date.now();
    const outcome = await settle(impostor.connect());
    expect(outcome.status).toBe('rejected');
    const err = (outcome as { reason: RelayError }).reason;
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toContain('"im-2"');
    expect(err.message).toContain('"im-1"');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(impostor.state).toBe('failed');
    expect(server.stats()).toMatchObject({ nodes: 2, authFailures: 1 });
    expect(server.nodes().map((n) => n.nodeId)).not.toContain('im-2');
  });
});
