/**
 * One contract for every PresenceStore in Redis (sets mode on
 * a single server and on a three-master Redis Cluster, legacy-hash mode on a
 * single server). The servers are real redis-server processes, started once
 * for the file.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceStore } from '../../src/presence/presence-store.js';
import { RedisPresenceStore, type RedisPresenceOptions } from '../../src/transport/redis/presence-store.js';
import { track, useRelayHarness } from '../helpers/harness.js';
import { startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from '../helpers/redis.js';

useRelayHarness();

const LIVENESS_MS = 300;
/** How late past the liveness bound a dead node may still be reported (timers, a busy machine). */
const SLACK_MS = 500;

// Node ids shaped like Go connector ids, so the legacy mode sees what it will see in production.
const A = '10.0.0.1:7001';
const B = '10.0.0.2:7002';
const GO_NODE = '10.0.0.9:5555';
const LEGACY_HASH = 'link:chat:online';

let server: RedisProcess | undefined;
let cluster: RedisClusterProcess | undefined;
let redis: Redis | undefined;
let clusterClient: Cluster | undefined;

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  redis = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  clusterClient = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  // Resolves once the cluster client has the slot map, so nodes('master') is complete.
  await Promise.all([redis.ping(), clusterClient.set('warm-up', '1')]);
}, 20_000);

afterAll(async () => {
  redis?.disconnect();
  clusterClient?.disconnect();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

interface Backend {
  name: string;
  /** A user may be online on several nodes at once (not in the legacy hash: one value per user). */
  multiDevice: boolean;
  legacy: boolean;
  /** A fresh store over an empty backend. */
  create(livenessMs?: number): PresenceStore;
  flush(): Promise<void>;
  /** The Redis client under the store. */
  client(): Redis | Cluster;
}

function redisBackend(name: string, client: () => Redis | Cluster, options: RedisPresenceOptions): Backend {
  const legacy = options.mode === 'legacy-hash';
  return {
    name,
    multiDevice: !legacy,
    legacy,
    create: (livenessMs) => new RedisPresenceStore(client(), { ...options, ...(livenessMs ? { livenessMs } : {}) }),
    async flush() {
      const c = client();
      if (c instanceof Cluster) await Promise.all(c.nodes('master').map((node) => node.flushall()));
      else await c.flushall();
    },
    client,
  };
}

const backends: Backend[] = [
  redisBackend('RedisPresenceStore sets, single server', () => redis!, { mode: 'sets' }),
  redisBackend('RedisPresenceStore sets, 3-master cluster', () => clusterClient!, { mode: 'sets' }),
  redisBackend('RedisPresenceStore legacy-hash, single server', () => redis!, { mode: 'legacy-hash' }),
];

type Where = Record<string, string[]>;

/** `locate` as a plain object, each user's nodes sorted. */
async function where(store: PresenceStore, users: readonly string[]): Promise<Where> {
  const map = await store.locate(users);
  return Object.fromEntries([...map].map(([user, nodes]) => [user, [...nodes].sort()]));
}

/** Polls `check` until it holds; returns when it did, or throws with `describe()` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string>): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Heartbeats `node` every `livenessMs / 4` until the test ends. */
function keepAlive(store: PresenceStore, node: string, livenessMs: number): void {
  let beat: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    beat = store.heartbeat(node);
  }, livenessMs / 4);
  track(`keepAlive(${node})`, async () => {
    clearInterval(timer);
    await beat;
  });
}

describe.each(backends)('PresenceStore contract: $name', (backend) => {
  beforeEach(() => backend.flush());

  it('locates a user online nowhere nowhere, and answers an empty question with an empty map', async () => {
    const store = backend.create();
    expect(await where(store, ['nobody'])).toEqual({ nobody: [] });
    expect((await store.locate([])).size).toBe(0);
  });

  it('locates users on the nodes that put them online', async () => {
    const store = backend.create();
    await store.online(A, ['1', '2']);
    await store.online(B, ['3']);
    expect(await where(store, ['1', '2', '3', '4'])).toEqual({ '1': [A], '2': [A], '3': [B], '4': [] });
  });

  it('answers once per user when a user is asked for twice', async () => {
    const store = backend.create();
    await store.online(A, ['1']);
    const map = await store.locate(['1', '1', '2']);
    expect([...map.keys()].sort()).toEqual(['1', '2']);
    expect(map.get('1')).toEqual([A]);
  });

  it('online is idempotent', async () => {
    const store = backend.create();
    await store.online(A, ['1']);
    await store.online(A, ['1', '1']);
    expect(await where(store, ['1'])).toEqual({ '1': [A] });
    await store.offline(A, ['1']);
    expect(await where(store, ['1'])).toEqual({ '1': [] });
  });

  it('offline removes the given users from that node only', async () => {
    const store = backend.create();
    await store.online(A, ['1', '2']);
    await store.online(B, ['3']);
    await store.offline(A, ['1', '3', 'never-seen']);
    expect(await where(store, ['1', '2', '3'])).toEqual({ '1': [], '2': [A], '3': [B] });
    await store.offline(A, []);
    expect(await where(store, ['2'])).toEqual({ '2': [A] });
  });

  it('reset makes the node hold exactly the given users', async () => {
    const store = backend.create();
    await store.online(A, ['1', '2', '3']);
    await store.online(B, ['9']);
    await store.reset(A, ['2', '3', '4', '4']);
    expect(await where(store, ['1', '2', '3', '4', '9'])).toEqual({ '1': [], '2': [A], '3': [A], '4': [A], '9': [B] });
    await store.reset(A, []);
    expect(await where(store, ['1', '2', '3', '4', '9'])).toEqual({ '1': [], '2': [], '3': [], '4': [], '9': [B] });
  });

  it('a locate running during resets always finds the users kept by every reset', async () => {
    const store = backend.create();
    const kept = ['k1', 'k2', 'k3'];
    const churn = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await store.online(A, [...kept, ...churn]);
    let resetting = true;
    const resets = (async () => {
      for (let round = 0; round < 15; round++) {
        await store.reset(A, [...kept, ...churn.filter((_, i) => (i + round) % 3 !== 0)]);
      }
      resetting = false;
    })();
    // Collect rather than throw, so that a failure never leaves resets running into the next test.
    const seen: string[] = [];
    let looks = 0;
    while (resetting) {
      seen.push(JSON.stringify(await where(store, kept)));
      looks++;
    }
    await resets;
    expect(looks).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([JSON.stringify({ k1: [A], k2: [A], k3: [A] })]));
  });

  it('leave forgets every user of the node, and nothing else', async () => {
    const store = backend.create();
    await store.online(A, ['1', '2']);
    await store.online(B, ['3']);
    await store.leave(A);
    expect(await where(store, ['1', '2', '3'])).toEqual({ '1': [], '2': [], '3': [B] });
    // The node may come back afterwards like any new node.
    await store.online(A, ['1']);
    expect(await where(store, ['1'])).toEqual({ '1': [A] });
  });

  it('locates many users at once', async () => {
    const store = backend.create();
    const onA = Array.from({ length: 300 }, (_, i) => `a${i}`);
    const onB = Array.from({ length: 300 }, (_, i) => `b${i}`);
    await Promise.all([store.online(A, onA), store.online(B, onB)]);
    const map = await store.locate([...onA, ...onB, 'nobody']);
    expect(map.size).toBe(601);
    for (const user of onA) expect(map.get(user)).toEqual([A]);
    for (const user of onB) expect(map.get(user)).toEqual([B]);
    expect(map.get('nobody')).toEqual([]);
  });

  it('a node that stops heartbeating drops out within the liveness bound; one that heartbeats stays', async () => {
    const store = backend.create(LIVENESS_MS);
    const users = backend.multiDevice ? ['1', '2', 'both'] : ['1', '2'];
    await store.online(B, backend.multiDevice ? ['2', 'both'] : ['2']);
    keepAlive(store, B, LIVENESS_MS);
    const lastSeenA = Date.now();
    await store.online(A, backend.multiDevice ? ['1', 'both'] : ['1']);
    const alive = backend.multiDevice ? { '1': [A], '2': [B], both: [A, B].sort() } : { '1': [A], '2': [B] };
    const dead = backend.multiDevice ? { '1': [], '2': [B], both: [B] } : { '1': [], '2': [B] };
    expect(await where(store, users)).toEqual(alive);

    const gone = await until(
      async () => JSON.stringify(await where(store, users)) === JSON.stringify(dead),
      LIVENESS_MS + SLACK_MS + 1_000,
      async () => JSON.stringify(await where(store, users)),
    );
    expect(gone - lastSeenA).toBeLessThanOrEqual(LIVENESS_MS + SLACK_MS);
    // B, kept alive by its heartbeats, stays all along, well past its own first bound.
    await until(
      async () => {
        expect(await where(store, users)).toEqual(dead);
        return Date.now() - lastSeenA > 2 * LIVENESS_MS;
      },
      5_000,
      async () => JSON.stringify(await where(store, users)),
    );
  });

  it('a node presumed dead gets its users back when it heartbeats again', async () => {
    const store = backend.create(LIVENESS_MS);
    await store.online(A, ['1', '2']);
    await until(
      async () => JSON.stringify(await where(store, ['1'])) === JSON.stringify({ '1': [] }),
      LIVENESS_MS + SLACK_MS + 1_000,
      async () => JSON.stringify(await where(store, ['1'])),
    );
    await store.heartbeat(A);
    expect(await where(store, ['1', '2'])).toEqual({ '1': [A], '2': [A] });
  });

  if (backend.multiDevice) {
    it('a user online on several nodes is located on each, and leaves them one by one', async () => {
      const store = backend.create();
      await store.online(A, ['1']);
      await store.online(B, ['1']);
      expect(await where(store, ['1'])).toEqual({ '1': [A, B].sort() });
      await store.offline(A, ['1']);
      expect(await where(store, ['1'])).toEqual({ '1': [B] });
      await store.online(A, ['1']);
      await store.reset(A, []);
      expect(await where(store, ['1'])).toEqual({ '1': [B] });
      await store.online(A, ['1']);
      await store.leave(B);
      expect(await where(store, ['1'])).toEqual({ '1': [A] });
    });
  }

  if (backend.legacy) {
    it('a user on two nodes is on the last writer; the earlier node going offline leaves it there', async () => {
      const store = backend.create();
      await store.online(A, ['1']);
      await store.online(B, ['1']);
      expect(await where(store, ['1'])).toEqual({ '1': [B] });
      await store.offline(A, ['1']);
      await store.reset(A, []);
      await store.leave(A);
      expect(await where(store, ['1'])).toEqual({ '1': [B] });
      await store.offline(B, ['1']);
      expect(await where(store, ['1'])).toEqual({ '1': [] });
    });

    it("writes the Go servers' hash: field = user id, value = connector id", async () => {
      const store = backend.create();
      await store.online(A, ['7', '8']);
      expect(await backend.client().hgetall(LEGACY_HASH)).toEqual({ '7': A, '8': A });
      await store.offline(A, ['8']);
      expect(await backend.client().hgetall(LEGACY_HASH)).toEqual({ '7': A });
    });

    it("locates a Go node's users, trusts them without heartbeats, and never removes them", async () => {
      const store = backend.create(LIVENESS_MS);
      await backend.client().hset(LEGACY_HASH, '42', GO_NODE);
      expect(await where(store, ['42'])).toEqual({ '42': [GO_NODE] });

      // Another node's offline, reset and leave name user 42 but do not own its entry.
      await store.online(A, ['7']);
      await store.offline(A, ['42']);
      await store.reset(A, ['7']);
      expect(await where(store, ['42', '7'])).toEqual({ '42': [GO_NODE], '7': [A] });

      // A, which never heartbeats, drops out; the Go node, which never heartbeats either, does not.
      await until(
        async () => JSON.stringify(await where(store, ['7'])) === JSON.stringify({ '7': [] }),
        LIVENESS_MS + SLACK_MS + 1_000,
        async () => JSON.stringify(await where(store, ['7'])),
      );
      expect(await where(store, ['42'])).toEqual({ '42': [GO_NODE] });
      await store.leave(A);
      expect(await backend.client().hget(LEGACY_HASH, '42')).toBe(GO_NODE);
    });

    it('trusts hash values that could never be an imrelay node id', async () => {
      const store = backend.create();
      await backend.client().hset(LEGACY_HASH, '1', '', '2', '}odd');
      expect(await where(store, ['1', '2'])).toEqual({ '1': [''], '2': ['}odd'] });
    });

    it('a user who moved to a Go node is not taken back by the imrelay node that had them', async () => {
      const store = backend.create();
      await store.online(A, ['5']);
      await backend.client().hset(LEGACY_HASH, '5', GO_NODE);
      await store.offline(A, ['5']);
      expect(await where(store, ['5'])).toEqual({ '5': [GO_NODE] });
    });
  }
});

describe('RedisPresenceStore on a Redis Cluster', () => {
  beforeEach(async () => {
    await Promise.all(clusterClient!.nodes('master').map((node) => node.flushall()));
  });

  it("spreads users' keys over the shards, and keeps each node's keys in one slot", async () => {
    const store = new RedisPresenceStore(clusterClient!, { prefix: 'imrelay:' });
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    await store.online(A, users);
    const masters = clusterClient!.nodes('master');
    const sizes = await Promise.all(masters.map((node) => node.dbsize()));
    expect(sizes.filter((n) => n > 0).length).toBe(3);
    const [nodeSlot, aliveSlot, knownSlot] = await Promise.all(
      [`imrelay:node:{${A}}`, `imrelay:alive:{${A}}`, `imrelay:known:{${A}}`].map((key) => clusterClient!.cluster('KEYSLOT', key)),
    );
    expect(aliveSlot).toBe(nodeSlot);
    expect(knownSlot).toBe(nodeSlot);
    expect(await clusterClient!.smembers(`imrelay:node:{${A}}`)).toHaveLength(60);
    // A node's own set does not outlive it forever (forgetAfterMs), the alive mark lasts livenessMs.
    expect(await clusterClient!.pttl(`imrelay:node:{${A}}`)).toBeGreaterThan(15_000);
    expect(await clusterClient!.pttl(`imrelay:alive:{${A}}`)).toBeLessThanOrEqual(15_000);
    expect(await clusterClient!.smembers('imrelay:user:{u1}')).toEqual([A]);
  });
});

describe('RedisPresenceStore options', () => {
  const unused = {} as Redis;

  it('refuses a prefix with braces, which would move the hash tags', () => {
    expect(() => new RedisPresenceStore(unused, { prefix: '{im}:' })).toThrow(/braces/);
  });

  it('refuses a non-positive liveness and an unknown mode', () => {
    expect(() => new RedisPresenceStore(unused, { livenessMs: 0 })).toThrow(/livenessMs/);
    expect(() => new RedisPresenceStore(unused, { mode: 'hash' as 'sets' })).toThrow(/mode/);
  });

  it('refuses node ids that would give an empty hash tag', async () => {
    const store = new RedisPresenceStore(redis!);
    await expect(store.online('', ['1'])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(store.heartbeat('}x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
