/**
 * What the TLS tests share: one throw-away PKI per test file (see
 * `test/helpers/certs.ts`), relay options built from it, and `tls://` urls.
 */
import type { TlsOptions } from 'node:tls';
import { afterAll, beforeAll } from 'vitest';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { LOOPBACK } from '../helpers/harness.js';

/** Makes the PKI before the file's tests and removes it after them; call at the top of a test file. */
export function usePki(): () => TestPki {
  let pki: TestPki | undefined;
  beforeAll(() => {
    pki = createTestPki();
  });
  afterAll(() => pki?.remove());
  return () => {
    if (pki === undefined) throw new Error('the PKI is made in beforeAll: read it inside a test');
    return pki;
  };
}

/** A relay's TLS options: the server certificate for 127.0.0.1 and localhost. */
export function serverTls(pki: TestPki, extra: TlsOptions = {}): TlsOptions {
  return { key: pki.server.key, cert: pki.server.cert, ...extra };
}

/** A relay's TLS options asking every node for a certificate from the test CA. */
export function mutualTls(pki: TestPki, extra: TlsOptions = {}): TlsOptions {
  return serverTls(pki, { ca: pki.ca.cert, requestCert: true, ...extra });
}

export function tlsUrl(port: number, host = LOOPBACK): string {
  return `tls://${host}:${port}`;
}
