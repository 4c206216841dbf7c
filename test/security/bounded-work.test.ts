import { describe, expect, it } from 'vitest';
import { ErrorCodes, deriveNodeSecret } from '../../src/index.js';
import { encodeFrame, encodeFrameHeader } from '../../src/codec/index.js';
import {
  Features,
  FrameType,
  PresenceOp,
  decodeLocated,
  encodeControl,
  encodeLocate,
  encodePresence,
  writeRoute,
} from '../../src/protocol/index.js';
import { FrameWriter } from '../../src/codec/frame-writer.js';
import { EventLog, settle } from '../helpers/events.js';
import { collect } from '../helpers/collector.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, errorCodeOf } from '../helpers/raw-peer.js';

useRelayHarness();

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A ROUTE frame (length prefix included) as a node would write it. */
function routeFrame(table: Record<string, string[]>, payload: string): Buffer {
  const writer = new FrameWriter();
  writeRoute(writer, 0x01, 1, table, payload, 64 * 1024 * 1024);
  return Buffer.concat(writer.take());
}

describe('presence is bounded per node', () => {
  it('a reset in progress past maxUsersPerNode closes its node with ERR_LIMIT; other nodes carry on', async () => {
    const { port, url, server } = await startServer({ maxUsersPerNode: 1_000 });
    const a = await connectClient(url, 'a');
    const b = collect(await connectClient(url, 'b'));
    const peer = await RawPeer.connect(port);
    await peer.handshake('hostile');
    // Parts that never end in a RESET: the relay holds no more than the limit of them.
    for (let i = 0; i < 3; i++) peer.write(encodeFrame(encodePresence(PresenceOp.RESET_PART, ids(`p${i}-`, 400))));
    expect(errorCodeOf(await peer.nextControlOfType(FrameType.ERROR))).toBe(ErrorCodes.LIMIT);
    await peer.waitClosed();
    expect(await a.send({ b: ['u'] }, 'still routing')).toEqual({ delivered: ['b'], offline: {} });
    await b.waitFor(1);
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('online users past maxUsersPerNode close the node with ERR_LIMIT, counting only users not online yet', async () => {
    const { port } = await startServer({ maxUsersPerNode: 100 });
    const peer = await RawPeer.connect(port);
    await peer.handshake('n');
    peer.write(encodeFrame(encodePresence(PresenceOp.ONLINE, ids('u', 100))));
    // The same users again are no new ones.
    peer.write(encodeFrame(encodePresence(PresenceOp.ONLINE, ids('u', 100))));
    peer.write(encodeFrame(encodeLocate(7, ['u0'])));
    const located = await peer.nextFrame();
    expect(decodeLocated(located).located.get('u0')).toEqual(['n']);
    peer.write(encodeFrame(encodePresence(PresenceOp.ONLINE, ['one-more'])));
    expect(errorCodeOf(await peer.nextControlOfType(FrameType.ERROR))).toBe(ErrorCodes.LIMIT);
  });

  it('a RESET of more users than the limit is refused the same way', async () => {
    const { port } = await startServer({ maxUsersPerNode: 10 });
    const peer = await RawPeer.connect(port);
    await peer.handshake('n');
    peer.write(encodeFrame(encodePresence(PresenceOp.RESET, ids('u', 11))));
    expect(errorCodeOf(await peer.nextControlOfType(FrameType.ERROR))).toBe(ErrorCodes.LIMIT);
  });
});

describe('LOCATE is bounded, and so is its answer', () => {
  it('more ids than maxLocateIds is refused with ERR_LIMIT before any is decoded', async () => {
    const { port, server } = await startServer({ maxLocateIds: 1_000 });
    const errors = new EventLog(server, 'error');
    const peer = await RawPeer.connect(port);
    await peer.handshake('n');
    peer.write(encodeFrame(encodeLocate(1, ids('u', 1_001))));
    expect(errorCodeOf(await peer.nextControlOfType(FrameType.ERROR))).toBe(ErrorCodes.LIMIT);
    expect(errors.firsts[0]).toMatchObject({ code: ErrorCodes.LIMIT });
  });

  it('an answer larger than the asker can read comes in parts to a client, each within its limit, and is refused to a peer that reads no parts', async () => {
    const { port, url } = await startServer();
    // Eight nodes with 255-byte ids, every user online on all of them: 2 kB of answer per user.
    const longIds = Array.from({ length: 8 }, (_, i) => `${String(i)}${'n'.repeat(254)}`);
    const users = ids('user-', 600);
    for (const id of longIds) (await connectClient(url, id)).online(users);
    const asker = await connectClient(url, 'asker', { maxFrameBytes: 64 * 1024 });
    const located = await waitLocated(asker, users);
    expect(located.size).toBe(users.length);
    for (const nodes of located.values()) expect(nodes.sort()).toEqual([...longIds].sort());

    const raw = await RawPeer.connect(port);
    await raw.handshake('raw', undefined, 0, 64 * 1024);
    raw.write(encodeFrame(encodeLocate(1, users.slice(0, 100))));
    expect(errorCodeOf(await raw.nextControlOfType(FrameType.ERROR))).toBe(ErrorCodes.LIMIT);

    const parts = await RawPeer.connect(port);
    await parts.handshake('parts', undefined, Features.LOCATE_PARTS, 64 * 1024);
    parts.write(encodeFrame(encodeLocate(2, users)));
    let seen = 0;
    for (;;) {
      const frame = await parts.nextFrame();
      expect(frame.length).toBeLessThanOrEqual(64 * 1024);
      const answer = decodeLocated(frame);
      seen += answer.located.size;
      if (!answer.more) break;
    }
    expect(seen).toBe(users.length);
  });
});

/** Locates `users` once every one is on all eight nodes (online() is asynchronous). */
async function waitLocated(asker: Awaited<ReturnType<typeof connectClient>>, users: string[]): Promise<Map<string, string[]>> {
  for (;;) {
    const located = await asker.locate(users);
    if ([...located.values()].every((nodes) => nodes.length === 8)) return located;
  }
}

describe('no answer larger than the asker accepts', () => {
  it('a send whose report could outgrow the sender is refused up front, ERR_FRAME_TOO_LARGE, and the connection stays up', async () => {
    const { url } = await startServer();
    const a = await connectClient(url, 'a', { maxFrameBytes: 16 * 1024 });
    const hosts = Object.fromEntries(ids('host-', 2_000).map((h) => [h, ['u']]));
    const outcome = await settle(a.send(hosts, 'x'));
    expect(outcome).toMatchObject({ status: 'rejected', reason: { code: ErrorCodes.FRAME_TOO_LARGE } });
    expect(await a.send({ nobody: ['u'] }, 'x')).toMatchObject({ delivered: [], offline: { nobody: ['u'] } });
  });

  it('a sendToUsers whose report could outgrow the sender is refused whole, each user reported once, and the connection stays up', async () => {
    const { url } = await startServer();
    // About 10 kB of ids: the sender reads 16 kB frames.
    const users = ids('user-', 1_000);
    const clients = await Promise.all(['h1', 'h2', 'h3'].map((id) => connectClient(url, id)));
    for (const c of clients) c.online(users);
    const holders = clients.map((c) => collect(c));
    const sender = await connectClient(url, 'sender', { maxFrameBytes: 16 * 1024 });
    for (;;) {
      const located = await sender.locate(users);
      if ([...located.values()].every((nodes) => nodes.length === 3)) break;
    }
    // Each user on three nodes: a report listing every failure could take 3x the ids; refused up front.
    const report = await sender.sendToUsers([...users, 'nobody'], 'to everyone');
    expect(report.delivered).toEqual([]);
    expect(report.offline).toEqual(['nobody']);
    const refused = Object.values(report.undelivered).flat();
    expect(refused.sort()).toEqual([...users].sort());
    expect(new Set(Object.values(report.reasons ?? {}))).toEqual(new Set(['refused']));
    // More ids than its frame could list back: refused by the client itself, nothing written.
    await expect(sender.sendToUsers(ids('someone-else-', 2_000), 'x')).rejects.toMatchObject({ code: ErrorCodes.FRAME_TOO_LARGE });
    // A smaller one goes through on the same connection.
    expect((await sender.sendToUsers(users.slice(0, 10), 'to a few')).delivered.sort()).toEqual(['h1', 'h2', 'h3']);
    for (const h of holders) await h.waitFor(1);
  });

  it('the relay closes a peer whose ROUTE could get a report larger than its frame limit, ERR_LIMIT', async () => {
    const { port } = await startServer();
    const peer = await RawPeer.connect(port);
    await peer.handshake('n', undefined, 0, 8 * 1024);
    peer.write(routeFrame(Object.fromEntries(ids('host-', 1_000).map((h) => [h, ['u']])), 'x'));
    expect(errorCodeOf(await peer.nextControlOfType(FrameType.ERROR))).toBe(ErrorCodes.LIMIT);
  });
});

describe('a frame that has begun must finish', () => {
  it('a node trickling one frame a byte at a time is closed with ERR_TIMEOUT after the heartbeat timeout', async () => {
    const { port, server } = await startServer({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    const errors = new EventLog(server, 'error');
    const peer = await RawPeer.connect(port);
    await peer.handshake('slow');
    peer.write(encodeFrameHeader(1_000));
    const started = Date.now();
    const drip = setInterval(() => peer.isClosed || peer.write(Buffer.of(0)), 50);
    try {
      expect(errorCodeOf(await peer.nextControlOfType(FrameType.ERROR, 5_000))).toBe(ErrorCodes.TIMEOUT);
    } finally {
      clearInterval(drip);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(errors.firsts[0]!.message).toMatch(/frame begun \d+ ms ago/);
  });
});

describe("duplicateNode: 'reject'", () => {
  it('checks the older connection first: a half-open one is closed and the newcomer admitted', async () => {
    const { port, url, server } = await startServer({ duplicateNode: 'reject', heartbeatIntervalMs: 10_000, masterSecret: 'm' });
    const secret = deriveNodeSecret('m', 'im-1');
    const stale = await RawPeer.connect(port);
    await stale.handshake('im-1', secret);
    // Gone quiet as a crashed machine's socket would: it reads nothing and answers nothing.
    stale.stopReading();
    const downs = new EventLog(server, 'node:down');
    const started = Date.now();
    // The probe waits up to 2 s for a sign of life: the connect timeout leaves room for it.
    const fresh = await connectClient(url, 'im-1', { secret, connectTimeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(downs.calls[0]!.args[1]).toMatchObject({ code: ErrorCodes.HEARTBEAT });
    expect(fresh.connected).toBe(true);
  });

  it('a live older connection keeps its id: the newcomer is refused ERR_DUPLICATE_NODE', async () => {
    const { url } = await startServer({ duplicateNode: 'reject' });
    const first = await connectClient(url, 'im-1');
    const second = await settle(connectClient(url, 'im-1'));
    expect(second).toMatchObject({ status: 'rejected', reason: { code: ErrorCodes.DUPLICATE_NODE } });
    expect(first.connected).toBe(true);
  });
});

describe("the relay's own stalls", () => {
  it('a node that kept talking is not dropped because the relay was busy past its heartbeat timeout', async () => {
    const { port, server } = await startServer({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    const peer = await RawPeer.connect(port);
    await peer.handshake('n');
    // A node in another process would keep pinging; this one does from a timer.
    const pinging = setInterval(() => peer.write(encodeControl({ type: FrameType.PING })), 50);
    const downs = new EventLog(server, 'node:down');
    try {
      // The relay is busy (as with a large frame): its sweep falls due before the node's bytes are read.
      const until = Date.now() + 800;
      while (Date.now() < until) {
        // busy
      }
      // Three heartbeat timeouts on, the node has been judged on what it sent after the stall.
      await new Promise((resolve) => setTimeout(resolve, 900));
    } finally {
      clearInterval(pinging);
    }
    expect(downs.count).toBe(0);
    expect(peer.isClosed).toBe(false);
  });
});
