import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import { encodeTransmitMap, parseTransmitMap, type TransmitMessage } from '../../src/legacy/index.js';

const UINT64_MAX = (1n << 64n) - 1n;

/** `s` with each lone surrogate replaced by U+FFFD. */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

const uint64 = fc
  .oneof(
    fc.bigInt({ min: 0n, max: UINT64_MAX }),
    fc.bigInt({ min: 0n, max: 1000n }),
    fc.constantFrom(0n, UINT64_MAX, UINT64_MAX - 1n, 1n << 53n, (1n << 53n) + 1n),
  )
  .map((n) => n.toString());

const uint32 = fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0, 1, 2, 100, 0xffff_ffff));

// Any UTF-16 code units, lone surrogates included, with the characters Go escapes well represented.
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 }),
  fc.string({
    unit: fc.constantFrom(
      '<',
      '>',
      '&',
      '"',
      '\\',
      '\n',
      '\b',
      '\u0000',
      '\u001f',
      '\u2028',
      '\u2029',
      '\ud800',
      '\udc00',
      '😀',
      '你',
      'a',
      '/',
      '\u007f',
    ),
    maxLength: 20,
  }),
);

const message: fc.Arbitrary<TransmitMessage> = fc.record({
  id: anyString,
  from: uint64,
  to: uint64,
  type: uint32,
  contentType: uint32,
  time: anyString,
  content: anyString,
});

const users = fc.option(
  fc.array(fc.tuple(anyString, fc.array(uint64, { maxLength: 6 })), { maxLength: 5 }).map((entries) => new Map(entries)),
  { nil: undefined },
);

function sanitizedUsers(map: Map<string, readonly string[]> | undefined): Map<string, string[]> | 'collision' {
  const out = new Map<string, string[]>();
  for (const [host, ids] of map ?? []) {
    const key = wellFormed(host);
    if (out.has(key)) return 'collision';
    out.set(key, [...ids]);
  }
  return out;
}

function isProtocolErrorOrNothing(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    return err instanceof RelayError && err.code === ErrorCodes.PROTOCOL;
  }
}

describe('legacy transmit properties', () => {
  it('encode then parse gives the same document (strings after lone-surrogate replacement)', () => {
    fc.assert(
      fc.property(users, message, (u, m) => {
        const expectedUsers = sanitizedUsers(u);
        if (expectedUsers === 'collision') {
          expect(() => encodeTransmitMap({ users: u, message: m })).toThrow(RelayError);
          return;
        }
        const doc = parseTransmitMap(encodeTransmitMap({ users: u, message: m }));
        expect(doc.message).toEqual({
          ...m,
          id: wellFormed(m.id),
          time: wellFormed(m.time),
          content: wellFormed(m.content),
        });
        expect(new Map(doc.users)).toEqual(expectedUsers);
      }),
      { numRuns: 1500 },
    );
  });

  it('encoding is canonical: encode(parse(encode(x))) equals encode(x)', () => {
    fc.assert(
      fc.property(users, message, (u, m) => {
        if (sanitizedUsers(u) === 'collision') return;
        const once = encodeTransmitMap({ users: u, message: m });
        expect(encodeTransmitMap(parseTransmitMap(once)).equals(once)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('encode output is JSON that JSON.parse reads back to the same strings and numbers', () => {
    fc.assert(
      fc.property(users, message, (u, m) => {
        const expectedUsers = sanitizedUsers(u);
        if (expectedUsers === 'collision') return;
        const out = encodeTransmitMap({ users: u, message: m });
        const text = out.toString('utf8');
        expect(Buffer.from(text, 'utf8').equals(out)).toBe(true); // valid UTF-8
        const json = JSON.parse(text) as Record<string, unknown>;
        const keys = Object.keys(json);
        expect(keys).toEqual([...(expectedUsers.size > 0 ? ['users'] : []), 'id', 'from', 'to', 'type', 'contentType', 'time', 'content']);
        expect(json.id).toBe(wellFormed(m.id));
        expect(json.time).toBe(wellFormed(m.time));
        expect(json.content).toBe(wellFormed(m.content));
        expect(json.type).toBe(m.type);
        expect(json.contentType).toBe(m.contentType);
        // JSON.parse rounds big values to the nearest double, as Number() does.
        expect(json.from).toBe(Number(m.from));
        expect(json.to).toBe(Number(m.to));
        if (expectedUsers.size > 0) {
          const parsedUsers = json.users as Record<string, number[]>;
          expect(new Set(Object.keys(parsedUsers))).toEqual(new Set(expectedUsers.keys()));
          for (const [host, ids] of expectedUsers) expect(parsedUsers[host]).toEqual(ids.map(Number));
        }
        // Only the characters Go escapes are escaped: no raw control characters, < > & or line separators.
        // eslint-disable-next-line no-control-regex -- raw control characters are what must not appear
        expect(text).not.toMatch(/[\u0000-\u001f<>&\u2028\u2029]/);
      }),
      { numRuns: 1500 },
    );
  });

  it('parses any string that JSON.stringify writes to the string itself (lone surrogates replaced)', () => {
    fc.assert(
      fc.property(anyString, anyString, (content, host) => {
        const doc = parseTransmitMap(Buffer.from(`{"content":${JSON.stringify(content)},"users":{${JSON.stringify(host)}:[1]}}`));
        expect(doc.message.content).toBe(wellFormed(content));
        expect([...doc.users.keys()]).toEqual([wellFormed(host)]);
      }),
      { numRuns: 1000 },
    );
  });

  it('skips any JSON value under an unknown key', () => {
    const unknownKey = fc
      .string({ maxLength: 12 })
      .filter((k) => !/^(users|id|from|to|type|contenttype|time|content)$/i.test(k.replace(/ſ/g, 's')));
    fc.assert(
      fc.property(fc.dictionary(unknownKey, fc.jsonValue({ maxDepth: 6 }), { maxKeys: 5 }), message, (extra, m) => {
        const known = encodeTransmitMap({ message: m }).toString('utf8');
        const extraText = JSON.stringify(extra);
        const body = extraText === '{}' ? known : `${extraText.slice(0, -1)},${known.slice(1)}`;
        const doc = parseTransmitMap(Buffer.from(body));
        expect(doc.message.id).toBe(wellFormed(m.id));
        expect(doc.message.from).toBe(m.from);
        expect(doc.message.content).toBe(wellFormed(m.content));
        expect(doc.users.size).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('any bytes: parse returns or throws a RelayError with code ERR_PROTOCOL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(isProtocolErrorOrNothing(() => parseTransmitMap(bytes))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('any JSON-like bytes: parse returns or throws a RelayError with code ERR_PROTOCOL', () => {
    const token = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '\\u',
      '\\ud800',
      '\\ude00',
      'null',
      'true',
      'false',
      '-',
      '0',
      '1',
      '.',
      'e',
      '18446744073709551616',
      '"users"',
      '"id"',
      '"from"',
      '"type"',
      '"USERS"',
      '"x"',
      ' ',
      '\n',
      'a',
      '\u00ff',
      '😀',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        expect(isProtocolErrorOrNothing(() => parseTransmitMap(Buffer.from(tokens.join(''))))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid documents: parse returns or throws a RelayError with code ERR_PROTOCOL', () => {
    const mutation = fc.record({
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
      kind: fc.constantFrom('set', 'insert', 'delete', 'truncate'),
    });
    fc.assert(
      fc.property(users, message, fc.array(mutation, { minLength: 1, maxLength: 4 }), (u, m, mutations) => {
        if (sanitizedUsers(u) === 'collision') return;
        const bytes = [...encodeTransmitMap({ users: u, message: m })];
        for (const { at, byte, kind } of mutations) {
          const i = bytes.length === 0 ? 0 : at % bytes.length;
          if (kind === 'set') bytes[i] = byte;
          else if (kind === 'insert') bytes.splice(i, 0, byte);
          else if (kind === 'delete') bytes.splice(i, 1);
          else bytes.length = i;
        }
        expect(isProtocolErrorOrNothing(() => parseTransmitMap(Uint8Array.from(bytes)))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
