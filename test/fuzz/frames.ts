/**
 * fast-check arbitraries for hostile traffic against a relay: well-formed
 * frames of every type (as a node could write them, and as only the relay
 * should), the same frames mutated (flipped bytes, truncations, wrong types,
 * counts that lie, invalid UTF-8, framing that lies about the length), legacy
 * JSON documents, and sessions: what one connection does, with or without a
 * correct handshake. A peer that knows the secret and then misbehaves is the
 * dangerous one, so most sessions complete the handshake first.
 *
 * Everything is built as raw bytes by hand rather than with the package's
 * encoders, which refuse what a hostile peer would send.
 */
import fc from 'fast-check';
import { FRAME_HEADER_BYTES } from '../../src/codec/index.js';
import { Features, FrameType, PresenceOp, nodeIdProblem } from '../../src/protocol/index.js';

/** The node ids of the honest nodes: no hostile session may take them over (a node with the secret may, by design). */
export const HONEST_IDS = ['honest-a', 'honest-b'] as const;

/** Node ids hostile sessions say hello with: short ones that replace each other, and 255-byte ones. */
export const HOSTILE_IDS: readonly string[] = [
  ...Array.from({ length: 12 }, (_, i) => `x${i}`),
  'L'.repeat(255),
  'M'.repeat(254) + 'z',
  'é'.repeat(127), // 254 bytes of two-byte characters
  '节点-7',
];

/** Users that presence frames, LOCATE and SEND_USERS keep coming back to, so that they find each other. */
export const POOL_USERS: readonly string[] = Array.from({ length: 48 }, (_, i) => `u${i}`);

/** What a generator needs to know about the relay under test. */
export interface FuzzLimits {
  /** The relay's `maxFrameBytes`. */
  maxFrameBytes: number;
}

// ---------------------------------------------------------------- raw builders

export function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16LE(v & 0xffff, 0);
  return b;
}

export function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

/** A one-byte length and the bytes (cut to 255). Empty ids are written as they are: a hostile peer does. */
export function id8(bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const cut = b.subarray(0, 255);
  return Buffer.concat([Buffer.of(cut.length), cut]);
}

/** A user list: a u32 count (which may lie: `count`), then the ids. */
export function userList(ids: ReadonlyArray<Buffer | string>, count = ids.length): Buffer {
  return Buffer.concat([u32(count), ...ids.map(id8)]);
}

/** The digits of the ids {@link bulkUserList} makes: printable, one byte each in UTF-8. */
const ID_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A user list of `count` ids of `idLen` bytes built in one buffer (for lists
 * of tens of thousands): distinct ids when `distinct` (up to 64^idLen of
 * them: the index from `salt` on, in base 64, right-aligned, `a` before it),
 * else a few repeated.
 */
export function bulkUserList(count: number, idLen: number, distinct: boolean, salt = 0): Buffer {
  const len = Math.max(1, Math.min(255, idLen));
  const buf = Buffer.alloc(4 + count * (1 + len), 0x61);
  buf.writeUInt32LE(count, 0);
  let pos = 4;
  for (let i = 0; i < count; i++) {
    buf[pos] = len;
    let n = distinct ? i + salt : (i % 7) + salt;
    for (let j = len; j >= 1; j--) {
      buf[pos + j] = ID_DIGITS.charCodeAt(n % 64);
      n = Math.floor(n / 64);
      if (n === 0 && j < len - 2) break;
    }
    pos += 1 + len;
  }
  return buf;
}

/** The ids of {@link bulkUserList} (with `distinct`), as strings. */
export function bulkUserIds(count: number, idLen: number, salt = 0): string[] {
  const list = bulkUserList(count, idLen, true, salt);
  const ids: string[] = [];
  for (let i = 0, pos = 4; i < count; i++, pos += 1 + idLen) ids.push(list.toString('latin1', pos + 1, pos + 1 + idLen));
  return ids;
}

/** The wire bytes of a frame: the 4-byte length, then the payload. */
export function frame(payload: Buffer): Buffer {
  return Buffer.concat([u32(payload.length), payload]);
}

/** What a HELLO says; fields are taken as they are, valid or not. */
export interface HelloSpec {
  minVersion: number;
  maxVersion: number;
  nodeId: Buffer;
  maxFrameBytes: number;
  features: number;
  /** Written after the nonce when present (a HELLO with the ONCE bit and no once is truncated). */
  once: { incarnation: Buffer; window: number } | undefined;
  trailing: Buffer;
}

export function helloPayload(h: HelloSpec, nonce: Buffer): Buffer {
  return Buffer.concat([
    Buffer.of(FrameType.HELLO, h.minVersion & 0xff, h.maxVersion & 0xff),
    id8(h.nodeId),
    u32(h.maxFrameBytes),
    u32(h.features),
    nonce,
    ...(h.once === undefined ? [] : [h.once.incarnation, u32(h.once.window)]),
    h.trailing,
  ]);
}

export function authPayload(proof: Buffer): Buffer {
  return Buffer.concat([Buffer.of(FrameType.AUTH), proof]);
}

export function presencePayload(op: number, list: Buffer): Buffer {
  return Buffer.concat([Buffer.of(FrameType.PRESENCE, op & 0xff), list]);
}

export function locatePayload(seq: number, list: Buffer): Buffer {
  return Buffer.concat([Buffer.of(FrameType.LOCATE), u32(seq), list]);
}

export function sendUsersPayload(flags: number, seq: number, list: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.of(FrameType.SEND_USERS, flags & 0xff), u32(seq), list, payload]);
}

export function routePayload(
  flags: number,
  seq: number,
  hosts: ReadonlyArray<readonly [Buffer, Buffer]>,
  payload: Buffer,
  hostCount = hosts.length,
): Buffer {
  const parts: Buffer[] = [Buffer.of(FrameType.ROUTE, flags & 0xff), u32(seq), u16(hostCount)];
  for (const [host, list] of hosts) parts.push(id8(host), list);
  parts.push(payload);
  return Buffer.concat(parts);
}

export function errorPayload(type: number, code: Buffer, text: Buffer): Buffer {
  return Buffer.concat([Buffer.of(type, code.length & 0xff), code.subarray(0, 255), u16(text.length), text.subarray(0, 0xffff)]);
}

export function consumedPayload(taken: number, settled: number, window: number): Buffer {
  return Buffer.concat([Buffer.of(FrameType.CONSUMED), u32(taken), u32(settled), u32(window)]);
}

// ---------------------------------------------------------------- values

const u32Arb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 4096 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
);

/** Sequences of bytes that are not UTF-8. */
const INVALID_UTF8: readonly Buffer[] = [
  Buffer.of(0xff),
  Buffer.of(0xc3, 0x28),
  Buffer.of(0xed, 0xa0, 0x80), // a surrogate half, encoded
  Buffer.of(0xe2, 0x82), // cut short
  Buffer.of(0xf8, 0x88, 0x80, 0x80, 0x80), // five bytes
  Buffer.of(0xc0, 0xaf), // overlong '/'
  Buffer.of(0x80),
];

const textId = fc.string({ minLength: 1, maxLength: 20 }).map((s) => Buffer.from(s, 'utf8'));
const unicodeId = fc
  .string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
  .map((s) => Buffer.from(s, 'utf8').subarray(0, 255))
  .filter((b) => b.length > 0);

/** A user id as bytes: mostly from the pool, sometimes anything a byte string can be. */
export const userIdArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...POOL_USERS).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: textId },
  { weight: 1, arbitrary: unicodeId },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 255 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }).map((n) => Buffer.alloc(n, 0x75)) },
  { weight: 1, arbitrary: fc.tuple(textId, fc.constantFrom(...INVALID_UTF8)).map(([a, b]) => Buffer.concat([a, b]).subarray(0, 255)) },
  { weight: 1, arbitrary: fc.constant(Buffer.from('18446744073709551615')) },
);

/** A host in a routing table: mostly a hostile node that may be connected, sometimes an honest one. */
export const hostArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_IDS).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.constantFrom(...HONEST_IDS).map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: userIdArb },
  { weight: 1, arbitrary: fc.constantFrom('127.0.0.2:1', '127.0.0.1:8333').map((s) => Buffer.from(s)) },
);

/** A node id a HELLO can carry and the relay accepts (never an honest node's). */
export const validNodeIdArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
  {
    weight: 1,
    arbitrary: fc
      .string({ minLength: 1, maxLength: 30, unit: 'grapheme' })
      .filter((s) => nodeIdProblem(s) === undefined && !(HONEST_IDS as readonly string[]).includes(s)),
  },
);

/** A small user list, or a bulk one of up to about `maxBytes`. */
function userListArb(maxBytes: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(userIdArb, { maxLength: 12 }).map((ids) => userList(ids)) },
    {
      weight: 1,
      arbitrary: fc
        .record({
          fraction: fc.double({ min: 0.01, max: 1, noNaN: true }),
          idLen: fc.integer({ min: 1, max: 255 }),
          distinct: fc.boolean(),
          salt: fc.nat(1000),
        })
        .map(({ fraction, idLen, distinct, salt }) => {
          const count = Math.max(1, Math.floor((fraction * Math.max(0, maxBytes - 4)) / (1 + idLen)));
          return bulkUserList(count, idLen, distinct, salt);
        }),
    },
  );
}

/** A message payload: JSON, text, bytes, or a large one. */
function messageArb(maxBytes: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: maxBytes }).map((n) => Buffer.alloc(n, 0x5a)) },
  );
}

/** Flags of a ROUTE or SEND_USERS: the REPORT bit, a payload kind, now and then unknown bits. */
const sendFlagsArb = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 })).map(([report, kind]) => (report ? 1 : 0) | (kind << 4)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

/** Every feature bit a node may announce (LOCATE_PARTS: a later revision). */
const FEATURE_BITS = [...new Set([...Object.values(Features), 0x10])];

const featuresArb = fc.oneof(
  { weight: 6, arbitrary: fc.subarray(FEATURE_BITS).map((bits) => bits.reduce((a, b) => a | b, 0)) },
  { weight: 1, arbitrary: u32Arb },
);

/** The frame size a hostile node announces: the default, tiny (so that nothing fits), or absurd. */
const helloMaxFrameArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(1024 * 1024 + 1024) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 16, 100, 1024, 65_536, 0xffff_ffff) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 * 1024 * 1024 }) },
);

/** A HELLO a relay should accept: a valid node id, version 1 on offer. */
export const helloArb: fc.Arbitrary<HelloSpec> = fc
  .record({
    nodeId: validNodeIdArb,
    maxFrameBytes: helloMaxFrameArb,
    features: featuresArb,
    window: fc.oneof({ weight: 4, arbitrary: fc.constant(1024) }, { weight: 1, arbitrary: u32Arb }),
    incarnation: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    maxVersion: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) }),
    trailing: fc.oneof(
      { weight: 8, arbitrary: fc.constant(Buffer.alloc(0)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
    ),
  })
  .map((r) => ({
    minVersion: 1,
    maxVersion: r.maxVersion,
    nodeId: Buffer.from(r.nodeId, 'utf8'),
    maxFrameBytes: r.maxFrameBytes,
    features: r.features,
    once: (r.features & Features.ONCE) !== 0 ? { incarnation: Buffer.from(r.incarnation), window: r.window } : undefined,
    trailing: r.trailing,
  }));

/** A HELLO of any shape: versions no one speaks, ids that are not ids, ONCE without its fields. */
const anyHelloArb: fc.Arbitrary<HelloSpec> = fc
  .record({
    base: helloArb,
    minVersion: fc.integer({ min: 0, max: 255 }),
    maxVersion: fc.integer({ min: 0, max: 255 }),
    nodeId: fc.oneof(
      userIdArb,
      fc.constantFrom(
        Buffer.alloc(0),
        Buffer.from(' x'),
        Buffer.from('x\n'),
        Buffer.from('\u0007'),
        Buffer.from('   '),
        Buffer.from('x\u0085'),
      ),
    ),
    dropOnce: fc.boolean(),
  })
  .map(({ base, minVersion, maxVersion, nodeId, dropOnce }) => ({
    ...base,
    minVersion,
    maxVersion,
    nodeId: (HONEST_IDS as readonly string[]).includes(nodeId.toString()) ? Buffer.from('not-honest') : nodeId,
    features: dropOnce ? base.features | Features.ONCE : base.features,
    once: dropOnce ? undefined : base.once,
  }));

// ---------------------------------------------------------------- frames

/** A frame payload with a label saying what it was meant to be. */
export interface Payload {
  label: string;
  bytes: Buffer;
}

/** Well-formed payloads of the frames a node may send after its handshake. */
function nodeFrameArb(limits: FuzzLimits): fc.Arbitrary<Payload> {
  const max = limits.maxFrameBytes;
  const p =
    (label: string) =>
    (bytes: Buffer): Payload => ({ label, bytes });
  const route = fc
    .record({
      flags: sendFlagsArb,
      seq: u32Arb,
      hosts: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.array(
            fc.tuple(
              hostArb,
              fc.array(userIdArb, { minLength: 1, maxLength: 6 }).map((ids) => userList(ids)),
            ),
            { maxLength: 5 },
          ),
        },
        { weight: 1, arbitrary: fc.tuple(hostArb, userListArb(max - 300)).map((h) => [h]) },
        // Many hosts, each with one user: a fan-out the relay validates before acting.
        {
          weight: 1,
          arbitrary: fc
            .integer({ min: 10, max: 3000 })
            .map((n) =>
              Array.from({ length: n }, (_, i) => [Buffer.from(HOSTILE_IDS[i % HOSTILE_IDS.length]!), userList(['u' + (i % 48)])] as const),
            ),
        },
      ),
      message: messageArb(max - 2000),
    })
    .map(({ flags, seq, hosts, message }) => ({ label: 'ROUTE', bytes: routePayload(flags, seq, hosts, message) }));
  const presence = fc
    .tuple(fc.constantFrom(PresenceOp.ONLINE, PresenceOp.OFFLINE, PresenceOp.RESET, PresenceOp.RESET_PART), userListArb(max - 2))
    .map(([op, list]) => ({ label: `PRESENCE/${op}`, bytes: presencePayload(op, list) }));
  const sendUsers = fc
    .record({ flags: sendFlagsArb, seq: u32Arb, list: userListArb(max / 2), message: messageArb(max / 2 - 100) })
    .map(({ flags, seq, list, message }) => ({ label: 'SEND_USERS', bytes: sendUsersPayload(flags, seq, list, message) }));
  const locate = fc.tuple(u32Arb, userListArb(max - 5)).map(([seq, list]) => ({ label: 'LOCATE', bytes: locatePayload(seq, list) }));
  const consumed = fc
    .oneof(
      fc.tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 4096 })),
      fc.tuple(u32Arb, u32Arb, u32Arb),
    )
    .map(([t, s, w]) => ({ label: 'CONSUMED', bytes: consumedPayload(t, Math.max(t, s), w) }));
  const control = fc.oneof(
    fc.constant({ label: 'PING', bytes: Buffer.of(FrameType.PING) }),
    fc.constant({ label: 'PONG', bytes: Buffer.of(FrameType.PONG) }),
    fc
      .tuple(
        fc.constantFrom(FrameType.ERROR, FrameType.GOODBYE),
        fc.constantFrom('ERR_CLOSED', 'ERR_PROTOCOL', 'ERR_WHATEVER', ''),
        fc.string({ maxLength: 60 }),
      )
      .map(([type, code, text]) => ({
        label: type === FrameType.ERROR ? 'ERROR' : 'GOODBYE',
        bytes: errorPayload(type, Buffer.from(code), Buffer.from(text)),
      })),
  );
  return fc.oneof(
    { weight: 8, arbitrary: route },
    { weight: 5, arbitrary: presence },
    { weight: 3, arbitrary: sendUsers },
    { weight: 3, arbitrary: locate },
    { weight: 2, arbitrary: consumed },
    { weight: 2, arbitrary: control },
    { weight: 2, arbitrary: wrongWayFrameArb },
    { weight: 1, arbitrary: anyHelloArb.map((h) => ({ label: 'HELLO', bytes: helloPayload(h, Buffer.alloc(16, 1)) })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => p('AUTH')(authPayload(Buffer.from(a)))) },
  );
}

/** Frames only a relay should send: a node that sends them is out of turn. */
const wrongWayFrameArb: fc.Arbitrary<Payload> = fc.oneof(
  fc
    .uint8Array({ minLength: 17, maxLength: 40 })
    .map((a) => ({ label: 'CHALLENGE', bytes: Buffer.concat([Buffer.of(FrameType.CHALLENGE), Buffer.from(a)]) })),
  fc
    .uint8Array({ minLength: 62, maxLength: 80 })
    .map((a) => ({ label: 'WELCOME', bytes: Buffer.concat([Buffer.of(FrameType.WELCOME), Buffer.from(a)]) })),
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), userIdArb, fc.array(userIdArb, { maxLength: 4 }), fc.uint8Array({ maxLength: 40 }))
    .map(([flags, origin, users, rest]) => ({
      label: 'DELIVER',
      bytes: Buffer.concat([Buffer.of(FrameType.DELIVER, flags), id8(origin), userList(users), Buffer.from(rest)]),
    })),
  fc
    .uint8Array({ minLength: 9, maxLength: 40 })
    .map((a) => ({ label: 'REPORT', bytes: Buffer.concat([Buffer.of(FrameType.REPORT), Buffer.from(a)]) })),
  fc.tuple(u32Arb, u32Arb).map(([a, b]) => ({ label: 'ACK', bytes: Buffer.concat([Buffer.of(FrameType.ACK), u32(a), u32(b)]) })),
  u32Arb.map((a) => ({ label: 'EXPIRE', bytes: Buffer.concat([Buffer.of(FrameType.EXPIRE), u32(a)]) })),
  fc
    .tuple(u32Arb, fc.uint8Array({ maxLength: 60 }))
    .map(([a, rest]) => ({ label: 'LOCATED', bytes: Buffer.concat([Buffer.of(FrameType.LOCATED), u32(a), Buffer.from(rest)]) })),
  // Types no version defines: inside the binary range, and outside it.
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }).filter((t) => t < FrameType.HELLO || t > FrameType.EXPIRE),
      fc.uint8Array({ maxLength: 60 }),
    )
    .map(([t, rest]) => ({ label: `TYPE_0x${t.toString(16)}`, bytes: Buffer.concat([Buffer.of(t), Buffer.from(rest)]) })),
);

/** One way to damage a payload; positions are taken modulo its length when applied. */
export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Buffer }
  | { kind: 'type'; type: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'utf8'; at: number; bytes: Buffer };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((a) => Buffer.from(a)) }),
  fc.record({ kind: fc.constant('type' as const), type: fc.oneof(fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0, max: 255 })) }),
  // Small offsets hit the counts and lengths of the frame's head (user counts, host counts, seqs).
  fc.record({ kind: fc.constant('u32' as const), at: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.nat()), value: u32Arb }),
  fc.record({
    kind: fc.constant('byte' as const),
    at: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.nat()),
    value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff),
  }),
  fc.record({ kind: fc.constant('utf8' as const), at: fc.nat(), bytes: fc.constantFrom(...INVALID_UTF8) }),
);

export function mutate(payload: Buffer, m: Mutation): Buffer {
  const n = payload.length;
  const b = Buffer.from(payload);
  switch (m.kind) {
    case 'flip':
      if (n > 0) b[m.at % n]! ^= m.mask;
      return b;
    case 'truncate':
      return b.subarray(0, n === 0 ? 0 : m.at % n);
    case 'append':
      return Buffer.concat([b, m.bytes]);
    case 'type':
      if (n > 0) b[0] = m.type;
      return n > 0 ? b : Buffer.of(m.type);
    case 'u32':
      if (n >= 5) b.writeUInt32LE(m.value >>> 0, 1 + (m.at % (n - 4 > 1 ? n - 4 : 1)));
      return b;
    case 'byte':
      if (n > 1) b[1 + (m.at % (n - 1))] = m.value;
      return b;
    case 'utf8': {
      // Over an id's bytes when it lands in one: the length byte stays, the text is no longer UTF-8.
      const at = n === 0 ? 0 : m.at % n;
      m.bytes.copy(b, at, 0, Math.min(m.bytes.length, n - at));
      return b;
    }
  }
}

/** How a frame's length prefix relates to its payload. */
export type Framing =
  | { kind: 'exact' }
  | { kind: 'delta'; delta: number }
  | { kind: 'length'; length: number }
  | { kind: 'over-limit'; by: number }
  | { kind: 'header-only'; length: number };

function framingArb(limits: FuzzLimits): fc.Arbitrary<Framing> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.constant({ kind: 'exact' as const }) },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: -8, max: 8 })
        .filter((d) => d !== 0)
        .map((delta) => ({ kind: 'delta' as const, delta })),
    },
    { weight: 1, arbitrary: u32Arb.map((length) => ({ kind: 'length' as const, length })) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constantFrom(1, 2, 1000), fc.integer({ min: 1, max: 0x7fff_ffff }))
        .map((by) => ({ kind: 'over-limit' as const, by })),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: limits.maxFrameBytes }).map((length) => ({ kind: 'header-only' as const, length })) },
  );
}

export function wire(payload: Buffer, framing: Framing, limits: FuzzLimits): Buffer {
  switch (framing.kind) {
    case 'exact':
      return frame(payload);
    case 'delta':
      return Buffer.concat([u32(Math.max(0, payload.length + framing.delta)), payload]);
    case 'length':
      return Buffer.concat([u32(framing.length), payload]);
    case 'over-limit':
      return Buffer.concat([u32(Math.min(0xffff_ffff, limits.maxFrameBytes + framing.by)), payload.subarray(0, 64)]);
    case 'header-only':
      // A length, and the payload of some other size: the stream is out of step from here on.
      return Buffer.concat([u32(framing.length), payload.subarray(0, Math.min(payload.length, framing.length - 1))]);
  }
}

/** A frame as it goes on the wire, with a label for reports. */
export interface WireFrame {
  label: string;
  bytes: Buffer;
}

function toWire(label: string, payload: Buffer, mutations: readonly Mutation[], framing: Framing, limits: FuzzLimits): WireFrame {
  let bytes = payload;
  for (const m of mutations) bytes = mutate(bytes, m);
  const tags = [...mutations.map((m) => m.kind), ...(framing.kind === 'exact' ? [] : [`framing:${framing.kind}`])];
  return { label: tags.length === 0 ? label : `${label}~${tags.join('+')}`, bytes: wire(bytes, framing, limits) };
}

/** A frame a node sends after its handshake: mostly well formed, a fair share damaged. */
export function postHandshakeFrameArb(limits: FuzzLimits): fc.Arbitrary<WireFrame> {
  return fc
    .record({
      payload: nodeFrameArb(limits),
      mutations: fc.oneof(
        { weight: 7, arbitrary: fc.constant([] as Mutation[]) },
        { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) },
      ),
      framing: framingArb(limits),
    })
    .map(({ payload, mutations, framing }) => toWire(payload.label, payload.bytes, mutations, framing, limits));
}

/** A frame from a peer that has not (yet) been admitted: anything, a HELLO of any shape included. */
export function preHandshakeFrameArb(limits: FuzzLimits): fc.Arbitrary<WireFrame> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(anyHelloArb, fc.uint8Array({ minLength: 16, maxLength: 16 }))
        .map(([h, nonce]) => ({ label: 'HELLO?', bytes: frame(helloPayload(h, Buffer.from(nonce))) })),
    },
    { weight: 3, arbitrary: postHandshakeFrameArb(limits) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => ({ label: 'bytes', bytes: Buffer.from(a) })) },
    { weight: 1, arbitrary: legacyDocArb.map((d) => ({ label: 'json', bytes: frame(d) })) },
    { weight: 1, arbitrary: fc.constant({ label: 'http', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: relay\r\n\r\n') }) },
  );
}

// ---------------------------------------------------------------- legacy documents

const u64Text = fc.oneof(
  fc.bigInt({ min: 0n, max: 18446744073709551615n }).map(String),
  fc.constantFrom('18446744073709551616', '-1', '1e3', '1.5', '0x10', '00', '"7"', 'null', 'true', '99999999999999999999999999'),
);

const legacyHostText = fc.oneof(
  fc.constantFrom(...HONEST_IDS, ...HOSTILE_IDS.slice(0, 4), '127.0.0.2:1', '127.0.0.1:1'),
  fc.string({ maxLength: 20 }),
);

/** A legacy TransmitMap document: often valid, often not. */
export const legacyDocArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        users: fc.array(fc.tuple(legacyHostText, fc.array(u64Text, { maxLength: 6 })), { maxLength: 4 }),
        id: fc.string({ maxLength: 12 }),
        from: u64Text,
        to: u64Text,
        type: fc.integer({ min: -2, max: 200 }),
        time: fc.string({ maxLength: 20 }),
        content: fc.string({ maxLength: 80, unit: 'grapheme' }),
        extra: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })),
      })
      .map((d) => {
        const users = d.users.map(([h, ids]) => `${JSON.stringify(h)}:[${ids.join(',')}]`).join(',');
        const extra =
          d.extra === null
            ? ''
            : Object.entries(d.extra)
                .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`)
                .join('');
        return Buffer.from(
          `{"users":{${users}},"id":${JSON.stringify(d.id)},"from":${d.from},"to":${d.to},"type":${d.type},"contentType":1,"time":${JSON.stringify(d.time)},"content":${JSON.stringify(d.content)}${extra}}`,
        );
      }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 100_000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 20_000 })
      .map((n) => Buffer.from(`{"users":{"x0":[${Array.from({ length: n }, (_, i) => i).join(',')}]},"content":"big"}`)),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        ...[
          '{"users":{"x0":["\\ud800"]}}',
          '{"users":',
          '{"users":{}}',
          '\ufeff{"users":{}}',
          ' \n{"id":"\\u0000"}',
          '{"users":{"x0":[1]},"users":{"x1":[2]}}',
        ],
      )
      .map((s) => Buffer.from(s)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constant(Buffer.from('{"users":{"x0":[1]},"content":"')), fc.constantFrom(...INVALID_UTF8), fc.constant(Buffer.from('"}')))
      .map((parts) => Buffer.concat(parts)),
  },
);

/** A legacy document as a frame, damaged now and then. */
function legacyFrameArb(limits: FuzzLimits): fc.Arbitrary<WireFrame> {
  return fc
    .record({
      doc: legacyDocArb,
      mutations: fc.oneof(
        { weight: 6, arbitrary: fc.constant([] as Mutation[]) },
        { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 2 }) },
      ),
      framing: framingArb(limits),
    })
    .map(({ doc, mutations, framing }) => toWire('LEGACY', doc, mutations, framing, limits));
}

// ---------------------------------------------------------------- sessions

/** How a session opens its connection. */
export type Opening =
  /** Nothing: its first frames are whatever the steps are. */
  | { kind: 'raw' }
  /** HELLO and the correct AUTH: an admitted node, which then misbehaves. */
  | { kind: 'auth'; hello: HelloSpec }
  /** HELLO, then an AUTH with a proof made with another secret, or random bytes. */
  | { kind: 'wrong-auth'; hello: HelloSpec; proof: 'other-secret' | 'random' | 'short' }
  /** HELLO, then straight to the steps without answering the CHALLENGE. */
  | { kind: 'skip-auth'; hello: HelloSpec }
  /** From an address the relay takes legacy Go nodes from: JSON documents. */
  | { kind: 'legacy' };

/** One frame, sent `repeat` times in a row. */
export interface Step {
  frame: WireFrame;
  repeat: number;
}

/** What one hostile connection does. */
export interface Session {
  opening: Opening;
  steps: Step[];
  /** 0: each frame in one write; else writes of at most this many bytes, so frames arrive in pieces. */
  chunk: number;
  /** Whether it reads what the relay sends (a peer that does not makes the relay's buffers fill). */
  reads: boolean;
  /** How it leaves: hangs up, cuts the connection, says goodbye, or waits to be closed. */
  ending: 'end' | 'destroy' | 'goodbye' | 'linger';
}

/** Most bytes one step may put on the wire, repeats included. */
export const MAX_STEP_BYTES = 24 * 1024 * 1024;

function stepArb(frameArb: fc.Arbitrary<WireFrame>): fc.Arbitrary<Step> {
  return fc
    .record({
      frame: frameArb,
      repeat: fc.oneof(
        { weight: 24, arbitrary: fc.constant(1) },
        { weight: 3, arbitrary: fc.integer({ min: 2, max: 20 }) },
        { weight: 1, arbitrary: fc.integer({ min: 50, max: 600 }) },
      ),
    })
    .map(({ frame: f, repeat }) => ({
      frame: f,
      repeat: Math.max(1, Math.min(repeat, Math.floor(MAX_STEP_BYTES / Math.max(1, f.bytes.length)))),
    }));
}

export function sessionArb(limits: FuzzLimits): fc.Arbitrary<Session> {
  const post = stepArb(postHandshakeFrameArb(limits));
  const pre = stepArb(preHandshakeFrameArb(limits));
  const opening = fc.oneof(
    { weight: 12, arbitrary: helloArb.map((hello) => ({ kind: 'auth' as const, hello })) },
    { weight: 3, arbitrary: fc.constant({ kind: 'raw' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(helloArb, fc.constantFrom('other-secret' as const, 'random' as const, 'short' as const))
        .map(([hello, proof]) => ({ kind: 'wrong-auth' as const, hello, proof })),
    },
    { weight: 1, arbitrary: helloArb.map((hello) => ({ kind: 'skip-auth' as const, hello })) },
    { weight: 3, arbitrary: fc.constant({ kind: 'legacy' as const }) },
  );
  return opening.chain((o) =>
    fc.record({
      opening: fc.constant(o as Opening),
      steps:
        o.kind === 'auth'
          ? fc.array(post, { maxLength: 24 })
          : o.kind === 'legacy'
            ? fc.array(fc.oneof({ weight: 4, arbitrary: stepArb(legacyFrameArb(limits)) }, { weight: 1, arbitrary: pre }), {
                maxLength: 12,
              })
            : fc.array(pre, { maxLength: 6 }),
      chunk: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 300 }) }),
      reads: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      ending: fc.constantFrom('end' as const, 'destroy' as const, 'goodbye' as const, 'linger' as const),
    }),
  );
}

/**
 * The frames of the security report, scaled to a relay's frame limit, as
 * sessions: the fuzz runs them as its first batch, every time. Each is an
 * admitted node (a 255-byte id, ONCE) that sends:
 * - 550 PRESENCE RESET_PARTs, a reset that never completes;
 * - 550 PRESENCE ONLINEs of new users;
 * - LOCATEs of as many ids as fit a frame: one-byte ids asked again and
 *   again, and distinct three-byte ids;
 * - a CONSUMED whose `settled` is 2^31 ahead (found by the fuzz).
 */
export function regressionSessions(limits: FuzzLimits): Session[] {
  const hello = (id: string): HelloSpec => ({
    minVersion: 1,
    maxVersion: 1,
    nodeId: Buffer.from(id.padEnd(255, '.')),
    maxFrameBytes: 1024 * 1024 + 1024,
    features: Features.FAILURE_NOTICES | Features.PRESENCE | Features.ACKS | Features.ONCE,
    once: { incarnation: Buffer.alloc(8, 1), window: 1024 },
    trailing: Buffer.alloc(0),
  });
  const room = limits.maxFrameBytes - 16;
  const perFrame = Math.floor(room / 256);
  const session = (id: string, steps: Step[]): Session => ({
    opening: { kind: 'auth', hello: hello(id) },
    steps,
    chunk: 0,
    reads: true,
    ending: 'goodbye',
  });
  const repeated = Buffer.alloc(4 + 2 * Math.floor(room / 2));
  repeated.writeUInt32LE(Math.floor(room / 2), 0);
  for (let i = 0; i < Math.floor(room / 2); i++) repeated.writeUInt16LE(1 | ((0x41 + (i % 26)) << 8), 4 + 2 * i);
  return [
    session(
      'reset-parts',
      Array.from({ length: 550 }, (_, i) => ({
        frame: {
          label: 'PRESENCE/4',
          bytes: frame(presencePayload(PresenceOp.RESET_PART, bulkUserList(perFrame, 255, true, i * perFrame))),
        },
        repeat: 1,
      })),
    ),
    session(
      'online',
      Array.from({ length: 550 }, (_, i) => ({
        frame: { label: 'PRESENCE/1', bytes: frame(presencePayload(PresenceOp.ONLINE, bulkUserList(perFrame, 255, true, i * perFrame))) },
        repeat: 1,
      })),
    ),
    session('locate-repeated', [{ frame: { label: 'LOCATE', bytes: frame(locatePayload(1, repeated)) }, repeat: 3 }]),
    session('locate-distinct', [
      { frame: { label: 'LOCATE', bytes: frame(locatePayload(2, bulkUserList(Math.floor(room / 4), 3, true))) }, repeat: 3 },
    ]),
    session('consumed', [{ frame: { label: 'CONSUMED', bytes: frame(consumedPayload(1, 0x8000_0000, 1024)) }, repeat: 1 }]),
  ];
}

/**
 * Bugs the fuzz has found and that are not fixed yet, by the frames that set
 * them off. With `IMRELAY_FUZZ_SKIP_KNOWN=1` the fuzz leaves such frames out,
 * so that a long run looks for something new instead of stopping at the
 * known. Empty this list as the bugs are fixed.
 */
export const KNOWN_BUGS: ReadonlyArray<{ name: string; sets_off: (bytes: Buffer) => boolean }> = [];

/** `s` without the steps that set off a {@link KNOWN_BUGS} entry; `skipped` counts them. */
export function withoutKnownBugs(s: Session, skipped: Map<string, number>): Session {
  const steps = s.steps.filter((step) => {
    const bug = KNOWN_BUGS.find((k) => k.sets_off(step.frame.bytes));
    if (bug !== undefined) skipped.set(bug.name, (skipped.get(bug.name) ?? 0) + 1);
    return bug === undefined;
  });
  return steps.length === s.steps.length ? s : { ...s, steps };
}

/** Frames a session puts on the wire (handshake frames and repeats included). */
export function framesOf(s: Session): number {
  const handshake = s.opening.kind === 'raw' || s.opening.kind === 'legacy' ? 0 : s.opening.kind === 'skip-auth' ? 1 : 2;
  return handshake + s.steps.reduce((n, step) => n + step.repeat, 0) + (s.ending === 'goodbye' ? 1 : 0);
}

/** A one-line description of a session, for failure messages (the bytes are saved apart). */
export function describeSession(s: Session): string {
  const steps = s.steps.map((st) => `${st.frame.label}(${st.frame.bytes.length}B)${st.repeat > 1 ? `x${st.repeat}` : ''}`).join(' ');
  const who =
    s.opening.kind === 'auth' || s.opening.kind === 'wrong-auth' || s.opening.kind === 'skip-auth'
      ? ` as ${JSON.stringify(short(s.opening.hello.nodeId.toString()))}`
      : '';
  return `${s.opening.kind}${who}: [${steps}] chunk=${s.chunk} reads=${s.reads} ending=${s.ending}`;
}

function short(text: string): string {
  return text.length > 24 ? `${text.slice(0, 12)}…(${Buffer.byteLength(text)} bytes)` : text;
}

/** The wire bytes of a session in hex, for a reproduction file. */
export function sessionToJson(s: Session): unknown {
  return {
    opening:
      s.opening.kind === 'auth' || s.opening.kind === 'wrong-auth' || s.opening.kind === 'skip-auth'
        ? {
            ...s.opening,
            hello: {
              ...s.opening.hello,
              nodeId: s.opening.hello.nodeId.toString('hex'),
              trailing: s.opening.hello.trailing.toString('hex'),
              once: s.opening.hello.once && {
                window: s.opening.hello.once.window,
                incarnation: s.opening.hello.once.incarnation.toString('hex'),
              },
            },
          }
        : s.opening,
    steps: s.steps.map((st) => ({ label: st.frame.label, repeat: st.repeat, hex: st.frame.bytes.toString('hex') })),
    chunk: s.chunk,
    reads: s.reads,
    ending: s.ending,
  };
}

/** The inverse of {@link sessionToJson}. */
export function sessionFromJson(j: ReturnType<typeof sessionToJson>): Session {
  const o = j as {
    opening: Record<string, unknown> & { kind: Opening['kind'] };
    steps: Array<{ label: string; repeat: number; hex: string }>;
    chunk: number;
    reads: boolean;
    ending: Session['ending'];
  };
  let opening: Opening = o.opening as Opening;
  if ('hello' in o.opening) {
    const h = o.opening.hello as { nodeId: string; trailing: string; once?: { window: number; incarnation: string } } & HelloSpec;
    opening = {
      ...(o.opening as object),
      hello: {
        ...h,
        nodeId: Buffer.from(h.nodeId as unknown as string, 'hex'),
        trailing: Buffer.from(h.trailing as unknown as string, 'hex'),
        once: h.once && { window: h.once.window, incarnation: Buffer.from(h.once.incarnation, 'hex') },
      },
    } as Opening;
  }
  return {
    opening,
    steps: o.steps.map((st) => ({ repeat: st.repeat, frame: { label: st.label, bytes: Buffer.from(st.hex, 'hex') } })),
    chunk: o.chunk,
    reads: o.reads,
    ending: o.ending,
  };
}

/** Bytes of the length prefix, re-exported for the runner. */
export { FRAME_HEADER_BYTES };
