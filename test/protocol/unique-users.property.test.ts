/**
 * Each user once per delivery: every writer of a user list (the ROUTE
 * writer, writeUserList for SEND_USERS, encodeDeliver) and every reader off
 * the hot path (readUserList) keeps the first occurrence of each user and
 * drops the rest, in order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameWriter } from '../../src/codec/index.js';
import {
  PayloadKind,
  Scratch,
  decodeDeliver,
  decodeRoute,
  decodeUserList,
  encodeDeliver,
  readUserList,
  userIdToString,
  writeRoute,
  writeUserList,
  type UserId,
} from '../../src/protocol/index.js';
import { dropRepeats } from '../../src/protocol/unique-ids.js';

/** The reference: wire strings, first occurrence of each kept, in order. */
function firstOccurrences(ids: readonly UserId[]): string[] {
  return [...new Set(ids.map(userIdToString))];
}

function routeOf(table: Record<string, UserId[]>): Pick<ReturnType<typeof decodeRoute>, 'hosts'> {
  const writer = new FrameWriter();
  // No host with users: nothing is written.
  if (writeRoute(writer, 0, 1, table, 'payload', 1 << 24) === 0) return { hosts: new Map() };
  const decoder = new FrameDecoder({ maxFrameBytes: 1 << 24 });
  for (const part of writer.take()) decoder.push(part);
  return decodeRoute(Buffer.from(decoder.next()!));
}

// Few distinct users, so that lists repeat them often; each in the forms a caller may use.
const userId: fc.Arbitrary<UserId> = fc
  .integer({ min: 0, max: 12 })
  .chain((k) => fc.constantFrom<UserId>(k, String(k), BigInt(k), `user-${k}`, `é${k}`, '😀'.repeat((k % 3) + 1)));
// Short lists take one path, lists over 32 another: cover both.
const userList = fc.oneof(fc.array(userId, { maxLength: 8 }), fc.array(userId, { minLength: 30, maxLength: 90 }));

describe('each user once per list', () => {
  it('writeRoute writes each host its users once, first occurrence order kept (property)', () => {
    fc.assert(
      fc.property(fc.array(userList, { minLength: 1, maxLength: 4 }), (lists) => {
        const table = Object.fromEntries(lists.map((users, i) => [`h${i}`, users]));
        const route = routeOf(table);
        const expected = new Map(lists.flatMap((users, i) => (users.length > 0 ? [[`h${i}`, firstOccurrences(users)] as const] : [])));
        expect(route.hosts).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('writeUserList (SEND_USERS) writes each user once, and the list decodes as written (property)', () => {
    fc.assert(
      fc.property(userList, fc.integer({ min: 0, max: 40 }), (users, at) => {
        // A small scratch, so that writing also grows it midway.
        const scratch = new Scratch(8);
        const end = writeUserList(scratch, at, users);
        const expected = firstOccurrences(users);
        expect(scratch.buf.readUInt32LE(at)).toBe(expected.length);
        expect(decodeUserList(scratch.buf, at, end)).toEqual(expected);
        expect(readUserList(scratch.buf.subarray(0, end), at)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('encodeDeliver writes each user once (property)', () => {
    fc.assert(
      fc.property(userList, (users) => {
        const wire = users.map(userIdToString);
        expect(decodeDeliver(encodeDeliver('n', wire, PayloadKind.TEXT, Buffer.from('m'))).users).toEqual(firstOccurrences(users));
      }),
      { numRuns: 200 },
    );
  });

  it('dropRepeats keeps the first of each, in order, in place (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'é', ''), { maxLength: 40 }), (ids) => {
        const copy = ids.slice();
        expect(dropRepeats(copy)).toBe(copy);
        expect(copy).toEqual([...new Set(ids)]);
      }),
      { numRuns: 300 },
    );
  });

  it('ids that agree on length, first, middle and last bytes but differ elsewhere are all kept', () => {
    // The writer hashes a few bytes of each id: these all hash alike and must still be told apart.
    const users = Array.from({ length: 40 }, (_, k) => `a${String.fromCharCode(0x41 + (k % 26))}${k < 26 ? 'x' : 'y'}mmm-zzz`);
    expect(new Set(users).size).toBe(40);
    expect(routeOf({ h: [...users, ...users] }).hosts.get('h')).toEqual(users);
    expect(routeOf({ h: users.slice(0, 20).concat(users.slice(0, 20)) }).hosts.get('h')).toEqual(users.slice(0, 20));
  });

  it('lists of ids that mostly hash alike, repeats among them, still come out exact (property)', () => {
    // Eight-byte ids over two letters agree on their sampled bytes often enough
    // that long lists switch to hashing every byte midway.
    const alike = fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(fc.array(alike, { maxLength: 400 }), (users) => {
        expect(routeOf({ h: users }).hosts.get('h') ?? []).toEqual([...new Set(users)]);
        const scratch = new Scratch();
        const end = writeUserList(scratch, 0, users);
        expect(decodeUserList(scratch.buf, 0, end)).toEqual([...new Set(users)]);
      }),
      { numRuns: 100 },
    );
  });

  it('a short list after a long one, and lists of one and two, are checked afresh', () => {
    expect(
      routeOf({ big: Array.from({ length: 500 }, (_, k) => k % 250), small: [1, 2, 1], one: [7], two: [5, '5'], pair: [5, 6] }).hosts,
    ).toEqual(
      new Map([
        ['big', Array.from({ length: 250 }, (_, k) => String(k))],
        ['small', ['1', '2']],
        ['one', ['7']],
        ['two', ['5']],
        ['pair', ['5', '6']],
      ]),
    );
  });

  it('sendToUsers([42, "42"]) and send({ h: [42, "42"] }) each name user 42 once', () => {
    const scratch = new Scratch();
    const end = writeUserList(scratch, 0, [42, '42']);
    expect(readUserList(scratch.buf.subarray(0, end), 0)).toEqual(['42']);
    expect(scratch.buf.readUInt32LE(0)).toBe(1);
    expect(routeOf({ 'im-2': [42, '42'] }).hosts.get('im-2')).toEqual(['42']);
  });
});
