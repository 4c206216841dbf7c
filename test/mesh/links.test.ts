import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectN } from '../helpers/collector.js';
import { waitForEvent } from '../helpers/events.js';
import { LOOPBACK, freePort, useRelayHarness } from '../helpers/harness.js';
import { LinkProxy, addressesOf, endpointOf, linkedTo, meshNode, startMesh } from '../helpers/mesh.js';

useRelayHarness();

/** Established TCP connections whose accepting end is local port `port` (both ends are on this machine). */
function acceptedOn(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[1]!.endsWith(`:${hex}`) && cols[3] === '01') count++;
    }
  }
  return count;
}

describe('mesh links', () => {
  it('links three nodes from a static peers map, one link per pair, and routes between them', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const peers = {
      'im-1': `tcp://${LOOPBACK}:${ports[0]}`,
      'im-2': `tcp://${LOOPBACK}:${ports[1]}`,
      'im-3': `tcp://${LOOPBACK}:${ports[2]}`,
    };
    const nodes = ['im-1', 'im-2', 'im-3'].map((id, i) => meshNode(id, { mesh: { listen: `tcp://${LOOPBACK}:${ports[i]}`, peers } }));
    await Promise.all(nodes.map((n) => n.connect()));
    await Promise.all(
      nodes.map((n) =>
        linkedTo(
          n,
          Object.keys(peers).filter((id) => id !== n.nodeId),
        ),
      ),
    );

    // Three pairs, three connections: each accepted by one end only.
    expect(ports.map(acceptedOn).reduce((a, b) => a + b, 0)).toBe(3);
    for (const node of nodes)
      expect(node.mesh!.list().map((p) => [p.id, p.linked])).toEqual(nodes.filter((n) => n !== node).map((n) => [n.nodeId, true]));

    const [a, b, c] = nodes;
    const atB = collectN(b!, 1);
    const atC = collectN(c!, 1);
    const report = await a!.send({ 'im-2': ['bob'], 'im-3': ['carol', 'dan'] }, { text: 'hi' });
    expect(report).toEqual({ delivered: ['im-2', 'im-3'], offline: {} });
    expect((await atB).map((d) => [d.from, d.users, d.message])).toEqual([['im-1', ['bob'], { text: 'hi' }]]);
    expect((await atC).map((d) => [d.from, d.users, d.message])).toEqual([['im-1', ['carol', 'dan'], { text: 'hi' }]]);
  });

  it('ends two dials made at once with one link, the same at both ends', async () => {
    const a = meshNode('im-a');
    const b = meshNode('im-b');
    await Promise.all([a.connect(), b.connect()]);
    // im-a dials first and im-b only after a pause: a proxy holding im-a's dial
    // for as long makes both connections arrive together.
    const proxy = await new LinkProxy(endpointOf(b.mesh!.address!)).listen();
    proxy.delayMs = 500;
    const { port: bPort } = endpointOf(b.mesh!.address!);
    const { port: aPort } = endpointOf(a.mesh!.address!);
    a.mesh!.setPeers({ 'im-b': proxy.url });
    b.mesh!.setPeers({ 'im-a': a.mesh!.address! });
    await Promise.all([linkedTo(a, ['im-b']), linkedTo(b, ['im-a'])]);

    // Whichever won, after the handshakes settle exactly one connection is left.
    const settled = async (): Promise<number> => {
      for (;;) {
        const open = acceptedOn(aPort) + proxy.open;
        if (open <= 1 && acceptedOn(bPort) <= 1) return open;
        await waitForEvent(a.mesh!, 'peer:up', 1_000).catch(() => undefined);
      }
    };
    expect(await settled()).toBe(1);
    expect(a.mesh!.list()[0]!.linked).toBe(true);
    expect(b.mesh!.list()[0]!.linked).toBe(true);

    const atB = collectN(b, 1);
    const atA = collectN(a, 1);
    expect((await a.send({ 'im-b': ['u'] }, 1)).delivered).toEqual(['im-b']);
    expect((await b.send({ 'im-a': ['v'] }, 2)).delivered).toEqual(['im-a']);
    expect((await atB)[0]!.message).toBe(1);
    expect((await atA)[0]!.message).toBe(2);
  });

  it('links again after a network cut, and reports the link going and coming', async () => {
    const a = meshNode('im-1');
    const b = meshNode('im-2');
    await Promise.all([a.connect(), b.connect()]);
    const proxy = await new LinkProxy(endpointOf(b.mesh!.address!)).listen();
    a.mesh!.setPeers({ 'im-2': proxy.url });
    await linkedTo(a, ['im-2']);

    const lost = waitForEvent<[string, { code: string } | undefined]>(a.mesh!, 'peer:down', 3_000);
    proxy.cut();
    const [id, error] = await lost;
    expect(id).toBe('im-2');
    expect(error?.code).toBe('ERR_DISCONNECTED');
    await waitForEvent(a.mesh!, 'peer:up', 5_000);
    const atB = collectN(b, 1);
    expect((await a.send({ 'im-2': ['u'] }, 'after')).delivered).toEqual(['im-2']);
    expect((await atB)[0]!.message).toBe('after');
  });

  it('lists every peer with its address and the users it announced', async () => {
    const nodes = await startMesh(['n1', 'n2', 'n3']);
    // Presence travels on each link in order with what follows it: once a
    // delivery sent after it arrives, the directory has it.
    const arrived = collectN(nodes[0]!, 2);
    nodes[1]!.online(['x', 'y']);
    nodes[2]!.online(['z']);
    await nodes[1]!.send({ n1: ['probe'] }, 1);
    await nodes[2]!.send({ n1: ['probe'] }, 2);
    await arrived;
    const addresses = addressesOf(nodes);
    expect(nodes[0]!.mesh!.list()).toEqual([
      { id: 'n2', address: addresses['n2'], linked: true, users: 2 },
      { id: 'n3', address: addresses['n3'], linked: true, users: 1 },
    ]);
  });
});
