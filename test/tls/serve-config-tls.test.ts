/**
 * `imrelay serve`'s TLS flags and their `IMRELAY_TLS_*` variables: files are
 * read at start-up, a missing one is a usage error naming its flag, and
 * flags that only make sense together are checked together.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serveConfig, UsageError } from '../../src/cli/serve-config.js';
import { usePki } from './fixtures.js';

const pki = usePki();

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    serveConfig(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('serve TLS flags', () => {
  it('--tls-cert and --tls-key: the relay speaks TLS with the files read at start-up', () => {
    const options = serveConfig(['--tls-cert', pki().server.certFile, '--tls-key', pki().server.keyFile], {});
    expect(options.tls).toEqual({ cert: pki().server.cert, key: pki().server.key });
    expect(options.tlsNodeIdentity).toBeUndefined();
  });

  it('--tls-require-client-cert with --tls-ca: nodes need a certificate naming their node id', () => {
    const options = serveConfig(
      ['--tls-cert', pki().server.certFile, '--tls-key', pki().server.keyFile, '--tls-ca', pki().ca.certFile, '--tls-require-client-cert'],
      {},
    );
    expect(options.tls).toEqual({ cert: pki().server.cert, key: pki().server.key, ca: pki().ca.cert, requestCert: true });
    expect(options.tlsNodeIdentity).toBe('require');
  });

  it('the same from IMRELAY_TLS_* variables; flags win', () => {
    const env = {
      IMRELAY_TLS_CERT: pki().server.certFile,
      IMRELAY_TLS_KEY: pki().server.keyFile,
      IMRELAY_TLS_CA: pki().ca.certFile,
      IMRELAY_TLS_REQUIRE_CLIENT_CERT: 'on',
    };
    const options = serveConfig([], env);
    expect(options.tls).toMatchObject({ cert: pki().server.cert, key: pki().server.key, ca: pki().ca.cert, requestCert: true });
    expect(options.tlsNodeIdentity).toBe('require');

    expect(serveConfig(['--tls-cert', pki().untrustedServer.certFile], env).tls?.cert).toBe(pki().untrustedServer.cert);
    const off = serveConfig([], { ...env, IMRELAY_TLS_REQUIRE_CLIENT_CERT: 'off' });
    expect(off.tls?.requestCert).toBeUndefined();
    expect(off.tlsNodeIdentity).toBeUndefined();
  });

  it('a file that cannot be read is a usage error naming the flag', () => {
    const missing = join(pki().dir, 'nope.pem');
    expect(usageError(['--tls-cert', missing, '--tls-key', pki().server.keyFile])).toMatch(/^--tls-cert: cannot read .*nope\.pem/);
    expect(usageError(['--tls-cert', pki().server.certFile], { IMRELAY_TLS_KEY: missing })).toMatch(/^--tls-key: cannot read/);
    expect(usageError(['--tls-cert', pki().server.certFile, '--tls-key', pki().server.keyFile, '--tls-ca', missing])).toMatch(
      /^--tls-ca: cannot read/,
    );
  });

  it('flags that need each other', () => {
    expect(usageError(['--tls-cert', pki().server.certFile])).toContain('--tls-key');
    expect(usageError(['--tls-key', pki().server.keyFile])).toContain('--tls-cert');
    expect(usageError(['--tls-ca', pki().ca.certFile])).toContain('--tls-cert');
    expect(usageError(['--tls-cert', pki().server.certFile, '--tls-key', pki().server.keyFile, '--tls-require-client-cert'])).toContain(
      'needs --tls-ca',
    );
    expect(
      usageError([], {
        IMRELAY_TLS_CERT: pki().server.certFile,
        IMRELAY_TLS_KEY: pki().server.keyFile,
        IMRELAY_TLS_REQUIRE_CLIENT_CERT: 'maybe',
      }),
    ).toContain("must be 'on' or 'off'");
    // A switch takes no value on the command line.
    expect(usageError(['--tls-require-client-cert=yes'])).toBeTruthy();
  });

  it('without TLS flags, no TLS', () => {
    expect(serveConfig(['--port', '0'], {}).tls).toBeUndefined();
  });
});
