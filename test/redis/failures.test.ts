/**
 * The Redis transport when things break: redis-server killed with SIGKILL
 * and restarted mid-stream (clients reconnect, resubscribe, announce their
 * users again; sends made during the outage go out exactly once; sends in
 * flight settle), a subscriber that stops reading (Redis cuts it off at its
 * output-buffer limit), a node process killed without a goodbye (its channel
 * has no subscriber; its users expire from presence within livenessMs), a
 * clean close (its users leave presence at once), and close() while still
 * connecting (nothing left behind).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ErrorCodes, RelayClient, RelayError, type SendReport } from '../../src/index.js';
import { barrier, collect, type DeliveryCollector } from '../helpers/collector.js';
import { EventLog, codeOf, settle, waitForEvent, withTimeout, type Settled } from '../helpers/events.js';
import { FAST_CLIENT, createClient, track, useRelayHarness } from '../helpers/harness.js';
import { redisCommand, startRedis, type RedisProcess } from '../helpers/redis.js';

useRelayHarness();

const LIVENESS_MS = 300;

let prefixes = 0;
const newPrefix = (): string => `f${process.pid}-${++prefixes}:`;

async function redisServer(): Promise<RedisProcess> {
  const redis = await startRedis();
  track(`redis-server ${redis.port}`, () => redis.stop());
  return redis;
}

/** Long enough to ride out a restart; reconnect quickly. */
const RIDE_OUT = {
  writeRetry: { attempts: 100, intervalMs: 100 },
  reconnect: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
};

const RECEIVERS = ['r1', 'r2', 'r3'];
const usersOf = (node: string): string[] => [`${node}-alice`, `${node}-bob`];
const everyone = (): Record<string, string[]> => Object.fromEntries(RECEIVERS.map((r) => [r, [`u-${r}`]]));

/** Polls an async condition until true; throws after `timeoutMs`. */
async function pollAsync(condition: () => Promise<boolean>, timeoutMs: number, label: string, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${label} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * A sender sending to every receiver every couple of milliseconds, each send
 * tagged `s<n>`, until stopped. Remembers which sends were made while the
 * client was disconnected.
 */
class Stream {
  readonly sends: Array<Promise<Settled<SendReport>>> = [];
  readonly madeWhileDown = new Set<number>();
  resolved = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly sender: RelayClient) {
    this.timer = setInterval(() => this.tick(), 2);
  }

  private tick(): void {
    const n = this.sends.length;
    if (!this.sender.connected) this.madeWhileDown.add(n);
    this.sends.push(
      settle(this.sender.send(everyone(), `s${n}`)).then((o) => {
        this.resolved++;
        this.notify();
        return o;
      }),
    );
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  until(predicate: () => boolean, timeoutMs: number, label: string): Promise<void> {
    return withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!predicate()) return;
          this.listeners.delete(check);
          resolve();
        };
        this.listeners.add(check);
        check();
      }),
      timeoutMs,
      label,
    );
  }

  async stop(): Promise<Array<Settled<SendReport>>> {
    clearInterval(this.timer);
    return withTimeout(Promise.all(this.sends), 8_000, 'every send of the stream');
  }
}

/**
 * Every send's outcome against what each receiver got: reported delivered to
 * a host, it arrived there exactly once; reported offline there, it did not
 * arrive; outcome unknown (ERR_CONNECTION_LOST), at most once. Per receiver
 * the sending order is kept.
 */
function reconcile(outcomes: Array<Settled<SendReport>>, inboxes: Record<string, DeliveryCollector>): void {
  for (const host of RECEIVERS) {
    const got = inboxes[host]!.messages;
    const must: unknown[] = [];
    const may = new Set<unknown>();
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') {
        if (o.value.delivered.includes(host)) must.push(`s${i}`);
        else expect(o.value.offline[host], `s${i} at ${host}`).toEqual([`u-${host}`]);
      } else {
        expect(codeOf(o.reason), `s${i}`).toBe(ErrorCodes.CONNECTION_LOST);
        may.add(`s${i}`);
      }
    });
    expect(new Set(got).size, `${host}: duplicates`).toBe(got.length);
    expect(
      got.filter((m) => !may.has(m)),
      host,
    ).toEqual(must);
    const positions = got.map((m) => Number(String(m).slice(1)));
    expect(
      positions.every((p) => p >= 0 && p < outcomes.length),
      `${host}: only sent messages`,
    ).toBe(true);
    expect(positions, `${host}: order`).toEqual([...positions].sort((a, b) => a - b));
  }
}

describe('redis-server killed (SIGKILL) and restarted mid-stream', () => {
  it('clients reconnect, resubscribe and announce their users again; outage sends go out exactly once; in-flight sends settle; nothing is lost silently', async () => {
    const redis = await redisServer();
    const prefix = newPrefix();
    const options = { redisOptions: { prefix, livenessMs: 3_000 } };
    // The sender retries quickly while Redis is down, but its attempt after the restart comes
    // well after the receivers': they are subscribed again by the time it writes its backlog.
    // (Waiting sends make it try at least once per write-retry interval: 600 ms here.)
    let senderDelayMs = 20;
    const s = createClient(redis.url, 'sender', {
      ...RIDE_OUT,
      writeRetry: { attempts: 100, intervalMs: 600 },
      retryStrategy: () => senderDelayMs,
      ...options,
    });
    await s.connect();
    const receivers: RelayClient[] = [];
    const inboxes: Record<string, DeliveryCollector> = {};
    for (const id of RECEIVERS) {
      const client = createClient(redis.url, id, { ...RIDE_OUT, ...options });
      await client.connect();
      client.online(usersOf(id));
      await client.locate(usersOf(id));
      receivers.push(client);
      inboxes[id] = collect(client);
    }
    const all = [s, ...receivers];
    const logs = all.map((c) => ({
      disconnect: new EventLog<[RelayError | undefined]>(c, 'disconnect'),
      reconnecting: new EventLog<[{ attempt: number; delayMs: number }]>(c, 'reconnecting'),
      connect: new EventLog(c, 'connect'),
    }));
    const allUsers = RECEIVERS.flatMap(usersOf);
    expect(Object.values(Object.fromEntries(await s.locate(allUsers))).every((nodes) => nodes.length === 1)).toBe(true);

    const stream = new Stream(s);
    await stream.until(() => stream.resolved >= 100, 5_000, '100 sends settled before the kill');
    const down = Promise.all(all.map((c) => waitForEvent(c, 'disconnect', 3_000)));
    await redis.kill();
    await down;
    const sentAtDisconnect = stream.sends.length;
    await stream.until(() => stream.sends.length >= sentAtDisconnect + 50, 5_000, '50 sends during the outage');
    senderDelayMs = 600;
    await waitForEvent(s, 'reconnecting', 3_000, (info: { delayMs: number }) => info.delayMs >= 500);
    const up = Promise.all(all.map((c) => waitForEvent(c, 'connect', 8_000)));
    await redis.restart();
    await up;
    const sentAtReconnect = stream.sends.length;
    await stream.until(() => stream.sends.length >= sentAtReconnect + 100, 5_000, '100 sends after the restart');
    const outcomes = await stream.stop();

    // Every client saw the outage: one disconnect (a RelayError), attempts while down, one connect back.
    for (const [i, log] of logs.entries()) {
      expect(log.disconnect.count, `client ${i} disconnects`).toBe(1);
      expect(log.disconnect.firsts[0]).toBeInstanceOf(RelayError);
      expect(log.reconnecting.count, `client ${i} reconnect attempts`).toBeGreaterThanOrEqual(1);
      expect(log.reconnecting.firsts.map((r) => r.attempt)).toEqual(log.reconnecting.firsts.map((_, k) => k + 1));
      expect(log.connect.count, `client ${i} connects`).toBe(1);
    }

    // Sends made during the outage waited for the connection: written once, each with a report.
    expect(stream.madeWhileDown.size).toBeGreaterThanOrEqual(50);
    for (const n of stream.madeWhileDown) {
      const o = outcomes[n]!;
      expect(o.status, `s${n}, made while down`).toBe('fulfilled');
      // The receivers were back first: each of them took it.
      expect((o as { value: SendReport }).value, `s${n}`).toEqual({ delivered: RECEIVERS, offline: {} });
    }
    // In flight at the kill: kept, published again after the restart, and answered by that publish;
    // none is left with an unknown outcome (ERR_CONNECTION_LOST), none pending.
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => codeOf((o as { reason: unknown }).reason))).toEqual([]);

    // Resubscribed: a message to each node after the restart is delivered.
    await barrier(s, inboxes);
    reconcile(outcomes, inboxes);

    // The restart wiped Redis; each node announced its users again on reconnect.
    expect(await redisCommand(redis.port, ['DBSIZE'])).not.toBe('0');
    for (const r of receivers) await r.locate([]);
    await pollAsync(
      async () => [...(await s.locate(allUsers)).values()].every((nodes) => nodes.length === 1),
      2_000,
      'every user located again',
    );
    const located = await s.locate(allUsers);
    for (const id of RECEIVERS) for (const user of usersOf(id)) expect(located.get(user), user).toEqual([id]);
    const toUsers = await s.sendToUsers(allUsers, 'after the restart');
    expect([...toUsers.delivered].sort()).toEqual(RECEIVERS);
    expect(toUsers.offline).toEqual([]);
  });

  it('a ready client handed in (redis:) rides out a restart too, without piling up listeners on it', async () => {
    const redis = await redisServer();
    const prefix = newPrefix();
    const supplied = new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 20 });
    supplied.on('error', () => {});
    track('supplied ioredis client', () => supplied.disconnect());
    const listenersAtStart = supplied.listenerCount('error');
    const make = (nodeId: string): RelayClient => {
      const c = new RelayClient({ ...FAST_CLIENT, ...RIDE_OUT, redis: supplied, nodeId, redisOptions: { prefix } });
      c.on('error', () => {});
      track(`RelayClient(${nodeId})`, () => c.close());
      return c;
    };
    const a = make('a');
    const b = make('b');
    await a.connect();
    await b.connect();
    const inbox = collect(b);

    const down = Promise.all([a, b].map((c) => waitForEvent(c, 'disconnect', 3_000)));
    await redis.kill();
    await down;
    // Let both clients go through a good number of failed attempts.
    let attempts = 0;
    const counted = new Promise<void>((resolve) => {
      a.on('reconnecting', () => {
        if (++attempts === 15) resolve();
      });
    });
    await withTimeout(counted, 5_000, '15 reconnect attempts');
    const whileDown = settle(a.send({ b: ['u'] }, 'sent while down'));
    const up = Promise.all([a, b].map((c) => (c.connected ? undefined : waitForEvent(c, 'connect', 5_000))));
    await redis.restart();
    await up;
    const o = await whileDown;
    expect(o.status).toBe('fulfilled');
    const report = (o as { value: SendReport }).value;
    expect([...report.delivered, ...Object.keys(report.offline)]).toEqual(['b']);
    await barrier(a, { b: inbox });
    expect(inbox.messages).toEqual(report.delivered.length > 0 ? ['sent while down'] : []);
    // One link at a time listens on the shared client (one per RelayClient), whatever the number of attempts.
    expect(supplied.listenerCount('error')).toBeLessThanOrEqual(listenersAtStart + 2);
    await a.close();
    await b.close();
    expect(supplied.listenerCount('error')).toBe(listenersAtStart);
    expect(supplied.listenerCount('close')).toBe(0);
    expect(supplied.status).toBe('ready');
  });
});

describe('redis-server frozen (SIGSTOP): connections open, nothing answers', () => {
  it('the client notices within about livenessMs, reconnects once Redis answers again, and no send hangs', async () => {
    const redis = await redisServer();
    const pid = Number(/process_id:(\d+)/.exec(await redisCommand(redis.port, ['INFO', 'server']))?.[1]);
    expect(pid).toBeGreaterThan(0);
    const thaw = (): void => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    };
    track('SIGCONT redis-server', thaw);
    const prefix = newPrefix();
    const options = { ...RIDE_OUT, connectTimeoutMs: 500, reportTimeoutMs: 5_000, redisOptions: { prefix, livenessMs: LIVENESS_MS } };
    const a = createClient(redis.url, 'a', options);
    const b = createClient(redis.url, 'b', options);
    await a.connect();
    await b.connect();
    const inbox = collect(b);

    const down = Promise.all([a, b].map((c) => waitForEvent<[RelayError | undefined]>(c, 'disconnect', 5_000)));
    process.kill(pid, 'SIGSTOP');
    const frozenAt = Date.now();
    const during = settle(a.send({ b: ['u'] }, 'while frozen'));
    const reasons = await down;
    // Its liveness key has expired by now anyway: others no longer see this node.
    expect(Date.now() - frozenAt).toBeLessThan(LIVENESS_MS * 3 + 500);
    for (const [reason] of reasons) expect(reason).toBeInstanceOf(RelayError);

    const up = Promise.all([a, b].map((c) => waitForEvent(c, 'connect', 8_000)));
    thaw();
    await up;
    // Written before the freeze was noticed: kept, and published again once Redis is back.
    const o = await withTimeout(during, 6_000, 'the send made while frozen');
    expect(o.status).toBe('fulfilled');
    const report = (o as { value: SendReport }).value;
    expect(await a.send({ b: ['u'] }, 'after')).toEqual({ delivered: ['b'], offline: {} });
    await barrier(a, { b: inbox });
    // Reported delivered, it arrived once (a copy published before the freeze and again after is dropped); else not at all.
    expect(inbox.messages).toEqual(report.delivered.includes('b') ? ['while frozen', 'after'] : ['after']);
  });
});

describe('a subscriber that stops reading', () => {
  it('is cut off by Redis at client-output-buffer-limit: what Redis dropped had been reported delivered; the node reconnects and receives again', async () => {
    const redis = await redisServer();
    await redisCommand(redis.port, ['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 256kb 0 0']);
    const prefix = newPrefix();
    const sender = createClient(redis.url, 'sender', { redisOptions: { prefix } });
    const stalled = createClient(redis.url, 'stalled', { ...RIDE_OUT, redisOptions: { prefix } });
    await sender.connect();
    await stalled.connect();
    const inbox = collect(stalled);
    // What a blocked event loop does to the subscriber connection: nothing reads it.
    const socket = (stalled as unknown as { supervisor: { link: { sub: { stream: { pause(): void; resume(): void } } } } }).supervisor.link
      .sub.stream;
    // The link notices either when the socket is read again, or before that by its probe
    // (nothing comes back on a path nobody reads): listen from now on.
    const down = waitForEvent(stalled, 'disconnect', 10_000);
    const up = waitForEvent(stalled, 'connect', 10_000);
    socket.pause();

    const payload = 'x'.repeat(1024);
    let delivered = 0;
    let cutOff = false;
    // Kernel socket buffers take a few MB first; Redis then buffers up to the limit and drops the connection.
    for (let batch = 0; !cutOff && batch < 100; batch++) {
      const reports = await Promise.all(Array.from({ length: 500 }, () => sender.send({ stalled: ['u'] }, payload)));
      for (const r of reports) {
        if (r.delivered.length > 0) delivered++;
        else cutOff = true;
      }
    }
    expect(cutOff, 'Redis dropped the subscriber').toBe(true);

    socket.resume();
    await down;
    await up;
    // Everything still in the kernel's buffers arrived; what Redis held for it did not.
    expect(inbox.count).toBeLessThan(delivered);
    expect(delivered - inbox.count, 'lost: reported delivered, never received').toBeGreaterThan(100);
    // Resubscribed: receiving again.
    await barrier(sender, { stalled: inbox });
  });
});

// ---------------------------------------------------------------------------
// A node in a process of its own, killed with SIGKILL: no goodbye, no leave.

const INDEX_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Connects, announces its users, waits until they are in Redis, prints READY; exits when stdin closes. */
const CHILD_NODE = `
import { RelayClient } from ${JSON.stringify(INDEX_URL)};
const [url, nodeId, prefix, livenessMs, list] = process.argv.slice(1);
const users = list.split(',').filter(Boolean);
const client = new RelayClient({ url, nodeId, redisOptions: { prefix, livenessMs: Number(livenessMs) } });
client.on('error', () => {});
await client.connect();
client.online(users);
await client.locate(users);
process.stdout.write('READY\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

interface ChildNode {
  kill(): Promise<void>;
}

async function spawnRedisNode(url: string, nodeId: string, prefix: string, users: string[]): Promise<ChildNode> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', CHILD_NODE, url, nodeId, prefix, String(LIVENESS_MS), users.join(',')],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  track(`node process ${nodeId}`, kill);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`node process ${nodeId} not ready: ${stderr}`)), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('READY\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node process ${nodeId} exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  return { kill };
}

describe('a node gone', () => {
  it('crashed (SIGKILL, no goodbye): sends report it offline at once; its users stop being located within livenessMs', async () => {
    const redis = await redisServer();
    const prefix = newPrefix();
    const sender = createClient(redis.url, 'sender', { redisOptions: { prefix, livenessMs: LIVENESS_MS } });
    await sender.connect();
    const users = ['carol', 'dave'];
    const node = await spawnRedisNode(redis.url, 'crashy', prefix, users);
    expect(await sender.locate(users)).toEqual(new Map(users.map((u) => [u, ['crashy']])));
    expect(await sender.send({ crashy: ['carol'] }, 'before')).toEqual({ delivered: ['crashy'], offline: {} });

    await node.kill();
    const killedAt = Date.now();
    // Its subscriber connection died with it: no subscriber, so offline, on the first send.
    expect(await sender.send({ crashy: ['carol'] }, 'after')).toEqual({
      delivered: [],
      offline: { crashy: ['carol'] },
      reasons: { crashy: 'offline' },
    });
    // Until its liveness runs out it may still be located; a send to its users is then reported undelivered, never lost.
    const early = await sender.sendToUsers(users, 'early');
    expect(early.delivered).toEqual([]);
    expect([...(early.undelivered.crashy ?? []), ...early.offline].sort()).toEqual(users);

    await pollAsync(async () => [...(await sender.locate(users)).values()].every((n) => n.length === 0), 2_000, 'users expired');
    const elapsed = Date.now() - killedAt;
    expect(elapsed).toBeLessThanOrEqual(LIVENESS_MS + 250);
    expect(await sender.sendToUsers(users, 'late')).toEqual({ delivered: [], offline: users, undelivered: {} });
  });

  it('closed cleanly: its users leave presence at once, and sends report it offline', async () => {
    const redis = await redisServer();
    const prefix = newPrefix();
    const opts = { redisOptions: { prefix, livenessMs: 10_000 } };
    const sender = createClient(redis.url, 'sender', opts);
    await sender.connect();
    const leaving = createClient(redis.url, 'leaving', opts);
    await leaving.connect();
    leaving.online(['erin', 'frank']);
    await leaving.locate(['erin']);
    expect(await sender.locate(['erin', 'frank'])).toEqual(
      new Map([
        ['erin', ['leaving']],
        ['frank', ['leaving']],
      ]),
    );

    await leaving.close();
    // No waiting for liveness (10 s here): gone the moment close() resolves.
    expect(await sender.locate(['erin', 'frank'])).toEqual(
      new Map([
        ['erin', []],
        ['frank', []],
      ]),
    );
    expect(await sender.sendToUsers(['erin'], 'x')).toEqual({ delivered: [], offline: ['erin'], undelivered: {} });
    expect(await sender.send({ leaving: ['erin'] }, 'x')).toEqual({
      delivered: [],
      offline: { leaving: ['erin'] },
      reasons: { leaving: 'offline' },
    });
    // Nothing of the node is left in Redis.
    expect(await redisCommand(redis.port, ['EXISTS', `${prefix}node:{leaving}`])).toBe('0');
    expect(await redisCommand(redis.port, ['EXISTS', `${prefix}alive:{leaving}`])).toBe('0');
    expect(await redisCommand(redis.port, ['EXISTS', `${prefix}user:{erin}`])).toBe('0');
  });

  it('a client closed while still connecting leaves no connection, subscription or liveness behind', async () => {
    const redis = await redisServer();
    const prefix = newPrefix();
    const baseline = await connectedClients(redis.port);
    // Close at successive points of the connection sequence.
    for (let turns = 0; turns < 12; turns++) {
      const client = createClient(redis.url, `early-${turns}`, { redisOptions: { prefix, livenessMs: LIVENESS_MS } });
      const connecting = settle(client.connect());
      for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
      await withTimeout(client.close(), 2_000, `close() after ${turns} turns`);
      // Either it got connected before close() (a normal close follows) or close() cut it short.
      const outcome = await connecting;
      if (outcome.status === 'rejected') expect(codeOf(outcome.reason)).toBe(ErrorCodes.CLOSED);
    }
    await pollAsync(async () => (await connectedClients(redis.port)) === baseline, 2_000, 'connections back to the baseline');
    expect(await redisCommand(redis.port, ['INFO', 'stats']).then((s) => /pubsub_channels:(\d+)/.exec(s)?.[1])).toBe('0');
    // A link that got as far as its first heartbeat does not keep beating after close.
    await pollAsync(
      async () => (await redisCommand(redis.port, ['EVAL', `return #redis.call('keys', ARGV[1])`, '0', `${prefix}alive:*`])) === '0',
      LIVENESS_MS * 3,
      'no liveness key left',
    );
  });
});

/** Clients connected to the server, this query's own connection excluded. */
async function connectedClients(port: number): Promise<number> {
  const info = await redisCommand(port, ['INFO', 'clients']);
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]) - 1;
}
