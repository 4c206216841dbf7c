/**
 * No public function of the codec or the protocol throws a bare RangeError or
 * a raw Node error: a caller's bad input is ERR_INVALID_ARGUMENT (or
 * ERR_FRAME_TOO_LARGE for a size), a peer's bad bytes ERR_PROTOCOL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../../src/codec/index.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import {
  FailureReason,
  FrameType,
  PayloadKind,
  PresenceOp,
  Scratch,
  decodeAck,
  decodeControl,
  decodeDeliver,
  decodeLocate,
  decodeLocated,
  decodePresence,
  decodeReport,
  decodeRoute,
  encodeControl,
  encodeDeliver,
  encodeLocate,
  encodeLocated,
  encodePresence,
  encodeReport,
  readUserList,
  scanSendUsers,
  writeUserList,
  type ControlFrame,
} from '../../src/protocol/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(RelayError);
    return (err as RelayError).code;
  }
  throw new Error('expected a throw');
}

const long = 'u'.repeat(300);
const nonce = Buffer.alloc(16);

describe("a caller's bad input is ERR_INVALID_ARGUMENT", () => {
  const cases: Array<[string, () => unknown]> = [
    ['encodeLocate with a 300-byte user id (what locate() sends)', () => encodeLocate(1, [long])],
    ['encodeLocate with an empty user id', () => encodeLocate(1, [''])],
    ['encodeLocate with a user id that is no string', () => encodeLocate(1, [5 as unknown as string])],
    ['encodePresence with a 300-byte user id', () => encodePresence(PresenceOp.ONLINE, ['a', long])],
    ['encodePresence with users that are no array', () => encodePresence(PresenceOp.ONLINE, 'abc' as unknown as string[])],
    ['encodeLocated with a 300-byte node id', () => encodeLocated(1, [['u', [long]]])],
    ['encodeReport with a 300-byte host', () => encodeReport({ seq: 1, full: true, delivered: [long], failed: [] })],
    ['encodeReport with an empty delivered host', () => encodeReport({ seq: 1, full: true, delivered: [''], failed: [] })],
    [
      'encodeReport with an empty user id',
      () => encodeReport({ seq: 1, full: true, delivered: [], failed: [{ host: 'h', reason: FailureReason.OFFLINE, users: [''] }] }),
    ],
    ['encodeDeliver with a 300-byte origin', () => encodeDeliver(long, ['u'], PayloadKind.TEXT, Buffer.alloc(0))],
    ['encodeDeliver with a 300-byte user id', () => encodeDeliver('o', [long], PayloadKind.TEXT, Buffer.alloc(0))],
    ['encodeDeliver with a payload that is no bytes', () => encodeDeliver('o', ['u'], PayloadKind.TEXT, 'x' as unknown as Buffer)],
    ['writeUserList with a 300-byte user id', () => writeUserList(new Scratch(), 0, ['a', long])],
    ['writeUserList with users that are no array', () => writeUserList(new Scratch(), 0, 5 as unknown as string[])],
    [
      'encodeControl HELLO with a short nonce',
      () =>
        encodeControl({
          type: FrameType.HELLO,
          minVersion: 1,
          maxVersion: 1,
          nodeId: 'n',
          maxFrameBytes: 1,
          features: 0,
          nonce: Buffer.alloc(3),
        }),
    ],
    [
      'encodeControl CHALLENGE with no nonce',
      () => encodeControl({ type: FrameType.CHALLENGE, version: 1, nonce: undefined as unknown as Buffer }),
    ],
    ['encodeControl AUTH with a short proof', () => encodeControl({ type: FrameType.AUTH, proof: Buffer.alloc(31) })],
    [
      'encodeControl WELCOME with a 256-byte proof',
      () =>
        encodeControl({
          type: FrameType.WELCOME,
          version: 1,
          maxFrameBytes: 1,
          heartbeatMs: 1,
          features: 0,
          sessionId: nonce,
          proof: Buffer.alloc(256),
        }),
    ],
    [
      'encodeControl ERROR with no code',
      () => encodeControl({ type: FrameType.ERROR, code: undefined as unknown as string, message: 'm' }),
    ],
    ['encodeControl with a type that is no control frame', () => encodeControl({ type: FrameType.ROUTE } as unknown as ControlFrame)],
    ['new FrameWriter(0)', () => new FrameWriter(0)],
    ['new FrameWriter(1.5)', () => new FrameWriter(1.5)],
    ['FrameWriter#appendFrame with no bytes', () => new FrameWriter().appendFrame('x' as unknown as Buffer)],
    ['FrameWriter#appendReference with no bytes', () => new FrameWriter().appendReference(null as unknown as Buffer)],
    ['FrameWriter#appendEncoded with no bytes', () => new FrameWriter().appendEncoded(7 as unknown as Buffer)],
  ];

  it.each(cases)('%s', (_, fn) => {
    expect(codeOf(fn)).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it('FrameWriter#reserve of more than a 4-byte length can say is ERR_FRAME_TOO_LARGE, and commits nothing', () => {
    const writer = new FrameWriter();
    expect(codeOf(() => writer.reserve(2 ** 32, 0))).toBe(ErrorCodes.FRAME_TOO_LARGE);
    expect(writer.frames).toBe(0);
    expect(writer.length).toBe(0);
  });

  it('an empty host is allowed only where it means "no host": a NOWHERE entry', () => {
    expect(() =>
      encodeReport({ seq: 1, full: true, delivered: [], failed: [{ host: '', reason: FailureReason.NOWHERE, users: ['u'] }] }),
    ).not.toThrow();
  });
});

describe("a peer's bytes only ever raise ERR_PROTOCOL", () => {
  const decoders: Array<[string, (p: Buffer) => unknown]> = [
    ['decodeControl', decodeControl],
    ['decodeRoute', decodeRoute],
    ['decodeDeliver', decodeDeliver],
    ['decodeReport', decodeReport],
    ['decodePresence', decodePresence],
    ['decodeLocate', decodeLocate],
    ['decodeLocated', decodeLocated],
    ['decodeAck', (p) => decodeAck(p)],
    ['scanSendUsers', scanSendUsers],
    ['readUserList', (p) => readUserList(p, 0)],
  ];
  const firstBytes = [...Object.values(FrameType), 0, 0x7f, 0xff];

  it.each(decoders)('%s: random bytes return or throw ERR_PROTOCOL (property)', (_, decode) => {
    fc.assert(
      fc.property(fc.constantFrom(...firstBytes), fc.uint8Array({ maxLength: 64 }), (type, rest) => {
        const p = Buffer.concat([Buffer.of(type), rest]);
        try {
          decode(p);
        } catch (err) {
          expect(err).toBeInstanceOf(RelayError);
          expect((err as RelayError).code).toBe(ErrorCodes.PROTOCOL);
        }
        // An empty payload too.
        try {
          decode(Buffer.alloc(0));
        } catch (err) {
          expect((err as RelayError).code).toBe(ErrorCodes.PROTOCOL);
        }
      }),
      { numRuns: 400 },
    );
  });
});
