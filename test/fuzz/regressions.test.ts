/**
 * Frames from the security report, and from the fuzz, replayed as they were
 * against a relay in its own process, with two honest nodes exchanging
 * messages throughout. Each case asserts the bounded behaviour:
 *
 * (a) PRESENCE frames that pile up users (RESET_PART: a reset that never
 *     completes; ONLINE: ever more users): the relay closes the node with
 *     `ERR_LIMIT` once it would hold more than `maxUsersPerNode` users, and
 *     its memory stays within what that many users take. Reported: 550
 *     RESET_PARTs of ~1 MB took the relay to 5.8 GB.
 * (b) One LOCATE asking about a huge number of users, each held by 8 nodes
 *     with 255-byte ids: the answer is bounded (refused with `ERR_LIMIT`, or
 *     split into frames no larger than the asker accepts), the relay's event
 *     loop keeps turning (no node misses a heartbeat), its memory stays
 *     bounded. Reported: 1 MB asking for 500,000 ids took the relay to 5.5 GB
 *     and blocked it for 56 s. And split answers in all are bounded too:
 *     a LOCATE within `maxLocateIds` about users held by many nodes must not
 *     make the relay hold more than its `maxOutboundBytes` for the asker.
 * (c) Found by the fuzz: a CONSUMED whose `settled` is exactly half the
 *     number space (2^31) ahead passes the relay's serial-number check; it
 *     must be refused (`ERR_PROTOCOL`), not walked.
 *
 * A watchdog kills a relay whose memory runs away, so a relay without the
 * bounds fails these tests instead of taking the machine.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RelayServerOptions } from '../../src/index.js';
import { FrameType, PresenceOp, decodeControl, decodeLocated, newNonce, nodeProof, type WelcomeFrame } from '../../src/protocol/index.js';
import { useRelayHarness } from '../helpers/harness.js';
import { RawPeer } from '../helpers/raw-peer.js';
import {
  bulkUserIds,
  bulkUserList,
  consumedPayload,
  frame,
  helloPayload,
  authPayload,
  locatePayload,
  presencePayload,
  userList,
  type HelloSpec,
} from './frames.js';
import { MiB, mib, spawnFuzzRelay, type FuzzRelay } from './fuzz-relay.js';
import { HonestPair } from './honest.js';

useRelayHarness();

const SECRET = 'regressions: correct horse battery staple';
/** Short, so that a stalled relay costs the honest nodes their connections within the test. */
const HEARTBEAT_MS = 1_000;
/** What the relay keeps per user it holds in presence, a 255-byte id at most, map entries included (generous). */
const PRESENCE_BYTES_PER_USER = 1024;
/** The feature bit of a node that reads LOCATED_PART (split answers). */
const LOCATE_PARTS = 0x10;
const LOCATED_PART = 0x93;
/** The frame size the default client announces: 1 MiB and room for the routing header. */
const CLIENT_MAX_FRAME = 1024 * 1024 + 1024;

/** A relay in its own process, two honest nodes at work on it, and its memory baseline. */
async function relayWithHonestNodes(options: RelayServerOptions): Promise<{ relay: FuzzRelay; honest: HonestPair }> {
  const relay = await spawnFuzzRelay({ secret: SECRET, heartbeatIntervalMs: HEARTBEAT_MS, ...options });
  const honest = new HonestPair(relay.port, SECRET);
  await honest.start();
  await sleep(300);
  return { relay, honest };
}

/** A raw node admitted with the secret; `hello` overrides the defaults of a plain node. */
async function admit(port: number, nodeId: string, hello: Partial<HelloSpec> = {}): Promise<{ peer: RawPeer; welcome: WelcomeFrame }> {
  const spec: HelloSpec = {
    minVersion: 1,
    maxVersion: 1,
    nodeId: Buffer.from(nodeId),
    maxFrameBytes: CLIENT_MAX_FRAME,
    features: 0,
    once: undefined,
    trailing: Buffer.alloc(0),
    ...hello,
  };
  const peer = await RawPeer.connect(port);
  const nonce = newNonce();
  peer.write(frame(helloPayload(spec, nonce)));
  const challenge = await peer.nextControl(15_000);
  if (challenge.type !== FrameType.CHALLENGE) throw new Error(`expected a CHALLENGE, got 0x${challenge.type.toString(16)}`);
  peer.write(frame(authPayload(nodeProof(SECRET, challenge.nonce, nonce, nodeId))));
  const welcome = await peer.nextControl(15_000);
  if (welcome.type !== FrameType.WELCOME) throw new Error(`expected a WELCOME, got 0x${welcome.type.toString(16)}`);
  return { peer, welcome };
}

/** Keeps a raw node alive in the relay's eyes (any frame counts): a PING every 300 ms until it closes. */
function keepAlive(peer: RawPeer): void {
  const timer = setInterval(() => {
    if (peer.isClosed) clearInterval(timer);
    else peer.write(frame(Buffer.of(FrameType.PING)));
  }, 300);
  timer.unref();
}

/** Writes `bytes` and resolves once they are handed to the kernel (false if that takes over `ms`). */
function written(peer: RawPeer, bytes: Buffer, ms = 5_000): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    peer.socket.write(bytes, () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The largest buffer the kernel lets a TCP socket grow to (`tcp_rmem` or `tcp_wmem`), or `fallback` where it does not say. */
function tcpBufferCeiling(name: 'tcp_rmem' | 'tcp_wmem', fallback: number): number {
  try {
    const max = Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]);
    return Number.isFinite(max) && max > 0 ? max : fallback;
  } catch {
    return fallback;
  }
}

/** The code of the first ERROR `peer` received, if any. */
function errorCode(peer: RawPeer): string | undefined {
  const error = peer.received.find((p) => p[0] === FrameType.ERROR);
  if (error === undefined) return undefined;
  const frame = decodeControl(error);
  return frame.type === FrameType.ERROR ? frame.code : undefined;
}

/** Problems of the relay itself: dead, killed by the watchdog, stalled, over `bound` bytes. */
function relayProblems(relay: FuzzRelay, bound: number, maxStallMs: number): string[] {
  const problems: string[] = [];
  if (relay.killedAt !== undefined) problems.push(`the relay's memory ran away: killed at ${mib(relay.killedAt)}`);
  else if (!relay.alive) problems.push(`the relay process died: ${relay.stderrTail().slice(-2000)}`);
  const peak = relay.memory().peak;
  if (peak > bound) problems.push(`relay memory peaked at ${mib(peak)}, over the bound of ${mib(bound)}`);
  if (relay.lagMaxMs >= maxStallMs) problems.push(`the relay's event loop stalled for ${relay.lagMaxMs} ms`);
  const silent = relay.silentMs;
  if (relay.alive && silent >= maxStallMs) problems.push(`the relay's event loop has been stuck for ${silent} ms`);
  return problems;
}

describe('regressions: presence frames that pile up users', () => {
  const MAX_USERS = 100_000;
  const ID_BYTES = 255;
  // ~1 MB frames, as reported: 4,100 users of 255 bytes each.
  const PER_FRAME = Math.floor((1024 * 1024 - 6) / (1 + ID_BYTES));
  const REPORTED_FRAMES = 550;
  /**
   * Frames of ~1 MB a sender may have handed to the kernel before the relay's
   * ERROR reached it: as many as the loopback connection's buffers can hold
   * at most (the relay's receive buffer and the sender's send buffer, whose
   * ceilings the kernel settings give), and a few in the relay's hands.
   */
  const IN_FLIGHT_FRAMES = Math.ceil((tcpBufferCeiling('tcp_rmem', 6 * MiB) + tcpBufferCeiling('tcp_wmem', 4 * MiB)) / MiB) + 4;

  it.each([
    ['RESET_PART (a reset that never completes)', PresenceOp.RESET_PART],
    ['ONLINE (ever more users)', PresenceOp.ONLINE],
  ])(
    '%s: the node is closed with ERR_LIMIT past maxUsersPerNode, and the relay stays within what that many users take',
    async (_, op) => {
      const { relay, honest } = await relayWithHonestNodes({ maxFrameBytes: 1 * MiB, maxUsersPerNode: MAX_USERS });
      const { peer } = await admit(relay.port, 'piler');
      await relay.nextStat();
      const baseline = relay.memory().rss;
      relay.resetPeaks();
      // The users themselves (a reset in progress and the users online count alike), a frame being read, and slack for the heap.
      const bound = baseline + MAX_USERS * PRESENCE_BYTES_PER_USER + 4 * MiB + 64 * MiB;
      relay.watchdog(baseline + 1024 * MiB);

      let sent = 0;
      while (sent < REPORTED_FRAMES && !peer.isClosed && errorCode(peer) === undefined && relay.alive) {
        const bytes = frame(presencePayload(op, bulkUserList(PER_FRAME, ID_BYTES, true, sent * PER_FRAME)));
        if (!(await written(peer, bytes))) break;
        sent++;
        // A write the kernel takes at once calls back without a turn of the event loop: without this
        // the loop would not read the relay's ERROR until the buffers fill.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await peer.until(() => errorCode(peer) !== undefined || peer.isClosed || !relay.alive, 5_000, 'an ERROR').catch(() => {});
      const code = errorCode(peer);
      await peer.waitClosed(3_000).catch(() => {});
      const problems = relayProblems(relay, bound, HEARTBEAT_MS);
      console.log(
        `presence ${op}: ${sent} frames of ${PER_FRAME} users sent; answer ${code ?? 'none'}; relay peak ${mib(relay.memory().peak)} ` +
          `(baseline ${mib(baseline)}, bound ${mib(bound)}); longest stall ${relay.lagMaxMs} ms`,
      );
      expect(problems).toEqual([]);
      expect(code).toBe('ERR_LIMIT');
      expect(peer.isClosed).toBe(true);
      // Refused once past the bound: the frames it took to get there, and those already in the
      // sockets' buffers when the ERROR came (loopback buffers hold a few MiB each way).
      expect(sent).toBeLessThanOrEqual(Math.ceil(MAX_USERS / PER_FRAME) + IN_FLIGHT_FRAMES);
      expect(await honest.finish()).toEqual([]);

      // A node within the limit still resets its whole set in parts, and is found.
      const { peer: again } = await admit(relay.port, 'piler');
      const users = bulkUserIds(3 * 20_000, 8);
      again.write(frame(presencePayload(PresenceOp.RESET_PART, bulkUserList(20_000, 8, true, 0))));
      again.write(frame(presencePayload(PresenceOp.RESET_PART, bulkUserList(20_000, 8, true, 20_000))));
      again.write(frame(presencePayload(PresenceOp.RESET, bulkUserList(20_000, 8, true, 40_000))));
      // Asked on the same connection, so it comes after the reset.
      const wanted = [users[0]!, users[29_999]!, users[59_999]!];
      again.write(frame(locatePayload(1, userList(wanted))));
      await again.until(() => again.received.some((p) => p[0] === FrameType.LOCATED), 5_000, 'the LOCATED');
      const located = decodeLocated(again.received.find((p) => p[0] === FrameType.LOCATED)!).located;
      expect(Object.fromEntries(located)).toEqual(Object.fromEntries(wanted.map((u) => [u, ['piler']])));
      expect(again.isClosed).toBe(false);
    },
    60_000,
  );
});

describe('regressions: one LOCATE asking about a huge number of users', () => {
  const HOLDERS = 8;
  /** 3-byte ids: 262,000 of them fill a 1 MiB frame. */
  const ID_BYTES = 3;
  const ASKED = 262_000;
  /** Users each holder holds: the relay's default maxLocateIds, so a LOCATE within the limit can ask about all of them. */
  const HELD = 10_000;

  /**
   * Sends `locate` from a fresh asker and checks that the answer is bounded:
   * every frame at most what the asker accepts; either `ERR_LIMIT` and the
   * connection closed, or LOCATED_PARTs and a LOCATED that together name
   * every user asked about, with its 8 nodes when `held`. Returns what happened.
   */
  async function askAndCheck(
    relay: FuzzRelay,
    label: string,
    locate: Buffer,
    asked: readonly string[],
    held: ReadonlySet<string>,
    holders: readonly string[],
    features: number,
  ): Promise<{ outcome: 'refused' | 'answered'; frames: number; bytes: number; ms: number }> {
    const { peer: asker } = await admit(relay.port, `asker-${label}`, { features, maxFrameBytes: CLIENT_MAX_FRAME });
    const before = asker.received.length;
    const started = Date.now();
    asker.write(locate);
    const done = (): boolean =>
      asker.isClosed ||
      asker.decodeError !== undefined ||
      asker.received.slice(before).some((p) => p[0] === FrameType.ERROR || p[0] === FrameType.LOCATED);
    await asker.until(done, 60_000, `an answer to ${label}`);
    const ms = Date.now() - started;
    const answer = asker.received.slice(before);
    expect(asker.decodeError, `${label}: the relay's answer is framed within 64 MiB`).toBeUndefined();
    for (const p of answer) expect(p.length, `${label}: a frame of type 0x${p[0]!.toString(16)}`).toBeLessThanOrEqual(CLIENT_MAX_FRAME);
    const bytes = answer.reduce((n, p) => n + p.length, 0);
    const code = errorCode(asker);
    if (code !== undefined) {
      expect(code, label).toBe('ERR_LIMIT');
      await asker.waitClosed(3_000);
      return { outcome: 'refused', frames: answer.length, bytes, ms };
    }
    const located = new Map<string, string[]>();
    for (const p of answer) {
      expect([FrameType.LOCATED, LOCATED_PART], `${label}: frame types`).toContain(p[0]);
      for (const [user, nodes] of decodeLocated(p).located) located.set(user, nodes);
    }
    const unique = [...new Set(asked)];
    expect(located.size, label).toBe(unique.length);
    for (const user of unique) {
      expect([...(located.get(user) ?? [])].sort(), `${label}: ${user}`).toEqual(held.has(user) ? [...holders].sort() : []);
    }
    asker.destroy();
    return { outcome: 'answered', frames: answer.length, bytes, ms };
  }

  it('is refused or split to fit the asker, without stalling the relay or growing its memory past the frames involved', async () => {
    const relay = await spawnFuzzRelay({ secret: SECRET, heartbeatIntervalMs: HEARTBEAT_MS, maxFrameBytes: 1 * MiB });
    // Eight nodes with 255-byte ids, each holding the same users: the first HELD of the ids
    // asked about, and the 26 one-letter users of the reported frame.
    const holders = Array.from({ length: HOLDERS }, (_, i) => `${String.fromCharCode(0x41 + i)}${'h'.repeat(254)}`);
    const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x41 + i));
    const peers = await Promise.all(holders.map((id) => admit(relay.port, id)));
    for (const { peer } of peers) {
      keepAlive(peer);
      peer.write(frame(presencePayload(PresenceOp.ONLINE, userList(letters))));
      peer.write(frame(presencePayload(PresenceOp.ONLINE, bulkUserList(HELD, ID_BYTES, true))));
    }
    const ids = bulkUserIds(ASKED, ID_BYTES);
    const held = new Set([...letters, ...ids.slice(0, HELD)]);
    // Presence is applied in order: a small LOCATE after it finds every holder.
    const probe = frame(locatePayload(0, Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.of(ID_BYTES), Buffer.from(ids[HELD - 1]!)])));
    for (let tries = 0; ; tries++) {
      const { peer } = await admit(relay.port, `checker-${tries}`);
      peer.write(probe);
      const nodes = decodeLocated(await peer.nextFrame(10_000)).located.get(ids[HELD - 1]!) ?? [];
      peer.destroy();
      if (nodes.length === HOLDERS) break;
      if (tries > 200) {
        const states = peers.map(({ peer: p }) => `${p.isClosed ? 'closed' : 'open'} ${errorCode(p) ?? ''}`);
        throw new Error(`presence not applied: ${nodes.length} holders (${states.join(', ')})`);
      }
      await sleep(100);
    }
    const honest = new HonestPair(relay.port, SECRET);
    await honest.start();
    await sleep(300);
    await relay.nextStat();
    const baseline = relay.memory().rss;
    relay.resetPeaks();
    relay.watchdog(baseline + 2048 * MiB);

    const results: string[] = [];
    const check = async (label: string, locate: Buffer, asked: readonly string[], features: number, extraBytes: number): Promise<void> => {
      relay.resetPeaks();
      const base = relay.memory().rss;
      const r = await askAndCheck(relay, label, locate, asked, held, holders, features);
      // The LOCATE itself and its answer (at most what the asker takes, or what it asked for split in parts), twice, and heap slack.
      const bound = base + 4 * MiB + 2 * extraBytes + 64 * MiB;
      results.push(
        `${label}: ${r.outcome} in ${r.ms} ms with ${r.frames} frames (${mib(r.bytes)}); relay peak ${mib(relay.memory().peak)}, stall ${relay.lagMaxMs} ms`,
      );
      expect(relayProblems(relay, bound, HEARTBEAT_MS), label).toEqual([]);
      expect(honest.problems(), label).toEqual([]);
    };

    try {
      // As reported: a 1 MB LOCATE of 500,000 one-byte ids (26 users, each held by all eight, asked again and again).
      const reported = Buffer.alloc(4 + 500_000 * 2);
      reported.writeUInt32LE(500_000, 0);
      for (let i = 0; i < 500_000; i++) reported.writeUInt16LE(1 | ((0x41 + (i % 26)) << 8), 4 + 2 * i);
      const reportedIds = Array.from({ length: 500_000 }, (_, i) => String.fromCharCode(0x41 + (i % 26)));
      await check('500,000 one-byte ids', frame(locatePayload(1, reported)), reportedIds, 0, 0);

      // The same frame size, every id a distinct user (the first 10,000 held by all eight): an answer of ~22 MB.
      await check(`${ASKED} distinct users`, frame(locatePayload(2, bulkUserList(ASKED, ID_BYTES, true))), ids, 0, 0);
      await check(
        `${ASKED} distinct users, split answers read`,
        frame(locatePayload(3, bulkUserList(ASKED, ID_BYTES, true))),
        ids,
        LOCATE_PARTS,
        0,
      );

      // Within the relay's default maxLocateIds (10,000), still an answer of ~21 MB: refused without split answers, split with them.
      const answerBytes = HELD * (1 + ID_BYTES + 2 + HOLDERS * 256);
      await check('10,000 users', frame(locatePayload(4, bulkUserList(HELD, ID_BYTES, true))), ids.slice(0, HELD), 0, 0);
      await check(
        '10,000 users, split answers read',
        frame(locatePayload(5, bulkUserList(HELD, ID_BYTES, true))),
        ids.slice(0, HELD),
        LOCATE_PARTS,
        answerBytes,
      );
    } finally {
      console.log(`LOCATE with ${HOLDERS} holders of 255-byte ids (relay baseline ${mib(baseline)}):\n  ${results.join('\n  ')}`);
    }
    expect(await honest.finish()).toEqual([]);
    for (const { peer } of peers) expect(peer.isClosed, 'a holder was closed').toBe(false);
  }, 120_000);
});

describe('regressions: a LOCATE within maxLocateIds about users held by many nodes', () => {
  const HOLDERS = 64;
  const USERS = 10_000;
  const MAX_OUTBOUND = 8 * MiB;

  it('answered in parts (the asker reads them) costs the relay no more than maxOutboundBytes, or is refused', async () => {
    const { relay, honest } = await relayWithHonestNodes({ maxFrameBytes: 1 * MiB, maxOutboundBytes: MAX_OUTBOUND });
    // 64 nodes with 255-byte ids, each holding the same 10,000 users (a 40 KB PRESENCE each).
    const online = frame(presencePayload(PresenceOp.ONLINE, bulkUserList(USERS, 3, true)));
    const holders: RawPeer[] = [];
    for (let i = 0; i < HOLDERS; i++) {
      const { peer } = await admit(relay.port, `${String(i).padStart(3, '0')}${'h'.repeat(252)}`);
      keepAlive(peer);
      peer.write(online);
      holders.push(peer);
    }
    await sleep(500);
    await relay.nextStat();
    const baseline = relay.memory().rss;
    relay.resetPeaks();
    relay.watchdog(baseline + 2048 * MiB);

    // A 40 KB LOCATE: the whole answer would be 10,000 x 64 x 256 bytes, about 160 MB.
    const { peer: asker } = await admit(relay.port, 'asker', { features: LOCATE_PARTS, maxFrameBytes: CLIENT_MAX_FRAME });
    const before = asker.received.length;
    const started = Date.now();
    asker.write(frame(locatePayload(1, bulkUserList(USERS, 3, true))));
    await asker.until(
      () => asker.isClosed || asker.received.slice(before).some((p) => p[0] === FrameType.ERROR || p[0] === FrameType.LOCATED),
      60_000,
      'an answer',
    );
    const answer = asker.received.slice(before);
    const bytes = answer.reduce((n, p) => n + p.length, 0);
    // Its outbound buffer, the LOCATE, and slack for the heap.
    const bound = baseline + 2 * MAX_OUTBOUND + 4 * MiB + 64 * MiB;
    console.log(
      `LOCATE of ${USERS} users x ${HOLDERS} holders: ${errorCode(asker) ?? `${answer.length} frames, ${mib(bytes)}`} in ${Date.now() - started} ms; ` +
        `relay peak ${mib(relay.memory().peak)} (baseline ${mib(baseline)}, bound ${mib(bound)}); longest stall ${relay.lagMaxMs} ms`,
    );
    for (const p of answer) expect(p.length).toBeLessThanOrEqual(CLIENT_MAX_FRAME);
    expect(relayProblems(relay, bound, HEARTBEAT_MS)).toEqual([]);
    const code = errorCode(asker);
    if (code !== undefined) expect(code).toBe('ERR_LIMIT');
    expect(await honest.finish()).toEqual([]);
  }, 60_000);
});

describe('regressions: CONSUMED', () => {
  it('with settled exactly 2^31 ahead of what was written is ERR_PROTOCOL at once, and the relay carries on', async () => {
    const { relay, honest } = await relayWithHonestNodes({});
    const { peer } = await admit(relay.port, 'consumer', { features: 0x08, once: { incarnation: Buffer.alloc(8, 7), window: 1024 } });
    relay.resetPeaks();
    const started = Date.now();
    // taken 1, settled 2^31 (serial arithmetic cannot tell whether that is ahead or behind), window 1024.
    peer.write(frame(consumedPayload(1, 0x8000_0000, 1024)));
    await peer.until(() => errorCode(peer) !== undefined || peer.isClosed, 30_000, 'an ERROR').catch(() => {});
    const ms = Date.now() - started;
    await peer.waitClosed(3_000).catch(() => {});
    await sleep(300);
    // The relay still admits nodes once the offender is gone.
    const admitted = await admit(relay.port, 'after').then(
      () => true,
      () => false,
    );
    console.log(
      `CONSUMED settled 2^31: answered ${errorCode(peer) ?? 'nothing'} after ${ms} ms; longest stall ${relay.lagMaxMs} ms; relay ${relay.alive ? 'alive' : 'dead'}`,
    );
    expect(relayProblems(relay, Number.POSITIVE_INFINITY, 500)).toEqual([]);
    expect(errorCode(peer)).toBe('ERR_PROTOCOL');
    expect(ms).toBeLessThan(1_000);
    expect(admitted).toBe(true);
    expect(await honest.finish()).toEqual([]);
  }, 60_000);
});
