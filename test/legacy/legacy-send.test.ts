/**
 * What a RelayClient in the legacy dialect writes for `send`, and reads for a
 * delivery (src/client/legacy-wire.ts): a message that cannot be a
 * TransmitMap is refused with ERR_MESSAGE naming the offending key before
 * anything is written; a valid one goes out byte for byte as Go writes it.
 */
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameWriter } from '../../src/codec/index.js';
import { readLegacyFrame, writeLegacySend } from '../../src/client/legacy-wire.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import { coerceMessage, messageFromJson } from '../../src/legacy/index.js';

const U64_MAX = '18446744073709551615';

/** The payloads `writer` holds, each checked to be one whole frame. */
function payloadsOf(writer: FrameWriter): string[] {
  const decoder = new FrameDecoder();
  for (const part of writer.take()) decoder.push(part);
  const out: string[] = [];
  for (let p = decoder.next(); p !== undefined; p = decoder.next()) out.push(p.toString('utf8'));
  expect(decoder.bufferedBytes).toBe(0);
  return out;
}

/** Sends `message` to `table` through a fresh writer: the error it throws, after checking nothing was written. */
function refusal(table: Record<string, unknown[]>, message: unknown): RelayError {
  const writer = new FrameWriter();
  try {
    writeLegacySend(writer, table as Record<string, string[]>, message, 1 << 20);
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    expect(writer.frames).toBe(0);
    expect(writer.length).toBe(0);
    return err as RelayError;
  }
  throw new Error(`expected ${JSON.stringify(String(message))} to be refused`);
}

class Message {
  id = 'm';
}

describe('legacy send: a message that cannot be a TransmitMap is refused with ERR_MESSAGE before anything is written', () => {
  it("the issue's case: { text: 'x' } names the key text, instead of sending an all-zero TransmitMap", () => {
    const err = refusal({ 'im-3': [5] }, { text: 'x' });
    expect(err.code).toBe(ErrorCodes.MESSAGE);
    expect(err.message).toBe('legacy message key "text" is not one of the fields id, from, to, type, contentType, time, content');
  });

  it.each<[string, unknown, RegExp]>([
    ['a string', 'hello', /plain object .* got "hello"/],
    ['a number', 7, /plain object .* got 7/],
    ['null', null, /plain object .* got null/],
    ['undefined', undefined, /plain object .* got undefined/],
    ['an array', [{ id: 'm' }], /plain object .* got an array/],
    ['a Buffer', Buffer.from('{"id":"m"}'), /plain object .* got an instance of Buffer/],
    ['a Map', new Map([['id', 'm']]), /plain object .* got an instance of Map/],
    ['a Date', new Date(0), /plain object .* got an instance of Date/],
    ['a class instance', new Message(), /plain object .* got an instance of Message/],
  ])('not a plain object: %s', (_, message, text) => {
    const err = refusal({ h: [1] }, message);
    expect(err.code).toBe(ErrorCodes.MESSAGE);
    expect(err.message).toMatch(text);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown key next to valid ones', { id: 'm', from: 1, body: 'x' }, '"body" is not one of the fields'],
    ['users, which is the routing table', { id: 'm', users: { h: [1] } }, '"users": the users go in send\'s first argument'],
    ['Users, capitalised as Go names it', { id: 'm', Users: { h: [1] } }, '"Users": the users go in send\'s first argument'],
    ['two keys for one field', { id: 'a', ID: 'b' }, 'keys "id" and "ID" both name the field id'],
    ['no field at all', {}, 'needs at least one of the fields id, from, to, type, contentType, time, content'],
    ['only undefined fields', { id: undefined, content: undefined }, 'needs at least one of the fields'],
    ['id that is no string', { id: 5 }, 'key "id" must be a string, got 5'],
    ['time that is no string', { id: 'm', time: new Date(0) }, 'key "time" must be a string'],
    ['content that is no string', { content: ['hi'] }, 'key "content" must be a string, got an array'],
    ['a negative from', { from: -1 }, 'key "from" must be an unsigned 64-bit integer'],
    ['a fractional to', { to: 1.5 }, 'key "to" must be an unsigned 64-bit integer'],
    ['an unsafe number to', { to: 2 ** 53 + 2 }, 'key "to" must be an unsigned 64-bit integer'],
    ['a from above 2^64-1', { from: 2n ** 64n }, 'key "from" must be an unsigned 64-bit integer'],
    ['a from with a leading zero', { From: '007' }, 'key "From" must be an unsigned 64-bit integer'],
    ['a type given as a string', { type: '2' }, 'key "type" must be an integer from 0 to 4294967295, got "2"'],
    ['a contentType above 2^32-1', { contentType: 2 ** 32 }, 'key "contentType" must be an integer from 0 to 4294967295'],
  ])('%s', (_, message, text) => {
    const err = refusal({ h: [1] }, message);
    expect(err.code).toBe(ErrorCodes.MESSAGE);
    expect(err.message).toContain(text);
  });

  it('a bad message is refused even when the table has no users, as a binary send refuses an unserialisable one', () => {
    expect(refusal({ h: [] }, { text: 'x' }).code).toBe(ErrorCodes.MESSAGE);
    expect(refusal({}, 'text').code).toBe(ErrorCodes.MESSAGE);
  });

  it('user ids that are not unsigned 64-bit integers, and a table that is none, are ERR_INVALID_ARGUMENT', () => {
    expect(refusal({ h: ['alice'] }, { id: 'm' }).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(refusal({ h: [-1] }, { id: 'm' }).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(refusal({ h: 'x' as unknown as unknown[] }, { id: 'm' }).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(refusal(null as unknown as Record<string, unknown[]>, { id: 'm' }).code).toBe(ErrorCodes.INVALID_ARGUMENT);
  });
});

describe('legacy send: a valid message goes out byte for byte as Go writes it', () => {
  it('every field, 64-bit ids exact, strings escaped as Go escapes them', () => {
    const writer = new FrameWriter();
    const hosts = writeLegacySend(
      writer,
      { '10.0.0.3:40110': [5], '10.0.0.2:51234': [3, BigInt(U64_MAX)] },
      { id: 'g1', from: 1n, to: '77', type: 2, contentType: 1, time: '2024-05-01 10:00:00', content: 'hi <all> & 你好' },
      1 << 20,
    );
    expect(hosts).toBe(2);
    expect(payloadsOf(writer)).toEqual([
      `{"users":{"10.0.0.2:51234":[3,${U64_MAX}],"10.0.0.3:40110":[5]},"id":"g1","from":1,"to":77,"type":2,"contentType":1,"time":"2024-05-01 10:00:00","content":"hi \\u003call\\u003e \\u0026 你好"}`,
    ]);
  });

  it('fields left out are zero values; null is the zero value; Go-style capitalised keys name their fields', () => {
    const writer = new FrameWriter();
    writeLegacySend(writer, { h: [1] }, { ID: 'x', ContentType: 3, time: null, Content: 'c' }, 1 << 20);
    expect(payloadsOf(writer)).toEqual(['{"users":{"h":[1]},"id":"x","from":0,"to":0,"type":0,"contentType":3,"time":"","content":"c"}']);
  });

  it('an object without a prototype, and a heartbeat (type 0 alone), are messages too', () => {
    const writer = new FrameWriter();
    writeLegacySend(writer, { h: [1] }, Object.assign(Object.create(null) as object, { id: 'n' }), 1 << 20);
    writeLegacySend(writer, { h: [1] }, { type: 0 }, 1 << 20);
    expect(payloadsOf(writer)).toEqual([
      '{"users":{"h":[1]},"id":"n","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}',
      '{"users":{"h":[1]},"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}',
    ]);
  });

  it('a user named twice for one host ([42, "42", 42n]) is written once', () => {
    const writer = new FrameWriter();
    writeLegacySend(writer, { h: [42, '42', 7, 42n] }, { id: 'm' }, 1 << 20);
    expect(payloadsOf(writer)).toEqual(['{"users":{"h":[42,7]},"id":"m","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}']);
  });

  it('a table whose hosts have no users writes nothing and returns 0', () => {
    const writer = new FrameWriter();
    expect(writeLegacySend(writer, { h: [] }, { id: 'm' }, 1 << 20)).toBe(0);
    expect(writer.frames).toBe(0);
  });
});

describe('legacy deliveries', () => {
  it('name each user once, however often the document lists them, across hosts too', () => {
    const frame = readLegacyFrame(
      Buffer.from('{"users":{"a":[5,5,6],"b":[6,7]},"id":"m","from":1,"to":2,"type":2,"contentType":0,"time":"","content":"x"}'),
    );
    expect(frame).toEqual({
      type: 'delivery',
      users: ['5', '6', '7'],
      message: { id: 'm', from: '1', to: '2', type: 2, contentType: 0, time: '', content: 'x' },
    });
  });
});

describe("the relay reading a binary node's message for a legacy node stays as lenient as a Go hub", () => {
  it('keys that name no field are dropped, and keys match case-insensitively', () => {
    expect(messageFromJson(Buffer.from('{"id":"m","from":"1","To":"18446744073709551615","extra":true}'))).toEqual({
      id: 'm',
      from: '1',
      to: U64_MAX,
      type: 0,
      contentType: 0,
      time: '',
      content: '',
    });
  });

  it("coerceMessage, the sender's check, is the strict one", () => {
    expect(() => coerceMessage({ id: 'm', extra: true })).toThrow(expect.objectContaining({ code: ErrorCodes.MESSAGE }));
  });
});
