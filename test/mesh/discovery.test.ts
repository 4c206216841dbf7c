import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectN } from '../helpers/collector.js';
import { pollUntil, waitForEvent } from '../helpers/events.js';
import { useRelayHarness } from '../helpers/harness.js';
import { linkedTo, meshNode, type MeshNodeOptions } from '../helpers/mesh.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

useRelayHarness();

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

let prefixes = 0;
/** Each test its own registry in the one Redis. */
function discovering(prefix: string): MeshNodeOptions {
  return { mesh: { discovery: redis.url, discoveryPrefix: prefix, discoveryLivenessMs: 600 } };
}

describe('mesh discovery through Redis', () => {
  it('links nodes that only know the registry; a node joining later links to all, one leaving is dropped', async () => {
    const options = discovering(`test-${++prefixes}:`);
    const a = meshNode('im-1', options);
    const b = meshNode('im-2', options);
    await Promise.all([a.connect(), b.connect()]);
    await Promise.all([linkedTo(a, ['im-2']), linkedTo(b, ['im-1'])]);

    const c = meshNode('im-3', options);
    await c.connect();
    await Promise.all([linkedTo(a, ['im-3']), linkedTo(b, ['im-3']), linkedTo(c, ['im-1', 'im-2'])]);
    const atC = collectN(c, 1);
    expect((await a.send({ 'im-3': ['u'] }, 'hello newcomer')).delivered).toEqual(['im-3']);
    expect((await atC)[0]!.message).toBe('hello newcomer');

    const gone = waitForEvent<[string]>(a.mesh!, 'peer:down', 3_000);
    await b.close();
    expect((await gone)[0]).toBe('im-2');
    // Left the registry and the mesh: not dialed any more once a reads the registry again (its goodbye
    // can arrive first: the two come by different connections), within one refresh period (livenessMs / 3),
    // and reported offline at once. No event tells of the registry read, so it is polled, within a bound.
    await pollUntil(() => !a.mesh!.list().some((p) => p.id === 'im-2'), 600, 'im-2 gone from the mesh list of im-1');
    expect((await a.send({ 'im-2': ['u'] }, 1)).reasons).toEqual({ 'im-2': 'offline' });
  });

  it('refuses a wildcard listen address with discovery unless it advertises one', () => {
    expect(() => meshNode('im-1', { mesh: { listen: 'tcp://0.0.0.0:0', discovery: redis.url } })).toThrow(/mesh\.advertise/);
  });
});
