/**
 * TLS options on both ends: checked up front with ERR_INVALID_ARGUMENT,
 * never printed with their keys, and (on the relay) replaceable while
 * running, so certificates rotate without a restart.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, RelayClient, RelayServer, TlsSettings, type RelayServerOptions } from '../../src/index.js';
import { settle } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { mutualTls, serverTls, tlsUrl, usePki } from './fixtures.js';

useRelayHarness();
const pki = usePki();

function constructionError(make: () => unknown): unknown {
  try {
    make();
  } catch (err) {
    return err;
  }
  return undefined;
}

function serverError(options: RelayServerOptions): unknown {
  return constructionError(() => new RelayServer(options));
}

/** The PEM body lines of a key: none of them may show anywhere. */
function keyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
}

describe('relay TLS options', () => {
  it('are refused with ERR_INVALID_ARGUMENT when incomplete, unusable or inconsistent', () => {
    const cases: RelayServerOptions[] = [
      { tls: { cert: pki().server.cert } },
      { tls: { key: 'not a key', cert: 'not a certificate' } },
      { tlsNodeIdentity: 'require' },
      { tls: serverTls(pki()), tlsNodeIdentity: 'require' },
      { tls: mutualTls(pki(), { rejectUnauthorized: false }), tlsNodeIdentity: 'require' },
      { tls: mutualTls(pki()), tlsNodeIdentity: 'require', legacy: true },
      { tls: mutualTls(pki()), tlsNodeIdentity: 'always' as never },
    ];
    for (const options of cases) {
      const err = serverError(options);
      expect(err, inspect(options)).toBeInstanceOf(InvalidArgumentError);
    }
  });

  it('tlsNodeIdentity require turns legacy nodes off by default (they say no node id)', () => {
    const server = new RelayServer({ tls: mutualTls(pki()), tlsNodeIdentity: 'require' });
    expect(server.options.tlsNodeIdentity).toBe('require');
    expect(server.options.acceptsLegacy('127.0.0.1')).toBe(false);
    expect(
      new RelayServer({ tls: mutualTls(pki()), tlsNodeIdentity: 'require', legacy: { allow: ['127.0.0.1'] } }).options.acceptsLegacy(
        '127.0.0.1',
      ),
    ).toBe(true);
    expect(new RelayServer({ tls: serverTls(pki()) }).options.tlsNodeIdentity).toBe('none');
  });

  it('never print the key: util.inspect and JSON.stringify of the relay and its options', () => {
    const server = new RelayServer({ tls: mutualTls(pki()), port: 0 });
    const printed = [inspect(server.options, { depth: 10 }), JSON.stringify(server.options), inspect(server), String(server.options.tls)];
    for (const text of printed) {
      expect(text).not.toContain('PRIVATE KEY');
      for (const line of keyLines(pki().server.key)) expect(text).not.toContain(line);
    }
    expect(printed[0]).toContain("key: '<redacted>'");
    expect(printed[0]).toContain('requestCert: true');
    expect(server.options.tls).toBeInstanceOf(TlsSettings);
    expect(server.options.tls?.reveal().key).toBe(pki().server.key);
  });
});

describe('node TLS options', () => {
  it('a tls:// url: host, port (8333 by default), IPv6; the server name is the host when it is a name', () => {
    const transport = (url: string, tls?: object) => new RelayClient({ url, nodeId: 'n', ...(tls ? { tls } : {}) }).options.transport;
    expect(transport('tls://relay.internal')).toMatchObject({ kind: 'tcp', endpoint: { host: 'relay.internal', port: 8333 } });
    expect(transport('tls://[::1]:9000')).toMatchObject({ endpoint: { host: '::1', port: 9000 } });
    const tlsOf = (url: string, tls?: object) => {
      const spec = transport(url, tls);
      return spec.kind === 'tcp' ? spec.tls?.reveal() : undefined;
    };
    expect(tlsOf('tls://relay.internal:1')?.servername).toBe('relay.internal');
    // An IP address is no server name: the certificate must name the address.
    expect(tlsOf('tls://10.0.0.5:1')).toEqual({});
    expect(tlsOf('tls://relay.internal:1', { servername: 'relay.example' })?.servername).toBe('relay.example');
    // A tcp:// url is plain TCP.
    const plain = transport('tcp://relay.internal:1');
    expect(plain.kind === 'tcp' && plain.tls).toBeUndefined();
  });

  it('tls options with a tcp:// or redis:// url are refused, rather than sent in the clear or ignored', () => {
    for (const url of ['tcp://127.0.0.1:1', 'redis://127.0.0.1:6379']) {
      const err = constructionError(() => new RelayClient({ url, nodeId: 'n', tls: { ca: pki().ca.cert } }));
      expect(err, url).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toContain('tls://');
    }
  });

  it('never print the key', () => {
    const client = new RelayClient({
      url: 'tls://localhost:1',
      nodeId: 'n',
      tls: { ca: pki().ca.cert, key: pki().im1.key, cert: pki().im1.cert },
    });
    for (const text of [inspect(client.options, { depth: 10 }), JSON.stringify(client.options), inspect(client)]) {
      expect(text).not.toContain('PRIVATE KEY');
      for (const line of keyLines(pki().im1.key)) expect(text).not.toContain(line);
    }
    expect(inspect(client.options, { depth: 10 })).toContain("servername: 'localhost'");
  });
});

describe('rotating the relay certificate: setTlsOptions', () => {
  it('new connections get the new certificate; nodes already connected stay', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    const url = tlsUrl(port);
    const before = await connectClient(url, 'im-1', { tls: { ca: pki().ca.cert } });

    server.setTlsOptions({ key: pki().untrustedServer.key, cert: pki().untrustedServer.cert });
    expect(server.options.tls?.reveal().cert).toBe(pki().untrustedServer.cert);

    // A node that trusts only the old CA now refuses the relay; one that trusts the new one connects.
    const stale = createClient(url, 'im-2', { tls: { ca: pki().ca.cert } });
    const outcome = await settle(stale.connect());
    expect(outcome.status).toBe('rejected');
    expect((outcome as { reason: { code: string; cause: unknown } }).reason.code).toBe(ErrorCodes.CONNECT);
    await connectClient(url, 'im-3', { tls: { ca: pki().otherCa.cert } });
    expect(before.connected).toBe(true);
    expect(server.stats().nodes).toBe(2);
  });

  it('refuses unusable material, or a relay without TLS, with ERR_INVALID_ARGUMENT, and keeps serving the old certificate', async () => {
    const { server, port } = await startServer({ tls: serverTls(pki()) });
    expect(constructionError(() => server.setTlsOptions({ key: 'garbage', cert: 'garbage' }))).toBeInstanceOf(InvalidArgumentError);
    expect(server.options.tls?.reveal().cert).toBe(pki().server.cert);
    await connectClient(tlsUrl(port), 'im-1', { tls: { ca: pki().ca.cert } });

    const { server: plain } = await startServer();
    expect(constructionError(() => plain.setTlsOptions({ key: pki().server.key, cert: pki().server.cert }))).toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
