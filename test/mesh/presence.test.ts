import { describe, expect, it } from 'vitest';
import type { RelayClient } from '../../src/index.js';
import { collectN } from '../helpers/collector.js';
import { waitForEvent } from '../helpers/events.js';
import { useRelayHarness } from '../helpers/harness.js';
import { LinkProxy, endpointOf, linkedTo, meshNode, startMesh } from '../helpers/mesh.js';

useRelayHarness();

/**
 * Resolves once `to` has applied everything `from` announced so far:
 * presence travels on a link in order with the deliveries that follow it.
 */
async function presenceReached<A, B>(from: RelayClient<A>, to: RelayClient<B>): Promise<void> {
  const arrived = collectN(to, 1);
  await from.send({ [to.nodeId]: ['presence-probe'] }, 'probe' as A);
  await arrived;
}

describe('mesh presence', () => {
  it('spreads each node’s users to every peer: locate, sendToUsers and offline across the mesh', async () => {
    const [a, b, c] = await startMesh(['im-1', 'im-2', 'im-3']);
    b!.online(['bob', 'both']);
    c!.online(['carol', 'both']);
    await presenceReached(b!, a!);
    await presenceReached(c!, a!);
    expect(await a!.locate(['bob', 'carol', 'both', 'nobody'])).toEqual(
      new Map([
        ['bob', ['im-2']],
        ['carol', ['im-3']],
        ['both', ['im-2', 'im-3']],
        ['nobody', []],
      ]),
    );

    const atB = collectN(b!, 1);
    const atC = collectN(c!, 1);
    const report = await a!.sendToUsers(['bob', 'carol', 'both', 'nobody'], { text: 'hello' });
    expect(report.delivered.sort()).toEqual(['im-2', 'im-3']);
    expect(report.offline).toEqual(['nobody']);
    expect((await atB)[0]!.users.sort()).toEqual(['bob', 'both']);
    expect((await atC)[0]!.users.sort()).toEqual(['both', 'carol']);

    b!.offline(['bob']);
    await presenceReached(b!, a!);
    expect(await a!.locate(['bob', 'both'])).toEqual(
      new Map([
        ['bob', []],
        ['both', ['im-2', 'im-3']],
      ]),
    );
  });

  it('hands a peer that links later the whole set, in parts', async () => {
    const [a, b] = await startMesh(['im-1', 'im-2']);
    const users = Array.from({ length: 5_000 }, (_, i) => `user-${i}-${'x'.repeat(40)}`);
    a!.online(users);
    await presenceReached(a!, b!);

    const late = meshNode('im-3');
    await late.connect();
    late.mesh!.setPeers({ 'im-1': a!.mesh!.address! });
    await Promise.all([linkedTo(late, ['im-1']), linkedTo(a!, ['im-3'])]);
    await presenceReached(a!, late);
    const located = await late.locate(users);
    expect([...located.values()].every((nodes) => nodes.length === 1 && nodes[0] === 'im-1')).toBe(true);
  });

  it('keeps a dropped peer’s users through the presence grace, drops them after, and has them again when it returns', async () => {
    const a = meshNode('im-1', { mesh: { presenceGraceMs: 600 } });
    const b = meshNode('im-2', { mesh: { presenceGraceMs: 600 } });
    await Promise.all([a.connect(), b.connect()]);
    const proxy = await new LinkProxy(endpointOf(b.mesh!.address!)).listen();
    a.mesh!.setPeers({ 'im-2': proxy.url });
    await Promise.all([linkedTo(a, ['im-2']), linkedTo(b, ['im-1'])]);
    b.online(['bob']);
    await presenceReached(b, a);

    // Cut, and keep the proxy refusing for a while: im-1 cannot link again.
    await proxy.close();
    await waitForEvent(a.mesh!, 'peer:down', 3_000);
    expect(await a.locate(['bob'])).toEqual(new Map([['bob', ['im-2']]]));
    const started = Date.now();
    const report = await a.sendToUsers(['bob'], 'while away');
    // Held for the grace, then reported: the node did not come back.
    expect(report.undelivered).toEqual({ 'im-2': ['bob'] });
    expect(report.reasons).toEqual({ 'im-2': 'offline' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(await a.locate(['bob'])).toEqual(new Map([['bob', []]]));

    // Back: the link comes up and the set comes with it.
    a.mesh!.setPeers({ 'im-2': b.mesh!.address! });
    await Promise.all([linkedTo(a, ['im-2']), linkedTo(b, ['im-1'])]);
    await presenceReached(b, a);
    expect(await a.locate(['bob'])).toEqual(new Map([['bob', ['im-2']]]));
  });
});
