import { describe, expect, it } from 'vitest';
import { ErrorCodes, type NodeInfo, type OfflineNotice, type RelayClient, type RelayError } from '../../src/index.js';
import type { UsersReport } from '../../src/client/report.js';
import { encodeFrame } from '../../src/codec/index.js';
import { FrameType, PresenceOp, decodeLocated, encodeLocate, encodePresence } from '../../src/protocol/index.js';
import { spawnNode } from '../helpers/child-node.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, waitForEvent, type Emitterish } from '../helpers/events.js';
import { connectClient, dropConnection, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer } from '../helpers/raw-peer.js';

useRelayHarness();

type Where = Record<string, string[]>;

/** `locate` as a plain object, each user's nodes sorted. */
async function located(client: RelayClient<unknown>, users: readonly string[]): Promise<Where> {
  const map = await client.locate(users);
  return Object.fromEntries([...map].map(([user, nodes]) => [user, [...nodes].sort()]));
}

/**
 * Polls `locate` until it answers `expected`, and returns when that happened;
 * throws with the last answer after `timeoutMs`.
 */
async function locatedEventually(client: RelayClient<unknown>, expected: Where, timeoutMs: number): Promise<number> {
  const users = Object.keys(expected);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const where = await located(client, users);
    if (JSON.stringify(where) === JSON.stringify(expected)) return Date.now();
    if (Date.now() > deadline) {
      throw new Error(`locate did not answer ${JSON.stringify(expected)} within ${timeoutMs} ms; last: ${JSON.stringify(where)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A report with its delivered nodes sorted (the relay lists them in the order it met them). */
function sorted(report: UsersReport): UsersReport {
  return { ...report, delivered: [...report.delivered].sort() };
}

/** Announces on `client` and returns once the relay has applied it (its LOCATE is answered after the PRESENCE). */
async function announce(client: RelayClient<unknown>, online: readonly string[], offline: readonly string[] = []): Promise<void> {
  if (offline.length > 0) client.offline(offline);
  if (online.length > 0) client.online(online);
  await client.locate([]);
}

/** Resolves with the time the relay reported `nodeId` down (its grace timer starts just before). */
function nodeDown(server: Emitterish, nodeId: string): Promise<number> {
  return waitForEvent<[NodeInfo]>(server, 'node:down', 3_000, (n) => n.nodeId === nodeId).then(() => Date.now());
}

/**
 * How much earlier than `presenceGraceMs` after node:down a grace timer may
 * fire as seen by Date.now(): timers count from the event loop's cached
 * clock, which lags under load.
 */
const TIMER_SLACK_MS = 50;

describe('presence: announce and locate', () => {
  it('locates announced users on their node; users online nowhere map to an empty list', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    const observer = await connectClient(url, 'observer');
    await announce(a, ['u1', 'u2']);
    await announce(b, ['u3']);

    expect(await located(observer, ['u1', 'u2', 'u3', 'nobody'])).toEqual({ u1: ['a'], u2: ['a'], u3: ['b'], nobody: [] });
    const map = await observer.locate(['u3', 'u3']);
    expect([...map]).toEqual([['u3', ['b']]]);
  });

  it('a user moving from node a to node b is located on b only', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    const observer = await connectClient(url, 'observer');
    await announce(a, ['mover', 'stays']);
    expect(await located(observer, ['mover', 'stays'])).toEqual({ mover: ['a'], stays: ['a'] });

    // Disconnected from a, not yet on b.
    await announce(a, [], ['mover']);
    expect(await located(observer, ['mover', 'stays'])).toEqual({ mover: [], stays: ['a'] });

    await announce(b, ['mover']);
    expect(await located(observer, ['mover', 'stays'])).toEqual({ mover: ['b'], stays: ['a'] });

    // And back, the other way round: online on a before offline on b.
    await announce(a, ['mover']);
    expect(await located(observer, ['mover'])).toEqual({ mover: ['a', 'b'] });
    await announce(b, [], ['mover']);
    expect(await located(observer, ['mover'])).toEqual({ mover: ['a'] });
  });

  it('ids that are not ASCII are located and delivered unchanged', async () => {
    const { url } = await startServer();
    const node = await connectClient(url, 'nœud-1');
    const inbox = collect(node);
    const sender = await connectClient(url, 'émetteur');
    await announce(node, ['ü-Ω', '用户']);

    expect(await located(sender, ['ü-Ω', '用户', 'ñ'])).toEqual({ 'ü-Ω': ['nœud-1'], 用户: ['nœud-1'], ñ: [] });
    expect(await sender.sendToUsers(['用户', 'ñ', 'ü-Ω'], 'salut')).toEqual({ delivered: ['nœud-1'], offline: ['ñ'], undelivered: {} });
    await barrier(sender, { 'nœud-1': inbox });
    expect(inbox.items).toEqual([{ from: 'émetteur', users: ['用户', 'ü-Ω'], message: 'salut' }]);
  });
});

describe('presence: sendToUsers', () => {
  it('multi-device: phone on a and laptop on b each get one frame with exactly that user', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a');
    const b = await connectClient(url, 'b');
    const inboxA = collect(a);
    const inboxB = collect(b);
    const sender = await connectClient(url, 's');
    await announce(a, ['alice', 'bob']);
    await announce(b, ['alice']);

    expect(await located(sender, ['alice', 'bob'])).toEqual({ alice: ['a', 'b'], bob: ['a'] });
    expect(sorted(await sender.sendToUsers(['alice'], { text: 'hi' }))).toEqual({ delivered: ['a', 'b'], offline: [], undelivered: {} });
    await barrier(sender, { a: inboxA, b: inboxB });
    expect(inboxA.items).toEqual([{ from: 's', users: ['alice'], message: { text: 'hi' } }]);
    expect(inboxB.items).toEqual([{ from: 's', users: ['alice'], message: { text: 'hi' } }]);

    // The laptop goes offline: only the phone's node gets the next one.
    await announce(b, [], ['alice']);
    expect(await sender.sendToUsers(['alice', 'bob'], 'second')).toEqual({ delivered: ['a'], offline: [], undelivered: {} });
    await barrier(sender, { a: inboxA, b: inboxB });
    expect(inboxA.items.map((d) => [d.users, d.message])).toEqual([
      [['alice'], { text: 'hi' }],
      [['alice', 'bob'], 'second'],
    ]);
    expect(inboxB.count).toBe(1);
  });

  it('many users over 3 nodes: one delivery per node with exactly its users; users online nowhere in `offline`', async () => {
    const { url, server } = await startServer();
    const nodeIds = ['n0', 'n1', 'n2'];
    const clients = await Promise.all(nodeIds.map((id) => connectClient(url, id)));
    const inboxes = Object.fromEntries(nodeIds.map((id, i) => [id, collect(clients[i]!)]));
    const sender = await connectClient(url, 's');

    // 600 users round-robin over the nodes; every 20th also on the next node (a second device).
    const where = new Map<string, string[]>();
    for (let i = 0; i < 600; i++) {
      const home = nodeIds[i % 3]!;
      where.set(`user-${i}`, i % 20 === 0 ? [home, nodeIds[(i + 1) % 3]!] : [home]);
    }
    await Promise.all(
      nodeIds.map((id, i) =>
        announce(
          clients[i]!,
          [...where].filter(([, nodes]) => nodes.includes(id)).map(([u]) => u),
        ),
      ),
    );

    const nowhere = Array.from({ length: 50 }, (_, i) => `gone-${i}`);
    // Interleave located and nowhere users, in a scrambled order.
    const recipients: string[] = [];
    const online = [...where.keys()].sort((x, y) => x.length - y.length || (x < y ? 1 : -1));
    for (let i = 0; i < online.length; i++) {
      recipients.push(online[i]!);
      if (i % 12 === 0) recipients.push(nowhere[i / 12]!);
    }
    expect(recipients.length).toBe(650);

    const deliveriesBefore = server.stats().deliveries;
    const report = await sender.sendToUsers(recipients, { group: 'g1' });
    expect(sorted(report)).toEqual({ delivered: nodeIds, offline: nowhere, undelivered: {} });
    expect(server.stats().deliveries - deliveriesBefore).toBe(3);

    await barrier(sender, inboxes);
    for (const id of nodeIds) {
      const expected = recipients.filter((u) => where.get(u)?.includes(id));
      expect(inboxes[id]!.count, id).toBe(1);
      expect(inboxes[id]!.items[0], id).toEqual({ from: 's', users: expected, message: { group: 'g1' } });
    }
    // Every located user reached every node holding them, once.
    const got = nodeIds.flatMap((id) => inboxes[id]!.items[0]!.users.map((u) => `${u}@${id}`)).sort();
    const want = [...where].flatMap(([u, nodes]) => nodes.map((n) => `${u}@${n}`)).sort();
    expect(got).toEqual(want);
  });

  it('{ report: false }: users online nowhere arrive on the offline event, and nothing else does', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a');
    const inbox = collect(a);
    const sender = await connectClient(url, 's');
    await announce(a, ['u1', 'u2']);

    const notices: OfflineNotice[] = [];
    sender.on('offline', (n) => notices.push(n));
    const notice = waitForEvent<[OfflineNotice]>(sender, 'offline');
    expect(await sender.sendToUsers(['ghost-1', 'u1', 'ghost-2'], 'quiet', { report: false })).toBeUndefined();
    expect((await notice)[0]).toEqual({ offline: {}, reasons: {}, nowhere: ['ghost-1', 'ghost-2'] });

    // All located: no notice at all.
    expect(await sender.sendToUsers(['u2', 'u1'], 'all here', { report: false })).toBeUndefined();
    await barrier(sender, { a: inbox });
    expect(notices.length).toBe(1);
    expect(inbox.items.map((d) => [d.users, d.message])).toEqual([
      [['u1'], 'quiet'],
      [['u2', 'u1'], 'all here'],
    ]);
  });
});

describe('presence: node failures and the grace period', () => {
  it('a crashed node (SIGKILL) keeps its users located during the grace, reported undelivered; after it they are offline', async () => {
    const GRACE = 400;
    const { url, server } = await startServer({ presenceGraceMs: GRACE });
    const a = await connectClient(url, 'a');
    const inboxA = collect(a);
    const sender = await connectClient(url, 's');
    await announce(a, ['w']);
    const crashing = await spawnNode(url, 'c', ['x', 'y', 'w']);
    const users = ['x', 'y', 'w', 'nobody'];
    expect(await located(sender, users)).toEqual({ x: ['c'], y: ['c'], w: ['a', 'c'], nobody: [] });

    const down = nodeDown(server, 'c');
    await crashing.kill();
    const downAt = await down;

    // Within the grace: still located on c, but c is down. A message for c's users waits for c
    // (it may come back); c does not, so at the grace's end they are reported undelivered.
    expect(await located(sender, users)).toEqual({ x: ['c'], y: ['c'], w: ['a', 'c'], nobody: [] });
    const during = sender.sendToUsers(['x', 'w', 'nobody', 'y'], 'during');
    expect(Date.now() - downAt, 'the checks ran within the grace').toBeLessThan(GRACE);
    expect(await during).toEqual({
      delivered: ['a'],
      offline: ['nobody'],
      undelivered: { c: ['x', 'w', 'y'] },
      reasons: { c: 'offline' },
    });
    expect(Date.now() - downAt, 'answered at the grace end').toBeGreaterThanOrEqual(GRACE - 20);

    // After it: forgotten on c, w still on a.
    const goneAt = await locatedEventually(sender, { x: [], y: [], w: ['a'], nobody: [] }, GRACE + 3_000);
    expect(goneAt - downAt).toBeGreaterThanOrEqual(GRACE - TIMER_SLACK_MS);
    expect(await sender.sendToUsers(['x', 'w', 'nobody', 'y'], 'after')).toEqual({
      delivered: ['a'],
      offline: ['x', 'nobody', 'y'],
      undelivered: {},
    });
    await barrier(sender, { a: inboxA });
    expect(inboxA.items.map((d) => [d.users, d.message])).toEqual([
      [['w'], 'during'],
      [['w'], 'after'],
    ]);
  });

  it('stale presence never happens: a node that restarts under the same id does not inherit its predecessor’s users', async () => {
    // A grace far longer than the test: only the new node's own announcements may count.
    const { url, server } = await startServer({ presenceGraceMs: 60_000 });
    const observer = await connectClient(url, 'observer');
    // The crash as the relay sees it: the connection is cut and that client never comes back.
    const crashing = await connectClient(url, 'c', { reconnect: false });
    await announce(crashing, ['x', 'y']);
    expect(await located(observer, ['x', 'y'])).toEqual({ x: ['c'], y: ['c'] });

    const down = nodeDown(server, 'c');
    dropConnection(crashing);
    await down;
    // Within the grace the users of the crashed process are still located on c...
    expect(await located(observer, ['x', 'y'])).toEqual({ x: ['c'], y: ['c'] });

    // ...until a new process takes the id: it holds none of those sockets, even before it announces anyone.
    const fresh = await connectClient(url, 'c');
    await fresh.locate([]);
    expect(await located(observer, ['x', 'y'])).toEqual({ x: [], y: [] });
    await announce(fresh, ['z']);
    expect(await located(observer, ['x', 'y', 'z'])).toEqual({ x: [], y: [], z: ['c'] });
    collect(fresh);
    expect(await observer.sendToUsers(['x', 'z'], 'm')).toEqual({ delivered: ['c'], offline: ['x'], undelivered: {} });
  });

  it('a quick reconnect keeps users located with no gap; the RESET re-announces exactly the current set', async () => {
    const GRACE = 400;
    const { url, server } = await startServer({ presenceGraceMs: GRACE });
    const a = await connectClient(url, 'a', { reconnect: { initialDelayMs: 100, maxDelayMs: 100, jitter: 0 } });
    const observer = await connectClient(url, 'observer');
    await announce(a, ['u1', 'u2', 'u3']);

    let downOnRelay = false;
    server.on('node:down', (n) => {
      if (n.nodeId === 'a') downOnRelay = true;
    });
    server.on('node:up', (n) => {
      if (n.nodeId === 'a') downOnRelay = false;
    });
    // An observer asking all along: u1 and u3 never stop being on a.
    const answers: Array<{ where: Where; whileDown: boolean }> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const askedWhileDown = downOnRelay;
        const where = await located(observer, ['u1', 'u3']);
        answers.push({ where, whileDown: askedWhileDown && downOnRelay });
      }
    })();

    const disconnected = waitForEvent(a, 'disconnect');
    const down = nodeDown(server, 'a');
    const reconnected = waitForEvent(a, 'connect');
    dropConnection(a);
    await disconnected;
    // Changes made while disconnected travel in the RESET.
    a.offline(['u2']);
    a.online(['u4']);
    const downAt = await down;
    await reconnected;
    expect(Date.now() - downAt, 'reconnected within the grace').toBeLessThan(GRACE);

    const current = { u1: ['a'], u2: [], u3: ['a'], u4: ['a'] };
    expect(await located(a, ['u1', 'u2', 'u3', 'u4'])).toEqual(current);
    // Past the end of the grace the node keeps its users: the reconnect cancelled it.
    const until = downAt + GRACE + 150;
    while (Date.now() < until) {
      expect(await located(observer, ['u1', 'u2', 'u3', 'u4'])).toEqual(current);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    polling = false;
    await poller;
    expect(answers.filter((x) => JSON.stringify(x.where) !== JSON.stringify({ u1: ['a'], u3: ['a'] }))).toEqual([]);
    expect(answers.filter((x) => x.whileDown).length, 'answers while a was down').toBeGreaterThan(0);
  });

  it('a node back after its grace ran out re-announces its users', async () => {
    const GRACE = 100;
    const { url, server } = await startServer({ presenceGraceMs: GRACE });
    const a = await connectClient(url, 'a', { reconnect: { initialDelayMs: 600, maxDelayMs: 600, jitter: 0 } });
    const observer = await connectClient(url, 'observer');
    await announce(a, ['u1', 'u2']);

    const down = nodeDown(server, 'a');
    const reconnected = waitForEvent(a, 'connect');
    dropConnection(a);
    await down;
    await locatedEventually(observer, { u1: [], u2: [] }, 3_000);
    expect(a.connected, 'still away when the grace ran out').toBe(false);
    a.online(['u3']);

    await reconnected;
    expect(await located(a, ['u1', 'u2', 'u3'])).toEqual({ u1: ['a'], u2: ['a'], u3: ['a'] });
  });

  it('after a relay restart, the RESET re-announces exactly the current set', async () => {
    const first = await startServer({ presenceGraceMs: 200 });
    const a = await connectClient(first.url, 'a');
    const b = await connectClient(first.url, 'b');
    await announce(a, ['u1', 'u2', 'u3']);
    await announce(b, ['u2']);

    const disconnected = Promise.all([waitForEvent(a, 'disconnect'), waitForEvent(b, 'disconnect')]);
    await first.server.close();
    await disconnected;
    a.offline(['u1']);
    a.online(['u4', 'u5']);
    a.offline(['u5']);

    const reconnected = Promise.all([waitForEvent(a, 'connect'), waitForEvent(b, 'connect')]);
    await startServer({ port: first.port, presenceGraceMs: 200 });
    await reconnected;
    await b.locate([]);
    expect(await located(a, ['u1', 'u2', 'u3', 'u4', 'u5'])).toEqual({ u1: [], u2: ['a', 'b'], u3: ['a'], u4: ['a'], u5: [] });
  });

  it('a clean close starts the grace too, then the users are forgotten', async () => {
    const GRACE = 300;
    const { url, server } = await startServer({ presenceGraceMs: GRACE });
    const a = await connectClient(url, 'a');
    const sender = await connectClient(url, 's');
    await announce(a, ['u']);

    const down = nodeDown(server, 'a');
    await a.close();
    const downAt = await down;

    expect(await located(sender, ['u'])).toEqual({ u: ['a'] });
    expect(await sender.sendToUsers(['u'], 'm')).toEqual({
      delivered: [],
      offline: [],
      undelivered: { a: ['u'] },
      reasons: { a: 'offline' },
    });
    const notice = waitForEvent<[OfflineNotice]>(sender, 'offline');
    await sender.sendToUsers(['u'], 'quiet', { report: false });
    expect((await notice)[0]).toEqual({ offline: { a: ['u'] }, reasons: { a: 'offline' } });
    expect(Date.now() - downAt, 'the checks ran within the grace').toBeLessThan(GRACE);

    const goneAt = await locatedEventually(sender, { u: [] }, GRACE + 3_000);
    expect(goneAt - downAt).toBeGreaterThanOrEqual(GRACE - TIMER_SLACK_MS);
    expect(await sender.sendToUsers(['u'], 'm')).toEqual({ delivered: [], offline: ['u'], undelivered: {} });
  });
});

describe('presence: sets larger than one frame', () => {
  it('online() and the RESET after a reconnect are split to fit the relay frame limit, and applied whole', async () => {
    const { url, server } = await startServer({ maxFrameBytes: 64 * 1024, presenceGraceMs: 5_000 });
    const serverErrors = new EventLog<[RelayError]>(server, 'error');
    const a = await connectClient(url, 'a', { reconnect: { initialDelayMs: 50, maxDelayMs: 50, jitter: 0 } });
    const observer = await connectClient(url, 'observer');
    const reconnects = new EventLog(a, 'reconnecting');
    // 25,000 ids of 11 bytes: about 300 kB of ids, five frames' worth.
    const users = Array.from({ length: 25_000 }, (_, i) => `user-${String(i).padStart(6, '0')}`);
    const sample = ['user-000000', 'user-012345', 'user-024999'];

    a.online(users);
    expect(await located(a, sample)).toEqual(Object.fromEntries(sample.map((u) => [u, ['a']])));

    // An observer asking all along: the whole set stays located through the reconnect.
    const answers: Where[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) answers.push(await located(observer, ['user-000000', 'user-024999']));
    })();
    const disconnected = waitForEvent(a, 'disconnect');
    const down = nodeDown(server, 'a');
    const reconnected = waitForEvent(a, 'connect');
    dropConnection(a);
    await disconnected;
    a.offline(['user-012345']);
    a.online(['late']);
    await down;
    await reconnected;

    expect(await located(a, [...sample, 'late'])).toEqual({
      'user-000000': ['a'],
      'user-012345': [],
      'user-024999': ['a'],
      late: ['a'],
    });
    // Every other user is back on a (asked in batches: a LOCATE is one frame too).
    let onA = 0;
    for (let i = 0; i < users.length; i += 5_000) {
      const batch = await a.locate(users.slice(i, i + 5_000));
      onA += [...batch.values()].filter((nodes) => nodes.length === 1 && nodes[0] === 'a').length;
    }
    expect(onA).toBe(users.length - 1);
    // One locate() for all of them is split into LOCATEs that fit, and the answers merged.
    const all = await a.locate(users);
    expect(all.size).toBe(users.length);
    expect([...all.values()].filter((nodes) => nodes.length === 1 && nodes[0] === 'a').length).toBe(users.length - 1);
    expect(await located(a, ['late'])).toEqual({ late: ['a'] });
    polling = false;
    await poller;
    expect(answers.filter((w) => JSON.stringify(w) !== JSON.stringify({ 'user-000000': ['a'], 'user-024999': ['a'] }))).toEqual([]);
    expect(serverErrors.firsts.map((e) => e.code)).toEqual([]);
    expect(reconnects.count).toBe(1);
    expect(a.connected).toBe(true);
  });

  it('online() refuses an id longer than 255 bytes as a whole, and the set stays sendable', async () => {
    const { url, server } = await startServer();
    const serverErrors = new EventLog<[RelayError]>(server, 'error');
    const a = await connectClient(url, 'a');
    const observer = await connectClient(url, 'observer');
    await announce(a, ['u1']);

    expect(() => a.online(['u2', 'x'.repeat(256)])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => a.offline(['u1', 'é'.repeat(128)])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(await located(a, ['u1', 'u2'])).toEqual({ u1: ['a'], u2: [] });

    // The next reconnect re-announces the set as it was.
    const down = nodeDown(server, 'a');
    const reconnected = waitForEvent(a, 'connect');
    dropConnection(a);
    await down;
    await reconnected;
    expect(await located(a, ['u1', 'u2'])).toEqual({ u1: ['a'], u2: [] });
    expect(await located(observer, ['u1'])).toEqual({ u1: ['a'] });
    expect(serverErrors.count).toBe(0);
  });
});

describe('presence: RESET in parts, on the wire', () => {
  let seq = 0;
  /** LOCATE from a raw node: answered after every frame it sent before. */
  async function rawLocated(peer: RawPeer, users: string[]): Promise<Where> {
    const mySeq = ++seq;
    peer.write(encodeFrame(encodeLocate(mySeq, users)));
    for (;;) {
      const frame = await peer.nextFrame();
      if (frame[0] !== FrameType.LOCATED) continue;
      const { seq: got, located: map } = decodeLocated(frame);
      expect(got).toBe(mySeq);
      return Object.fromEntries([...map].map(([u, nodes]) => [u, [...nodes].sort()]));
    }
  }
  const send = (peer: RawPeer, op: PresenceOp, users: string[]): void => peer.write(encodeFrame(encodePresence(op, users)));

  it('RESET_PART frames are held until the RESET that ends the set; parts from a dropped connection are void', async () => {
    const { port, server } = await startServer({ presenceGraceMs: 5_000 });
    const errors = new EventLog<[RelayError]>(server, 'error');
    const all = ['a', 'b', 'c', 'd', 'e', 'x', 'y'];
    const first = await RawPeer.connect(port);
    await first.handshake('n');
    send(first, PresenceOp.ONLINE, ['a', 'b', 'c']);
    expect(await rawLocated(first, all)).toEqual({ a: ['n'], b: ['n'], c: ['n'], d: [], e: [], x: [], y: [] });

    send(first, PresenceOp.RESET_PART, ['b', 'd']);
    send(first, PresenceOp.RESET_PART, ['e']);
    // Nothing changed yet: the set is not complete.
    expect(await rawLocated(first, all)).toEqual({ a: ['n'], b: ['n'], c: ['n'], d: [], e: [], x: [], y: [] });
    send(first, PresenceOp.RESET, ['e', 'x']);
    expect(await rawLocated(first, all)).toEqual({ a: [], b: ['n'], c: [], d: ['n'], e: ['n'], x: ['n'], y: [] });

    // A RESET cut short by a drop: its parts do not leak into the next connection's.
    send(first, PresenceOp.RESET_PART, ['a', 'c']);
    await rawLocated(first, []);
    const down = nodeDown(server, 'n');
    first.destroy();
    await down;
    const second = await RawPeer.connect(port);
    await second.handshake('n');
    send(second, PresenceOp.RESET, ['y']);
    expect(await rawLocated(second, all)).toEqual({ a: [], b: [], c: [], d: [], e: [], x: [], y: ['n'] });
    expect(errors.count).toBe(0);
  });
});
