import { describe, expect, it } from 'vitest';
import { collectN } from '../helpers/collector.js';
import { waitForEvent } from '../helpers/events.js';
import { useRelayHarness } from '../helpers/harness.js';
import { startMesh } from '../helpers/mesh.js';
import { promtoolCheck, sample } from '../metrics/exposition-text.js';

useRelayHarness();

describe('mesh metrics', () => {
  it('adds the mesh series to client.metrics(): peers and their links, the directory, deliveries; promtool accepts it', async () => {
    const [a, b, c] = await startMesh(['im-1', 'im-2', 'im-3']);
    const arrived = collectN(a!, 1);
    b!.online(['bob', 'bea']);
    await b!.send({ 'im-1': ['x'] }, 'presence is ahead of this');
    await arrived;
    const down = waitForEvent(a!.mesh!, 'peer:down', 3_000);
    await c!.close();
    await down;

    const text = a!.metrics();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    expect(sample(text, 'imrelay_mesh_peers', { node: 'im-1', state: 'linked' })).toBe(1);
    expect(sample(text, 'imrelay_mesh_peer_linked', { node: 'im-1', peer: 'im-2' })).toBe(1);
    expect(sample(text, 'imrelay_mesh_peer_users', { node: 'im-1', peer: 'im-2' })).toBe(2);
    expect(sample(text, 'imrelay_mesh_directory_users', { node: 'im-1' })).toBe(2);
    expect(sample(text, 'imrelay_mesh_links_up_total', { node: 'im-1' })).toBe(2);
    expect(sample(text, 'imrelay_mesh_links_down_total', { node: 'im-1' })).toBe(1);
    expect(sample(text, 'imrelay_mesh_deliveries_total', { node: 'im-1' })).toBeGreaterThanOrEqual(1);
    // The client's own series are there too.
    expect(sample(text, 'imrelay_client_connected', { node: 'im-1' })).toBe(1);
  });
});
