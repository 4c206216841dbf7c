/**
 * A relay that asks for client certificates (`requestCert`) refuses a node
 * without one, or with one its CA does not vouch for, in the relay's own
 * protocol: the node reads ERR_AUTH saying why, at once, whatever the TLS
 * version; the relay counts the refusal and reports it, and lives on.
 */
import { describe, expect, it } from 'vitest';
import { AuthError, ErrorCodes, type RelayError } from '../../src/index.js';
import { collectN } from '../helpers/collector.js';
import { EventLog, settle } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { mutualTls, tlsUrl, usePki } from './fixtures.js';

useRelayHarness();
const pki = usePki();

const PROMPTLY_MS = 1_000;

async function refusal(connect: Promise<void>): Promise<{ err: RelayError; elapsed: number }> {
  const started = Date.now();
  const outcome = await settle(connect);
  if (outcome.status === 'fulfilled') throw new Error('expected connect() to reject');
  return { err: outcome.reason as RelayError, elapsed: Date.now() - started };
}

describe('a relay with requestCert', () => {
  it.each(['TLSv1.3', 'TLSv1.2'] as const)('refuses a node without a certificate with ERR_AUTH, at once (%s)', async (version) => {
    const { server, port } = await startServer({ tls: mutualTls(pki()) });
    const errors = new EventLog(server, 'error');
    const client = createClient(tlsUrl(port), 'im-1', { tls: { ca: pki().ca.cert, maxVersion: version }, connectTimeoutMs: 3_000 });
    const { err, elapsed } = await refusal(client.connect());
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toContain('requires a client certificate');
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    expect(client.state).toBe('failed');

    expect(server.stats()).toMatchObject({ tlsFailures: 1, nodes: 0 });
    expect(errors.count).toBe(1);
    const [reported, peer] = errors.calls[0]!.args as [RelayError, { remoteAddress: string }];
    expect(reported.code).toBe(ErrorCodes.AUTH);
    expect(peer.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('refuses a certificate from a CA it does not trust, naming the verification error', async () => {
    const { server, port } = await startServer({ tls: mutualTls(pki()) });
    const client = createClient(tlsUrl(port), 'im-1', {
      tls: { ca: pki().ca.cert, key: pki().untrustedIm1.key, cert: pki().untrustedIm1.cert },
      connectTimeoutMs: 3_000,
    });
    const { err, elapsed } = await refusal(client.connect());
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toMatch(/refused the client certificate: UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
    expect(server.stats().tlsFailures).toBe(1);
  });

  it('goes on serving the nodes it trusts meanwhile', async () => {
    const { server, port } = await startServer({ tls: mutualTls(pki()) });
    const url = tlsUrl(port);
    const trusted = await connectClient(url, 'im-1', { tls: { ca: pki().ca.cert, key: pki().im1.key, cert: pki().im1.cert } });
    const stranger = createClient(url, 'im-2', { tls: { ca: pki().ca.cert } });
    await expect(stranger.connect()).rejects.toBeInstanceOf(AuthError);
    expect(trusted.connected).toBe(true);
    const other = await connectClient(url, 'im-3', { tls: { ca: pki().ca.cert, key: pki().im2.key, cert: pki().im2.cert } });
    const received = collectN(other, 1);
    expect(await trusted.send({ 'im-3': ['carol'] }, 'still here')).toEqual({ delivered: ['im-3'], offline: {} });
    expect((await received)[0]).toMatchObject({ from: 'im-1', message: 'still here' });
    expect(server.stats()).toMatchObject({ nodes: 2, tlsFailures: 1 });
  });

  it('with rejectUnauthorized: false, lets in any node and leaves the judgement to the application', async () => {
    const { server, port } = await startServer({ tls: mutualTls(pki(), { rejectUnauthorized: false }) });
    const url = tlsUrl(port);
    await connectClient(url, 'im-1', { tls: { ca: pki().ca.cert } });
    await connectClient(url, 'im-2', { tls: { ca: pki().ca.cert, key: pki().untrustedIm1.key, cert: pki().untrustedIm1.cert } });
    expect(server.stats()).toMatchObject({ nodes: 2, tlsFailures: 0 });
  });
});
