/**
 * `imrelay serve` with its TLS flags, as a real process: it says it speaks
 * TLS, serves nodes that present certificates from its CA, refuses one that
 * does not, logs the refusal, and exits cleanly; a missing file stops it at
 * start-up with a usage error naming the flag.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../src/index.js';
import type { KeyPair } from '../helpers/certs.js';
import { collectN } from '../helpers/collector.js';
import { connectClient, createClient, useRelayHarness } from '../helpers/harness.js';
import { tlsUrl, usePki } from './fixtures.js';
import { imrelay, useCliProcesses, waitForLine } from '../helpers/cli-process.js';

useRelayHarness();
const pki = usePki();

useCliProcesses();

describe('imrelay serve with TLS (a real process)', () => {
  it('requires client certificates from its CA, serves the nodes that have one, refuses the others', async () => {
    const relay = imrelay([
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--tls-cert',
      pki().server.certFile,
      '--tls-key',
      pki().server.keyFile,
      '--tls-ca',
      pki().ca.certFile,
      '--tls-require-client-cert',
    ]);
    const [, port] = await waitForLine(relay.output, /listening on 127\.0\.0\.1:(\d+) \(TLS\)/, relay.child);
    await waitForLine(relay.output, new RegExp(`url: 'tls://127\\.0\\.0\\.1:${port}'`), relay.child);
    const url = tlsUrl(Number(port));
    const tlsOf = (pair: KeyPair) => ({ ca: pki().ca.cert, key: pair.key, cert: pair.cert });

    const a = await connectClient(url, 'im-1', { tls: tlsOf(pki().im1) });
    const b = await connectClient(url, 'im-2', { tls: tlsOf(pki().im2) });
    const received = collectN(b, 1);
    expect(await a.send({ 'im-2': ['bob'] }, { text: 'hi' })).toEqual({ delivered: ['im-2'], offline: {} });
    expect((await received)[0]).toEqual({ from: 'im-1', users: ['bob'], message: { text: 'hi' } });

    const stranger = createClient(url, 'im-3', { tls: { ca: pki().ca.cert } });
    await expect(stranger.connect()).rejects.toBeInstanceOf(AuthError);
    await waitForLine(relay.output, /127\.0\.0\.1:\d+.*requires a client certificate/, relay.child);

    const impostor = createClient(url, 'im-4', { tls: tlsOf(pki().im1) });
    await expect(impostor.connect()).rejects.toBeInstanceOf(AuthError);
    await waitForLine(relay.output, /"im-4" is not named by its certificate/, relay.child);

    await Promise.all([a.close(), b.close()]);
    relay.child.kill('SIGTERM');
    expect(await relay.exit).toBe(0);
  });

  it('a certificate file that does not exist: exits 2 naming the flag', async () => {
    const missing = join(pki().dir, 'missing.crt');
    const relay = imrelay(['serve', '--port', '0', '--tls-cert', missing, '--tls-key', pki().server.keyFile]);
    expect(await relay.exit).toBe(2);
    expect(relay.output()).toContain(`--tls-cert: cannot read ${missing}`);
  });

  it('--tls-require-client-cert without --tls-ca: exits 2 saying so', async () => {
    const relay = imrelay([
      'serve',
      '--port',
      '0',
      '--tls-cert',
      pki().server.certFile,
      '--tls-key',
      pki().server.keyFile,
      '--tls-require-client-cert',
    ]);
    expect(await relay.exit).toBe(2);
    expect(relay.output()).toContain('--tls-require-client-cert needs --tls-ca');
  });
});
