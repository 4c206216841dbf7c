import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayClient } from '../../src/index.js';
import { FAST_CLIENT, track, useRelayHarness } from '../helpers/harness.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

useRelayHarness();
let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

async function node(nodeId: string): Promise<RelayClient> {
  const client = new RelayClient({ ...FAST_CLIENT, url: redis.url, nodeId, redisOptions: { prefix: `t${Math.random()}:` } });
  client.on('error', () => {});
  track(`redis node ${nodeId}`, () => client.close());
  await client.connect();
  return client;
}

describe('RelayClient over redis', () => {
  it('sends with a truthful report and delivers exactly one frame per node', async () => {
    const prefix = `p${Date.now()}:`;
    const make = async (nodeId: string): Promise<RelayClient> => {
      const c = new RelayClient({ ...FAST_CLIENT, url: redis.url, nodeId, redisOptions: { prefix } });
      c.on('error', () => {});
      track(`redis node ${nodeId}`, () => c.close());
      await c.connect();
      return c;
    };
    const a = await make('a');
    const b = await make('b');
    const report = await a.send({ b: ['u1', 18446744073709551615n], gone: ['x'] }, { hi: 1 });
    expect(report).toEqual({ delivered: ['b'], offline: { gone: ['x'] }, reasons: { gone: 'offline' } });
    const got = await b[Symbol.asyncIterator]().next();
    expect(got.value).toEqual({ from: 'a', users: ['u1', '18446744073709551615'], message: { hi: 1 } });

    b.online(['bob', 'carol']);
    a.online(['alice']);
    await expect(b.locate(['bob'])).resolves.toEqual(new Map([['bob', ['b']]]));
    const users = await a.sendToUsers(['bob', 'alice', 'nobody'], 'hey');
    expect(new Set(users.delivered)).toEqual(new Set(['a', 'b']));
    expect(users.offline).toEqual(['nobody']);
  });
});
void node;
