import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameDecoder, FrameWriter } from '../../src/codec/index.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import {
  FailureReason,
  FrameType,
  NONCE_BYTES,
  PAYLOAD_KIND_SHIFT,
  PayloadKind,
  PROOF_BYTES,
  RouteFlags,
  RouteSpans,
  Scratch,
  decodeControl,
  decodeDeliver,
  decodeReport,
  decodeRoute,
  encodeControl,
  encodeDeliver,
  encodeReport,
  encodeRouteHeader,
  scanRoute,
  writeDeliver,
  writeStampedDeliver,
  writeReport,
  writeRouteFrame,
  type ControlFrame,
  type ReportFrame,
  type RouteTable,
} from '../../src/protocol/index.js';

const MAX_U64 = '18446744073709551615';

/** Decodes the whole output of a writer into frame payloads. */
function framesOf(writer: FrameWriter): Buffer[] {
  const decoder = new FrameDecoder({ maxFrameBytes: 16 * 1024 * 1024 });
  for (const part of writer.take()) decoder.push(part);
  const out: Buffer[] = [];
  for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(Buffer.from(p));
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

/** The payload of one length-prefixed frame, checking that the prefix is exact. */
function payloadOf(frame: Buffer): Buffer {
  expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
  return frame.subarray(4);
}

/** Encodes a whole ROUTE payload the way the client does. */
function routePayload(table: RouteTable, payload: string | Uint8Array, flags = 0, seq = 1): Buffer {
  const scratch = new Scratch(16);
  const writer = new FrameWriter();
  const headerBytes = encodeRouteHeader(scratch, flags, seq, table);
  writeRouteFrame(writer, scratch, headerBytes, payload, 16 * 1024 * 1024);
  const frames = framesOf(writer);
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

function expectProtocolError(fn: () => unknown, label?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, label).toBeInstanceOf(RelayError);
  expect((thrown as RelayError).code, label).toBe(ErrorCodes.PROTOCOL);
}

function patterned(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + seed * 17) & 0xff;
  return out;
}

describe('control frames round-trip', () => {
  const nonce = patterned(NONCE_BYTES, 3);
  const frames: ControlFrame[] = [
    {
      type: FrameType.HELLO,
      minVersion: 1,
      maxVersion: 3,
      nodeId: 'im-1 ✓',
      maxFrameBytes: 1024 * 1024 + 1024,
      features: 0x01,
      nonce,
    },
    { type: FrameType.CHALLENGE, version: 1, nonce },
    { type: FrameType.AUTH, proof: patterned(PROOF_BYTES, 9) },
    {
      type: FrameType.WELCOME,
      version: 1,
      maxFrameBytes: 0xffff_ffff,
      heartbeatMs: 10_000,
      features: 0x01,
      sessionId: patterned(NONCE_BYTES, 5),
      proof: patterned(PROOF_BYTES, 11),
    },
    {
      type: FrameType.WELCOME,
      version: 1,
      maxFrameBytes: 1,
      heartbeatMs: 0,
      features: 0,
      sessionId: patterned(NONCE_BYTES, 6),
      proof: Buffer.alloc(0),
    },
    { type: FrameType.PING },
    { type: FrameType.PONG },
    { type: FrameType.ERROR, code: ErrorCodes.FRAME_TOO_LARGE, message: 'frame of 9 bytes exceeds — ünïcode' },
    { type: FrameType.ERROR, code: ErrorCodes.TIMEOUT, message: '' },
    { type: FrameType.GOODBYE, code: ErrorCodes.SHUTDOWN, message: 'the relay is shutting down' },
  ];

  for (const frame of frames) {
    it(`0x${frame.type.toString(16)} (${JSON.stringify(Object.keys(frame))}) decodes to what was encoded`, () => {
      const encoded = encodeControl(frame);
      expect(decodeControl(payloadOf(encoded))).toEqual(frame);
    });
  }

  it('decodes through a FrameDecoder fed one byte at a time', () => {
    const stream = Buffer.concat(frames.map(encodeControl));
    const decoder = new FrameDecoder();
    const out: ControlFrame[] = [];
    for (const byte of stream) {
      decoder.push(Buffer.of(byte));
      for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(decodeControl(Buffer.from(p)));
    }
    expect(out).toEqual(frames);
  });

  for (const frame of frames) {
    it(`0x${frame.type.toString(16)} truncated at every byte offset raises ERR_PROTOCOL`, () => {
      const payload = payloadOf(encodeControl(frame));
      for (let k = 0; k < payload.length; k++) {
        expectProtocolError(() => decodeControl(payload.subarray(0, k)), `cut at ${k} of ${payload.length}`);
      }
    });
  }

  it('rejects an unknown type, a non-control type, an empty hello node id and trailing bytes where the layout is closed', () => {
    expectProtocolError(() => decodeControl(Buffer.of(0x7f)));
    expectProtocolError(() => decodeControl(Buffer.of(FrameType.ROUTE, 0, 0, 0, 0, 0, 0, 0)));
    const hello = payloadOf(
      encodeControl({ type: FrameType.HELLO, minVersion: 1, maxVersion: 1, nodeId: 'x', maxFrameBytes: 1, features: 0, nonce }),
    );
    const emptyId = Buffer.concat([hello.subarray(0, 3), Buffer.of(0), hello.subarray(5)]);
    expectProtocolError(() => decodeControl(emptyId));
    expectProtocolError(() => decodeControl(Buffer.of(FrameType.PING, 0)));
    expectProtocolError(() => decodeControl(Buffer.concat([payloadOf(encodeControl({ type: FrameType.PONG })), Buffer.of(1)])));
    expectProtocolError(() =>
      decodeControl(Buffer.concat([payloadOf(encodeControl({ type: FrameType.AUTH, proof: patterned(PROOF_BYTES) })), Buffer.of(1)])),
    );
  });

  it('rejects an error frame whose text is not UTF-8', () => {
    const bad = Buffer.concat([Buffer.of(FrameType.ERROR, 1), Buffer.from('E'), Buffer.of(2, 0, 0xc3, 0x28)]);
    expectProtocolError(() => decodeControl(bad));
  });
});

describe('ROUTE frames', () => {
  it('round-trips through encodeRouteHeader + writeRouteFrame + decodeRoute', () => {
    const table = { 'im-2': ['c', 'd'], 'im-3': ['e', 'f', 'g'], 'узел-4': ['ü'] };
    const payload = Buffer.from(JSON.stringify({ text: 'hi' }));
    const flags = RouteFlags.REPORT | (PayloadKind.JSON << PAYLOAD_KIND_SHIFT);
    const route = decodeRoute(routePayload(table, payload, flags, 0xfffffffe));
    expect(route.seq).toBe(0xfffffffe);
    expect(route.flags).toBe(flags);
    expect(route.kind).toBe(PayloadKind.JSON);
    expect([...route.hosts]).toEqual(Object.entries(table));
    expect(route.payload.equals(payload)).toBe(true);
  });

  it('accepts a Map and leaves out hosts with no users', () => {
    const table = new Map<string, string[]>([
      ['a', ['1']],
      ['empty', []],
      ['b', ['2', '3']],
    ]);
    const route = decodeRoute(routePayload(table, 'text payload', PayloadKind.TEXT << PAYLOAD_KIND_SHIFT));
    expect([...route.hosts]).toEqual([
      ['a', ['1']],
      ['b', ['2', '3']],
    ]);
    expect(route.kind).toBe(PayloadKind.TEXT);
    expect(route.payload.toString('utf8')).toBe('text payload');
  });

  it('carries a 64-bit user id given as bigint or string as the exact decimal string, and number ids as strings', () => {
    const route = decodeRoute(routePayload({ h: [18446744073709551615n, 42, 0, Number.MAX_SAFE_INTEGER, 'x'] }, ''));
    expect(route.hosts.get('h')).toEqual([MAX_U64, '42', '0', String(Number.MAX_SAFE_INTEGER), 'x']);
  });

  it('writes a user named twice, in any of its forms, once per host, at its first place', () => {
    const p = routePayload({ a: [42, '42', 'x', 42n, MAX_U64, 18446744073709551615n, 'x'], b: ['42'] }, 'm');
    const spans = new RouteSpans();
    scanRoute(p, spans);
    // The count on the wire is the users written, not the users given.
    expect(p.readUInt32LE(spans.usersStart(0))).toBe(3);
    expect(decodeRoute(p).hosts).toEqual(
      new Map([
        ['a', ['42', 'x', MAX_U64]],
        ['b', ['42']],
      ]),
    );
  });

  it('refuses ids it cannot carry exactly, and empty ones', () => {
    const scratch = new Scratch();
    const code = (table: unknown): string | undefined => {
      try {
        encodeRouteHeader(scratch, 0, 1, table as RouteTable);
        return undefined;
      } catch (err) {
        return (err as RelayError).code;
      }
    };
    expect(code({ h: [2 ** 64] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ h: [1.5] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ h: [''] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ '': ['a'] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ h: ['x'.repeat(256)] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ ['h'.repeat(256)]: ['a'] })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ h: 'a' })).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(code({ h: ['x'.repeat(255)] })).toBeUndefined();
  });

  it('round-trips string, small binary and large (shared) binary payloads byte for byte', () => {
    for (const payload of [
      'plain',
      '€'.repeat(5000),
      patterned(10),
      patterned(64 * 1024, 7),
      new Uint8Array(patterned(9000, 2)),
      Buffer.alloc(0),
    ]) {
      const route = decodeRoute(routePayload({ n: ['u'] }, payload));
      const expected = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
      expect(route.payload.equals(expected)).toBe(true);
    }
  });

  it('round-trips arbitrary tables and payloads (property)', () => {
    const id = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => Buffer.byteLength(s) <= 255);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(id, fc.array(id, { minLength: 1, maxLength: 5 })), {
          minLength: 1,
          maxLength: 6,
          selector: ([h]) => h,
        }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (entries, payload, seq) => {
          const route = decodeRoute(routePayload(Object.fromEntries(entries), payload, 0, seq));
          expect(route.seq).toBe(seq);
          // Object key order may differ from insertion for integer-like keys; compare as maps.
          // A user named twice for a host is carried once, at its first place.
          expect(new Map(route.hosts)).toEqual(new Map(entries.map(([h, users]) => [h, [...new Set(users)]])));
          expect(Buffer.from(route.payload).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a route with an empty payload, truncated at every byte offset, raises ERR_PROTOCOL', () => {
    const p = routePayload({ 'im-2': ['c', 'dd'], 'im-3': [MAX_U64] }, Buffer.alloc(0));
    expect(decodeRoute(p).payload.length).toBe(0);
    for (let k = 0; k < p.length; k++) {
      expectProtocolError(() => decodeRoute(p.subarray(0, k)), `cut at ${k} of ${p.length}`);
      if (k >= 1) expectProtocolError(() => scanRoute(p.subarray(0, k), new RouteSpans()), `scan cut at ${k}`);
    }
  });

  it('a route with a payload, truncated anywhere inside its routing table, raises ERR_PROTOCOL', () => {
    const p = routePayload({ a: ['1', '22', '333'], bb: ['4'] }, 'payload');
    const spans = new RouteSpans();
    scanRoute(p, spans);
    for (let k = 0; k < spans.payloadStart; k++) {
      expectProtocolError(() => decodeRoute(p.subarray(0, k)), `cut at ${k} of ${spans.payloadStart}`);
    }
  });

  it('rejects a zero-length host, a zero-length user id and a user count larger than the frame', () => {
    // type, flags, seq, host count 1 | host len 0
    const emptyHost = Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0x61);
    expectProtocolError(() => decodeRoute(emptyHost));
    // host "h", 1 user of length 0
    const emptyUser = Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 1, 0, 1, 0x68, 1, 0, 0, 0, 0, 0x61);
    expectProtocolError(() => decodeRoute(emptyUser));
    // host "h", user count 1000 with two bytes of users after it
    const tooMany = Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 1, 0, 1, 0x68, 0xe8, 0x03, 0, 0, 1, 0x61);
    expectProtocolError(() => decodeRoute(tooMany));
    const huge = Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 1, 0, 1, 0x68, 0xff, 0xff, 0xff, 0xff, 1, 0x61);
    expectProtocolError(() => decodeRoute(huge));
    // two hosts announced, one present
    const missingHost = Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 2, 0, 1, 0x68, 1, 0, 0, 0, 1, 0x61);
    expectProtocolError(() => decodeRoute(missingHost));
    // a user id whose length runs past the frame
    const longUser = Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 1, 0, 1, 0x68, 1, 0, 0, 0, 9, 0x61);
    expectProtocolError(() => decodeRoute(longUser));
    expectProtocolError(() => decodeRoute(Buffer.of(FrameType.DELIVER, 0, 0, 0, 0, 0, 0, 0)));
  });

  it('scanRoute never reads the payload: garbage after the table scans fine and is handed on exactly', () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x85, 0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0x00]);
    const header = routePayload({ 'im-2': ['c'] }, Buffer.alloc(0));
    const p = Buffer.concat([header, garbage]);
    const spans = new RouteSpans();
    scanRoute(p, spans);
    expect(spans.hostCount).toBe(1);
    expect(spans.payloadStart).toBe(header.length);
    expect(p.subarray(spans.payloadStart).equals(garbage)).toBe(true);
    const route = decodeRoute(p);
    expect(route.payload.equals(garbage)).toBe(true);
    // A view, not a copy: the relay forwards these very bytes.
    expect(route.payload.buffer).toBe(p.buffer);

    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const q = Buffer.concat([header, bytes]);
        scanRoute(q, spans);
        expect(Buffer.compare(q.subarray(spans.payloadStart), Buffer.from(bytes))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('ROUTE frames inside a larger buffer', () => {
  it('scanRoute and writeDeliver work in place, between other bytes, reading nothing outside [start, end)', () => {
    const p = routePayload({ a: ['1', '2'], b: [MAX_U64] }, 'hello', RouteFlags.REPORT);
    const before = Buffer.from([0xde, 0xad, 0xbe]);
    const after = Buffer.from([0x05, 0x00, 0x00, 0x00, 0x01]);
    const chunk = Buffer.concat([before, p, after]);
    const start = before.length;
    const end = start + p.length;
    const spans = new RouteSpans();
    scanRoute(chunk, spans, start, end);
    expect(spans.end).toBe(end);
    expect(chunk.subarray(spans.payloadStart, end).toString()).toBe('hello');
    const writer = new FrameWriter();
    const origin = Buffer.from([4, ...Buffer.from('im-9')]);
    for (let i = 0; i < spans.hostCount; i++) {
      const view = spans.chunkView(chunk);
      writeDeliver(writer, origin, spans.flags, chunk, spans.usersStart(i), spans.usersEnd(i), spans.payloadStart, end, undefined, view);
    }
    expect(
      framesOf(writer)
        .map(decodeDeliver)
        .map(({ from, users, payload }) => ({ from, users, payload: payload.toString() })),
    ).toEqual([
      { from: 'im-9', users: ['1', '2'], payload: 'hello' },
      { from: 'im-9', users: [MAX_U64], payload: 'hello' },
    ]);
  });

  it('a table that claims bytes past `end` is malformed even when the buffer goes on', () => {
    const p = routePayload({ a: ['1', '2'] }, '', 0);
    const chunk = Buffer.concat([p, Buffer.alloc(64, 1)]);
    expect(() => scanRoute(chunk, new RouteSpans(), 0, p.length - 1)).toThrowError(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
  });
});

describe('DELIVER frames', () => {
  /**
   * `view`: the payload's view is passed (as the relay does), or not (copied
   * from the route); `words`: a DataView of the route is passed (short runs
   * copied by words, as the relay does), or not (as the Redis transport does).
   */
  function viaWriteDeliver(
    table: RouteTable,
    payload: string | Uint8Array,
    from: string,
    flags: number,
    view: boolean,
    words: boolean,
  ): Buffer[] {
    const p = routePayload(table, payload, flags);
    const spans = new RouteSpans();
    scanRoute(p, spans);
    const origin = Buffer.concat([Buffer.of(Buffer.byteLength(from)), Buffer.from(from)]);
    const shared = view ? p.subarray(spans.payloadStart) : undefined;
    const writer = new FrameWriter();
    for (let i = 0; i < spans.hostCount; i++) {
      const routeView = words ? spans.chunkView(p) : undefined;
      writeDeliver(writer, origin, spans.flags, p, spans.usersStart(i), spans.usersEnd(i), spans.payloadStart, p.length, shared, routeView);
    }
    return framesOf(writer);
  }

  it('writeDeliver copies each host its own users and the same payload bytes (small, mid-sized and shared payloads, with and without views)', () => {
    // User lists and payloads either side of the loop's 32 bytes and the word copy's 192.
    const long = ['u'.repeat(40), 'v'.repeat(3)];
    const longer = ['w'.repeat(200), 'z'];
    const cases = [patterned(5), patterned(100), patterned(191), patterned(192), patterned(1000), patterned(64 * 1024, 3)].flatMap(
      (payload) => [true, false].flatMap((view) => [true, false].map((words) => [payload, view, words] as const)),
    );
    for (const [payload, view, words] of cases) {
      const flags = RouteFlags.REPORT | (PayloadKind.BINARY << PAYLOAD_KIND_SHIFT);
      const frames = viaWriteDeliver({ a: ['1', '2'], b: [MAX_U64], d: long, e: longer, c: ['x'] }, payload, 'im-1', flags, view, words);
      const decoded = frames.map(decodeDeliver);
      expect(decoded.map(({ from, users, kind }) => ({ from, users, kind }))).toEqual([
        { from: 'im-1', users: ['1', '2'], kind: PayloadKind.BINARY },
        { from: 'im-1', users: [MAX_U64], kind: PayloadKind.BINARY },
        { from: 'im-1', users: long, kind: PayloadKind.BINARY },
        { from: 'im-1', users: longer, kind: PayloadKind.BINARY },
        { from: 'im-1', users: ['x'], kind: PayloadKind.BINARY },
      ]);
      for (const d of decoded) expect(d.payload.equals(payload)).toBe(true);
      // The REPORT flag is the sender's business: it does not travel on to receivers.
      for (const f of frames) expect(f[1]).toBe(PayloadKind.BINARY << PAYLOAD_KIND_SHIFT);
    }
  });

  it("writeStampedDeliver carries the origin, its incarnation and the seq before each host's users", () => {
    const p = routePayload({ a: ['1', '2'], b: ['w'.repeat(50)] }, 'hi', RouteFlags.REPORT);
    const spans = new RouteSpans();
    scanRoute(p, spans);
    const incarnation = Buffer.from('0102030405060708', 'hex');
    const stampedOrigin = Buffer.concat([Buffer.of(4), Buffer.from('im-7'), incarnation]);
    const writer = new FrameWriter();
    for (let i = 0; i < spans.hostCount; i++) {
      const view = p.subarray(spans.payloadStart);
      writeStampedDeliver(
        writer,
        stampedOrigin,
        spans.flags,
        0xfffffffe,
        p,
        spans.usersStart(i),
        spans.usersEnd(i),
        spans.payloadStart,
        p.length,
        view,
        spans.chunkView(p),
      );
    }
    expect(
      framesOf(writer)
        .map(decodeDeliver)
        .map(({ from, users, payload, stamp }) => ({ from, users, payload: payload.toString(), stamp })),
    ).toEqual([
      { from: 'im-7', users: ['1', '2'], payload: 'hi', stamp: { incarnation, seq: 0xfffffffe } },
      { from: 'im-7', users: ['w'.repeat(50)], payload: 'hi', stamp: { incarnation, seq: 0xfffffffe } },
    ]);
  });

  it('encodeDeliver then decodeDeliver round-trips', () => {
    for (const kind of [PayloadKind.JSON, PayloadKind.TEXT, PayloadKind.BINARY, PayloadKind.CUSTOM]) {
      const payload = patterned(33, kind);
      const d = decodeDeliver(encodeDeliver('節點-1', ['u1', MAX_U64], kind, payload));
      expect(d).toEqual({ from: '節點-1', users: ['u1', MAX_U64], kind, payload });
    }
    expect(decodeDeliver(encodeDeliver('n', [], PayloadKind.TEXT, Buffer.alloc(0)))).toEqual({
      from: 'n',
      users: [],
      kind: PayloadKind.TEXT,
      payload: Buffer.alloc(0),
    });
  });

  it('truncated anywhere before its payload raises ERR_PROTOCOL', () => {
    const p = encodeDeliver('im-1', ['a', 'bb'], PayloadKind.TEXT, Buffer.from('hello'));
    const payloadStart = p.length - 5;
    for (let k = 0; k < payloadStart; k++) {
      expectProtocolError(() => decodeDeliver(p.subarray(0, k)), `cut at ${k}`);
    }
  });

  it('rejects a zero-length user id and a user count larger than the frame', () => {
    const good = encodeDeliver('o', ['a'], PayloadKind.TEXT, Buffer.alloc(0));
    const emptyUser = Buffer.from(good);
    emptyUser[good.length - 2] = 0;
    expectProtocolError(() => decodeDeliver(emptyUser));
    const tooMany = Buffer.from(good);
    tooMany.writeUInt32LE(1000, 4);
    expectProtocolError(() => decodeDeliver(tooMany));
  });
});

describe('REPORT frames', () => {
  it('writeReport lists delivered hosts and each failed host with its reason and users, straight from the route', () => {
    const p = routePayload({ a: ['1'], b: ['2', MAX_U64], c: ['3'], d: ['4'] }, 'payload', RouteFlags.REPORT, 77);
    const spans = new RouteSpans();
    scanRoute(p, spans);
    const outcomes = Uint8Array.of(0, FailureReason.OFFLINE, FailureReason.OVERFLOW, FailureReason.REFUSED);
    const writer = new FrameWriter();
    writeReport(writer, p, spans, outcomes, true);
    writeReport(writer, p, spans, Uint8Array.of(0, 0, 0, 0), false);
    const [full, none] = framesOf(writer);
    expect(decodeReport(full!)).toEqual({
      seq: 77,
      full: true,
      delivered: ['a'],
      failed: [
        { host: 'b', reason: FailureReason.OFFLINE, users: ['2', MAX_U64] },
        { host: 'c', reason: FailureReason.OVERFLOW, users: ['3'] },
        { host: 'd', reason: FailureReason.REFUSED, users: ['4'] },
      ],
    });
    expect(decodeReport(none!)).toEqual({ seq: 77, full: false, delivered: ['a', 'b', 'c', 'd'], failed: [] });
  });

  const report: ReportFrame = {
    seq: 0xffffffff,
    full: true,
    delivered: ['im-2', 'im-3'],
    failed: [
      { host: 'im-4', reason: FailureReason.OFFLINE, users: ['e', MAX_U64] },
      { host: 'im-5', reason: FailureReason.OVERFLOW, users: ['f'] },
    ],
  };

  it('encodeReport then decodeReport round-trips', () => {
    expect(decodeReport(encodeReport(report))).toEqual(report);
    const empty: ReportFrame = { seq: 0, full: false, delivered: [], failed: [] };
    expect(decodeReport(encodeReport(empty))).toEqual(empty);
  });

  it('writeReport and encodeReport produce the same bytes', () => {
    const p = routePayload({ a: ['1'], b: ['2', '3'] }, 'x', RouteFlags.REPORT, 5);
    const spans = new RouteSpans();
    scanRoute(p, spans);
    const writer = new FrameWriter();
    writeReport(writer, p, spans, Uint8Array.of(0, FailureReason.OFFLINE), true);
    const [written] = framesOf(writer);
    const encoded = encodeReport({
      seq: 5,
      full: true,
      delivered: ['a'],
      failed: [{ host: 'b', reason: FailureReason.OFFLINE, users: ['2', '3'] }],
    });
    expect(written!.equals(encoded)).toBe(true);
  });

  it('truncated at every byte offset, or with trailing bytes, raises ERR_PROTOCOL', () => {
    const p = encodeReport(report);
    for (let k = 0; k < p.length; k++) expectProtocolError(() => decodeReport(p.subarray(0, k)), `cut at ${k}`);
    expectProtocolError(() => decodeReport(Buffer.concat([p, Buffer.of(0)])));
  });

  it('rejects a user count larger than the frame and a zero-length user id', () => {
    const p = encodeReport({ seq: 1, full: true, delivered: [], failed: [{ host: 'h', reason: 1, users: ['u'] }] });
    // type, flags, seq(4), delivered(2), failed(2), host(2), reason(1) -> user count at 13
    const tooMany = Buffer.from(p);
    tooMany.writeUInt32LE(500, 13);
    expectProtocolError(() => decodeReport(tooMany));
    const emptyUser = Buffer.from(p);
    emptyUser[17] = 0;
    expectProtocolError(() => decodeReport(emptyUser));
  });
});
