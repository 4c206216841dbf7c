import { describe, expect, it } from 'vitest';
import { RelayClient, MESH_DEFAULTS } from '../../src/index.js';
import { codeOf } from '../helpers/events.js';
import { LOOPBACK, startServer, useRelayHarness } from '../helpers/harness.js';
import { meshNode } from '../helpers/mesh.js';

useRelayHarness();

const listen = `tcp://${LOOPBACK}:0`;

function refused(options: object): string | undefined {
  try {
    new RelayClient({ nodeId: 'im-1', ...options } as never);
    return undefined;
  } catch (err) {
    return `${codeOf(err)}: ${(err as Error).message}`;
  }
}

describe('mesh options', () => {
  it('fills in the documented defaults', () => {
    const node = new RelayClient({ nodeId: 'im-1', mesh: { listen } });
    const spec = node.options.transport;
    expect(spec.kind).toBe('mesh');
    if (spec.kind !== 'mesh') return;
    expect(spec.mesh).toMatchObject({
      heartbeatIntervalMs: MESH_DEFAULTS.heartbeatIntervalMs,
      presenceGraceMs: MESH_DEFAULTS.presenceGraceMs,
      deliveryTimeoutMs: MESH_DEFAULTS.deliveryTimeoutMs,
      maxOutboundBytes: MESH_DEFAULTS.maxOutboundBytes,
      maxUsersPerNode: MESH_DEFAULTS.maxUsersPerNode,
      maxPendingConnections: MESH_DEFAULTS.maxPendingConnections,
      discoveryPrefix: MESH_DEFAULTS.discoveryPrefix,
    });
    expect(node.mesh).toBeDefined();
  });

  it('refuses a mesh with a url, a redis client, client tls options or the legacy dialect', () => {
    expect(refused({ url: 'tcp://127.0.0.1:8333', mesh: { listen } })).toMatch(/^ERR_INVALID_ARGUMENT: mesh mode takes no url/);
    expect(refused({ redis: {}, mesh: { listen } })).toMatch(/^ERR_INVALID_ARGUMENT/);
    expect(refused({ tls: {}, mesh: { listen } })).toMatch(/mesh\.tls/);
    expect(refused({ nodeId: undefined, dialect: 'legacy', url: 'tcp://127.0.0.1:1', mesh: { listen } })).toMatch(/^ERR_INVALID_ARGUMENT/);
  });

  it('refuses bad listen urls, peers and bounds, naming the option', () => {
    expect(refused({ mesh: { listen: '127.0.0.1:7401' } })).toMatch(/mesh\.listen/);
    expect(refused({ mesh: { listen: 'http://127.0.0.1:7401' } })).toMatch(/mesh\.listen/);
    expect(refused({ mesh: { listen, peers: { ' bad ': 'tcp://127.0.0.1:1' } } })).toMatch(/mesh\.peers/);
    expect(refused({ mesh: { listen, peers: { 'im-2': 'tls://127.0.0.1:1' } } })).toMatch(/mesh\.peers\["im-2"\]/);
    expect(refused({ mesh: { listen, heartbeatIntervalMs: 0 } })).toMatch(/mesh\.heartbeatIntervalMs/);
    expect(refused({ mesh: { listen, maxOutboundBytes: -1 } })).toMatch(/mesh\.maxOutboundBytes/);
    expect(refused({ mesh: { listen, discovery: 'tcp://x' } })).toMatch(/mesh\.discovery/);
  });

  it('leaves its own id out of a peers map, so one map serves every node', async () => {
    const node = meshNode('im-1', { mesh: { peers: { 'im-1': 'tcp://127.0.0.1:1', 'im-2': 'tcp://127.0.0.1:2' } } });
    await node.connect();
    expect(node.mesh!.list().map((p) => p.id)).toEqual(['im-2']);
  });

  it('rejects connect() with ERR_LISTEN when the address is taken, at once', async () => {
    const { port } = await startServer();
    const node = meshNode('im-1', { mesh: { listen: `tcp://${LOOPBACK}:${port}` } });
    const started = Date.now();
    await expect(node.connect()).rejects.toMatchObject({ code: 'ERR_LISTEN' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('is undefined over a relay', async () => {
    const { url } = await startServer();
    expect(new RelayClient({ url, nodeId: 'im-1' }).mesh).toBeUndefined();
  });
});
