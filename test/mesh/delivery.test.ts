import { describe, expect, it } from 'vitest';
import type { Delivery, RelayClient } from '../../src/index.js';
import { collectN } from '../helpers/collector.js';
import { waitForEvent, withTimeout } from '../helpers/events.js';
import { LOOPBACK, freePort, useRelayHarness } from '../helpers/harness.js';
import { LinkProxy, endpointOf, linkedTo, meshNode, startMesh } from '../helpers/mesh.js';

useRelayHarness();

/** Reads `node`'s deliveries into an array as the application takes them. */
function drain<M>(node: RelayClient<M>): Array<Delivery<M>> {
  const got: Array<Delivery<M>> = [];
  void (async () => {
    for await (const d of node) got.push(d);
  })();
  return got;
}

describe('mesh delivery', () => {
  it('reports each host truthfully: linked, itself, unknown, known but down, and too small a frame limit', async () => {
    const down = await freePort();
    const [a, b, small] = await startMesh(['im-1', 'im-2', 'im-small'], { mesh: { presenceGraceMs: 300 } });
    // A peer whose frame limit is smaller than the message: never written to, reported refused.
    await small!.close();
    const tiny = meshNode('im-small', { maxFrameBytes: 2048 });
    await tiny.connect();
    a!.mesh!.setPeers({ 'im-2': b!.mesh!.address!, 'im-small': tiny.mesh!.address!, 'im-down': `tcp://${LOOPBACK}:${down}` });
    await linkedTo(a!, ['im-2', 'im-small']);

    const atB = collectN(b!, 1);
    const atSelf = collectN(a!, 1);
    const big = 'x'.repeat(4096);
    const started = Date.now();
    const report = await a!.send(
      { 'im-2': ['b1'], 'im-1': ['me'], 'im-small': ['s1'], 'im-nobody': ['n1'], 'im-down': ['d1', 'd2'] },
      { big },
    );
    expect(report.delivered.sort()).toEqual(['im-1', 'im-2']);
    expect(report.offline).toEqual({ 'im-small': ['s1'], 'im-nobody': ['n1'], 'im-down': ['d1', 'd2'] });
    expect(report.reasons).toEqual({ 'im-small': 'refused', 'im-nobody': 'offline', 'im-down': 'offline' });
    // A peer of the map that never linked is waited for through its grace, no longer.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await atB)[0]!.users).toEqual(['b1']);
    expect((await atSelf)[0]!.users).toEqual(['me']);
  });

  it('delivers every send exactly once and in order across link cuts, and reports each delivered', async () => {
    const a = meshNode<number>('im-1');
    const b = meshNode<number>('im-2');
    await Promise.all([a.connect(), b.connect()]);
    const proxy = await new LinkProxy(endpointOf(b.mesh!.address!)).listen();
    a.mesh!.setPeers({ 'im-2': proxy.url });
    await linkedTo(a, ['im-2']);
    const got = drain(b);

    const total = 3_000;
    const sends: Array<Promise<unknown>> = [];
    let cuts = 0;
    for (let i = 0; i < total; i++) {
      sends.push(a.send({ 'im-2': ['u'] }, i));
      if (i % 1_000 === 500) {
        // Cut while deliveries are in flight, then keep sending: they wait for the link.
        await new Promise((resolve) => setImmediate(resolve));
        proxy.cut();
        cuts++;
        await waitForEvent(a.mesh!, 'peer:up', 5_000);
      }
    }
    const reports = (await withTimeout(Promise.all(sends), 20_000, 'reports')) as Array<{ delivered: string[] }>;
    expect(cuts).toBe(3);
    expect(reports.every((r) => r.delivered.length === 1 && r.delivered[0] === 'im-2')).toBe(true);
    // Every report is true: the application here took each message, once, in order.
    expect(got.map((d) => d.message)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('reports overflow, within the bound, for what a lagging application does not take; never hands it over later', async () => {
    const [a, b, c] = await startMesh<number>(['im-1', 'im-2', 'im-3'], { deliveryHighWaterMark: 8, mesh: { deliveryTimeoutMs: 300 } });
    const atC = drain(c!);
    // im-2's application takes nothing for now.
    const started = Date.now();
    const lagging = Array.from({ length: 40 }, (_, i) => a!.send({ 'im-2': ['u'] }, i));
    // Meanwhile im-1 keeps working with everyone else, and im-2's own sends are answered.
    expect((await a!.send({ 'im-3': ['c'] }, 1000)).delivered).toEqual(['im-3']);
    expect((await b!.send({ 'im-3': ['c'] }, 2000)).delivered).toEqual(['im-3']);
    const reports = await Promise.all(lagging);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(reports.every((r) => r.reasons?.['im-2'] === 'overflow')).toBe(true);
    expect(atC.map((d) => d.message)).toEqual([1000, 2000]);

    // What was reported overflow is never seen; what comes next is.
    const next = collectN(b!, 1);
    const fresh = a!.send({ 'im-2': ['u'] }, 99);
    expect((await next).map((d) => d.message)).toEqual([99]);
    expect((await fresh).delivered).toEqual(['im-2']);
  });

  it('reports overflow for a peer whose buffer is full (maxOutboundBytes) without waiting for the delivery bound, and delivers the rest', async () => {
    const [a, b] = await startMesh<string>(['im-1', 'im-2'], {
      deliveryHighWaterMark: 4,
      mesh: { maxOutboundBytes: 16 * 1024, deliveryTimeoutMs: 5_000 },
    });
    // 40 sends of 2 KB in one go: 4 fit im-2's window, 4 more im-1 may write, a few wait in im-1's
    // 16 KiB buffer, and the rest find it full: overflow, decided as they are routed.
    const body = 'x'.repeat(2_000);
    const started = Date.now();
    const sends = Array.from({ length: 40 }, (_, i) => a!.send({ 'im-2': ['u'] }, `${i}:${body}`));
    // The application reads; answers come in send order as it takes what it was sent.
    const got: number[] = [];
    const reading = (async () => {
      for await (const d of b!) {
        if (d.message === 'after') break;
        got.push(Number(d.message.split(':')[0]));
      }
    })();
    const reports = await Promise.all(sends);
    // All answered well before the 5 s delivery bound: the overflow did not come from waiting.
    expect(Date.now() - started).toBeLessThan(3_000);
    const kept = reports.flatMap((r, i) => (r.reasons?.['im-2'] === 'overflow' ? [] : [i]));
    expect(kept.length).toBeGreaterThanOrEqual(8);
    expect(kept.length).toBeLessThan(40);
    expect(reports.every((r) => r.delivered.includes('im-2') || r.reasons?.['im-2'] === 'overflow')).toBe(true);
    expect(a!.mesh!.stats()!.overflows).toBe(40 - kept.length);
    expect((await a!.send({ 'im-2': ['u'] }, 'after')).delivered).toEqual(['im-2']);
    await reading;
    // What was reported delivered arrived, in order; nothing reported overflow did.
    expect(got).toEqual(kept);
  });

  it('reports what waited for a peer offline at once when it leaves, and drops its users', async () => {
    const [a, b] = await startMesh(['im-1', 'im-2'], { mesh: { presenceGraceMs: 3_000 } });
    const probe = collectN(a!, 1);
    b!.online(['bob']);
    await b!.send({ 'im-1': ['x'] }, 'presence is ahead of this');
    await probe;
    expect(await a!.locate(['bob'])).toEqual(new Map([['bob', ['im-2']]]));

    const gone = waitForEvent(a!.mesh!, 'peer:down', 3_000);
    await b!.close();
    await gone;
    const started = Date.now();
    expect((await a!.send({ 'im-2': ['bob'] }, 1)).reasons).toEqual({ 'im-2': 'offline' });
    // Not held for the (long) grace: a node that says goodbye is not expected back.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await a!.locate(['bob'])).toEqual(new Map([['bob', []]]));
  });
});
