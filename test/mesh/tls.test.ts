import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectN } from '../helpers/collector.js';
import { withTimeout } from '../helpers/events.js';
import { LOOPBACK, useRelayHarness } from '../helpers/harness.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { meshNode, startMesh } from '../helpers/mesh.js';

useRelayHarness();

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.remove());

const listen = `tls://${LOOPBACK}:0`;

describe('mesh over TLS', () => {
  it('links three nodes with mutual TLS and delivers between them', async () => {
    const tls = { cert: pki.meshNode.cert, key: pki.meshNode.key, ca: pki.ca.cert };
    const [a, b, c] = await startMesh(['im-1', 'im-2', 'im-3'], { mesh: { listen, tls } });
    expect(a!.mesh!.address).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const atB = collectN(b!, 1);
    const atC = collectN(c!, 1);
    expect((await a!.send({ 'im-2': ['u'], 'im-3': ['v'] }, 'over tls')).delivered).toEqual(['im-2', 'im-3']);
    expect((await atB)[0]!.message).toBe('over tls');
    expect((await atC)[0]!.message).toBe('over tls');
  });

  it('never links a node whose certificate its peers do not trust', async () => {
    const a = meshNode('im-1', { mesh: { listen, tls: { cert: pki.meshNode.cert, key: pki.meshNode.key, ca: pki.ca.cert } } });
    const stranger = meshNode('im-2', {
      mesh: { listen, tls: { cert: pki.untrustedServer.cert, key: pki.untrustedServer.key, ca: pki.ca.cert } },
    });
    await Promise.all([a.connect(), stranger.connect()]);
    a.mesh!.setPeers({ 'im-2': stranger.mesh!.address! });
    stranger.mesh!.setPeers({ 'im-1': a.mesh!.address! });
    const report = await withTimeout(a.send({ 'im-2': ['u'] }, 'secret'), 5_000, 'report');
    expect(report.reasons).toEqual({ 'im-2': 'offline' });
    expect(a.mesh!.list()[0]!.linked).toBe(false);
    expect(stranger.mesh!.list()[0]!.linked).toBe(false);
  });

  it('refuses tls options without a tls:// listen url, and the other way round', () => {
    expect(() => meshNode('im-1', { mesh: { tls: { cert: pki.meshNode.cert } } })).toThrow(/tls:\/\//);
    expect(() => meshNode('im-1', { mesh: { listen } })).toThrow(/mesh\.tls/);
  });
});
