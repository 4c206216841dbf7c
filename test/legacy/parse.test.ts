import { describe, expect, it } from 'vitest';
import { ErrorCodes, ProtocolError, RelayError } from '../../src/errors.js';
import { LEGACY_MAX_NESTING_DEPTH, parseTransmitMap, type TransmitMap } from '../../src/legacy/index.js';

function parse(input: string | Uint8Array | readonly number[]): TransmitMap {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input instanceof Uint8Array ? input : Uint8Array.from(input);
  return parseTransmitMap(bytes);
}

/** The error parsing `input` throws; fails the test when it returns. */
function errorOf(input: string | Uint8Array | readonly number[]): RelayError {
  try {
    parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error(`expected ${JSON.stringify(String(input))} to be rejected`);
}

function expectProtocolError(input: string | Uint8Array | readonly number[]): void {
  const err = errorOf(input);
  expect(err.code).toBe(ErrorCodes.PROTOCOL);
  expect(err).toBeInstanceOf(ProtocolError);
}

/** Parses `{"content":<json string literal>}` and returns the content. */
function content(literalBody: string | readonly number[]): string {
  const body = typeof literalBody === 'string' ? [...Buffer.from(literalBody, 'utf8')] : literalBody;
  const bytes = [...Buffer.from('{"content":"'), ...body, ...Buffer.from('"}')];
  return parse(bytes).message.content;
}

const ZERO_MESSAGE = { id: '', from: '0', to: '0', type: 0, contentType: 0, time: '', content: '' };

describe('parseTransmitMap: documents', () => {
  it('parses the example of the spec', () => {
    const doc = parse(
      '{"users":{"10.0.0.2:51234":[3,4],"10.0.0.3:40110":[5]},"id":"g1","from":1,"to":77,"type":2,"contentType":1,"time":"2024-05-01 10:00:00","content":"hi all"}',
    );
    expect([...doc.users]).toEqual([
      ['10.0.0.2:51234', ['3', '4']],
      ['10.0.0.3:40110', ['5']],
    ]);
    expect(doc.message).toEqual({
      id: 'g1',
      from: '1',
      to: '77',
      type: 2,
      contentType: 1,
      time: '2024-05-01 10:00:00',
      content: 'hi all',
    });
  });

  it('gives zero values for missing fields', () => {
    const doc = parse('{}');
    expect(doc.users).toBeInstanceOf(Map);
    expect(doc.users.size).toBe(0);
    expect(doc.message).toEqual(ZERO_MESSAGE);
    expect(parse('{"id":"x"}').message).toEqual({ ...ZERO_MESSAGE, id: 'x' });
  });

  it('accepts fields in any order', () => {
    const doc = parse('{"content":"c","time":"t","contentType":4,"type":3,"to":2,"from":1,"id":"i","users":{"h":[1]}}');
    expect(doc.message).toEqual({ id: 'i', from: '1', to: '2', type: 3, contentType: 4, time: 't', content: 'c' });
    expect([...doc.users]).toEqual([['h', ['1']]]);
  });

  it('accepts JSON whitespace between all tokens, and around the document', () => {
    const doc = parse(' \t\r\n{ \n"users" \t: {\r"h"\n:\t[ 1 , 2 ]\n, "g" : [ ] } ,\t"from"\r\n:\n5 , "id" : "x" }\n\t \r');
    expect([...doc.users]).toEqual([
      ['h', ['1', '2']],
      ['g', []],
    ]);
    expect(doc.message.from).toBe('5');
    expect(doc.message.id).toBe('x');
  });

  it('yields an empty map for an empty users object', () => {
    expect(parse('{"users":{}}').users.size).toBe(0);
    expect(parse('{"users": { } }').users.size).toBe(0);
  });

  it('keeps hosts as strings, with any characters', () => {
    const doc = parse('{"users":{"127.0.0.1:42522":[1],"[::1]:8333":[2],"":[3],"\\u00e9\\"x":[4]}}');
    expect([...doc.users.keys()]).toEqual(['127.0.0.1:42522', '[::1]:8333', '', 'é"x']);
  });

  it('keeps uint64 values exact', () => {
    const doc = parse(
      '{"users":{"h":[0,9007199254740993,18446744073709551615,18446744073709551614,10000000000000000000]},"from":18446744073709551615,"to":9007199254740993}',
    );
    expect(doc.users.get('h')).toEqual(['0', '9007199254740993', '18446744073709551615', '18446744073709551614', '10000000000000000000']);
    expect(doc.message.from).toBe('18446744073709551615');
    expect(doc.message.to).toBe('9007199254740993');
  });

  it('reads uint32 fields up to 4294967295', () => {
    const doc = parse('{"type":4294967295,"contentType":0}');
    expect(doc.message.type).toBe(4294967295);
    expect(doc.message.contentType).toBe(0);
  });

  it('accepts any Uint8Array, including a view with an offset', () => {
    const text = 'xx{"id":"a","from":7}yy';
    const bytes = new TextEncoder().encode(text);
    const view = new Uint8Array(bytes.buffer, 2, bytes.length - 4);
    expect(parseTransmitMap(view).message).toEqual({ ...ZERO_MESSAGE, id: 'a', from: '7' });
    expect(parseTransmitMap(Buffer.from(text).subarray(2, text.length - 2)).message.from).toBe('7');
  });

  it('rejects an argument that is not bytes with ERR_INVALID_ARGUMENT', () => {
    for (const value of ['{}', null, undefined, 42, [0x7b, 0x7d]]) {
      try {
        parseTransmitMap(value as unknown as Uint8Array);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(RelayError);
        expect((err as RelayError).code).toBe(ErrorCodes.INVALID_ARGUMENT);
      }
    }
  });
});

describe('parseTransmitMap: keys', () => {
  it('matches known keys case-insensitively, as Go does', () => {
    const doc = parse('{"USERS":{"h":[1]},"ID":"i","From":2,"TO":3,"Type":4,"CONTENTTYPE":5,"tImE":"t","Content":"c"}');
    expect([...doc.users]).toEqual([['h', ['1']]]);
    expect(doc.message).toEqual({ id: 'i', from: '2', to: '3', type: 4, contentType: 5, time: 't', content: 'c' });
    expect(parse('{"Users":{"a":[]}}').users.has('a')).toBe(true);
    expect(parse('{"contenttype":9}').message.contentType).toBe(9);
    expect(parse('{"iD":"x"}').message.id).toBe('x');
  });

  it('matches keys after unescaping them', () => {
    expect(parse('{"\\u0069\\u0064":"x"}').message.id).toBe('x');
    expect(parse('{"u\\u0073ers":{"h":[1]}}').users.get('h')).toEqual(['1']);
    expect(parse('{"\\u0046ROM":12}').message.from).toBe('12');
  });

  it("folds U+017F (long s) with s, as Go's case folding does", () => {
    expect(parse('{"uſers":{"h":[1]}}').users.get('h')).toEqual(['1']);
    expect(parse('{"uſerſ":{"h":[2]}}').users.get('h')).toEqual(['2']);
  });

  it('does not fold characters outside the fold sets of the field names', () => {
    // U+0131 (dotless i) upper-cases to I but does not case-fold with it.
    expect(parse('{"ıd":"x"}').message.id).toBe('');
    expect(parse('{"tıme":"x"}').message.time).toBe('');
    // U+0130 (I with dot), fullwidth letters, and near misses are unknown keys.
    expect(parse('{"İd":"x","ｉｄ":"y","idd":"z","i":"w","id ":"v"," id":"u"}').message.id).toBe('');
    expect(parse('{"content_type":1,"contentTyp":2,"contentTypes":3}').message.contentType).toBe(0);
  });

  it('skips unknown keys whatever their value', () => {
    const doc = parse(
      '{"a":1,"b":-1.5e-3,"c":"str \\" \\\\ \\u0041","d":true,"e":false,"f":null,"g":[],"h":{},' +
        '"i":[1,[2,[3,{"x":[{"y":null}]}]],"z",{"":""}],"j":{"k":{"l":{"m":[true,false,null,0,-0,1E+2]}}},' +
        '"host":"127.0.0.1:1","offlineUsers":[1,2,3],"id":"kept","users":{"h":[1]},"extra":{"users":{"x":[1]}}}',
    );
    expect(doc.message.id).toBe('kept');
    expect([...doc.users]).toEqual([['h', ['1']]]);
  });

  it('treats an empty key and a key of escapes as unknown', () => {
    expect(parse('{"":1,"\\n":{"a":[]},"id":"x"}').message.id).toBe('x');
  });
});

describe('parseTransmitMap: null and duplicates', () => {
  it('leaves the zero value for a null scalar field', () => {
    const doc = parse('{"id":null,"from":null,"to":null,"type":null,"contentType":null,"time":null,"content":null}');
    expect(doc.message).toEqual(ZERO_MESSAGE);
  });

  it('keeps an earlier value when a later duplicate is null, as Go does', () => {
    const doc = parse('{"id":"a","id":null,"from":5,"from":null,"type":7,"type":null,"content":"c","content":null}');
    expect(doc.message).toEqual({ ...ZERO_MESSAGE, id: 'a', from: '5', type: 7, content: 'c' });
  });

  it('yields an empty map for null users, and an empty id list for a null host', () => {
    expect(parse('{"users":null}').users.size).toBe(0);
    expect([...parse('{"users":{"h":null,"g":[1]}}').users]).toEqual([
      ['h', []],
      ['g', ['1']],
    ]);
  });

  it('reads a null user id as 0, as Go does', () => {
    expect(parse('{"users":{"h":[1,null,2]}}').users.get('h')).toEqual(['1', '0', '2']);
  });

  it('takes the last of duplicate scalar keys, whatever their case', () => {
    const doc = parse('{"id":"a","ID":"b","from":1,"FROM":2,"type":3,"Type":4,"time":"x","time":"y"}');
    expect(doc.message).toEqual({ ...ZERO_MESSAGE, id: 'b', from: '2', type: 4, time: 'y' });
  });

  it('takes the last of duplicate hosts within users', () => {
    expect([...parse('{"users":{"h":[1],"g":[2],"h":[3]}}').users]).toEqual([
      ['h', ['3']],
      ['g', ['2']],
    ]);
  });

  it('merges duplicate users objects host by host, as Go merges them into one map', () => {
    const doc = parse('{"users":{"a":[1],"b":[2]},"id":"x","Users":{"b":[3],"c":[4]}}');
    expect(new Map(doc.users)).toEqual(
      new Map([
        ['a', ['1']],
        ['b', ['3']],
        ['c', ['4']],
      ]),
    );
    expect([...parse('{"users":{"a":[1]},"users":{}}').users]).toEqual([['a', ['1']]]);
  });

  it('empties the users map on a later null users', () => {
    expect(parse('{"users":{"a":[1]},"users":null}').users.size).toBe(0);
    expect([...parse('{"users":{"a":[1]},"users":null,"users":{"b":[2]}}').users]).toEqual([['b', ['2']]]);
  });
});

describe('parseTransmitMap: strings', () => {
  it('unescapes the simple escapes', () => {
    expect(content('\\"\\\\\\/\\b\\f\\n\\r\\t')).toBe('"\\/\b\f\n\r\t');
  });

  it('unescapes \\u escapes, in upper or lower case hex', () => {
    expect(content('\\u0041\\u00e9\\u00E9\\u4f60\\u597D\\u0000\\u001f\\u2028\\uFFFF')).toBe('Aéé你好\u0000\u001f\u2028\uffff');
  });

  it('joins surrogate pair escapes', () => {
    expect(content('\\ud83d\\ude00')).toBe('😀');
    expect(content('a\\uD83D\\uDE00b\\udbff\\udfff')).toBe('a😀b\u{10ffff}');
  });

  it('replaces a lone surrogate escape with U+FFFD, as Go does', () => {
    expect(content('\\ud800')).toBe('\ufffd');
    expect(content('\\udc00')).toBe('\ufffd');
    expect(content('a\\ud800b')).toBe('a\ufffdb');
    expect(content('\\ud800\\u0041')).toBe('\ufffdA');
    expect(content('\\ude00\\ud83d')).toBe('\ufffd\ufffd');
    expect(content('\\ud83d\\ud83d\\ude00')).toBe('\ufffd😀');
    expect(content('\\ud800\\n')).toBe('\ufffd\n');
    expect(content('\\ud800😀')).toBe('\ufffd😀');
  });

  it('keeps raw UTF-8 text', () => {
    expect(content('你好 😀 é \u2028 \u007f')).toBe('你好 😀 é \u2028 \u007f');
    expect(content([0xef, 0xbf, 0xbd])).toBe('\ufffd');
    expect(content([0xf4, 0x8f, 0xbf, 0xbf])).toBe('\u{10ffff}');
  });

  it('replaces each byte that is not part of valid UTF-8 with U+FFFD, as Go does', () => {
    expect(content([0xff])).toBe('\ufffd');
    expect(content([0x61, 0x80, 0x62])).toBe('a\ufffdb');
    // A truncated sequence: one U+FFFD per byte.
    expect(content([0xe4, 0xbd])).toBe('\ufffd\ufffd');
    expect(content([0xf0, 0x9f, 0x98])).toBe('\ufffd\ufffd\ufffd');
    // Overlong forms, UTF-8 encoded surrogates, and code points above U+10FFFF.
    expect(content([0xc0, 0x80])).toBe('\ufffd\ufffd');
    expect(content([0xe0, 0x9f, 0xbf])).toBe('\ufffd\ufffd\ufffd');
    expect(content([0xed, 0xa0, 0x80])).toBe('\ufffd\ufffd\ufffd');
    expect(content([0xf4, 0x90, 0x80, 0x80])).toBe('\ufffd\ufffd\ufffd\ufffd');
    expect(content([0xf8, 0x88, 0x80, 0x80, 0x80])).toBe('\ufffd'.repeat(5));
    // A valid character after a bad byte survives.
    expect(content([0xe4, 0xe4, 0xbd, 0xa0])).toBe('\ufffd你');
  });

  it('replaces invalid UTF-8 next to escapes too', () => {
    expect(content([0x5c, 0x6e, 0xff, 0x5c, 0x75, 0x30, 0x30, 0x34, 0x31, 0xe4, 0xbd])).toBe('\n\ufffdA\ufffd\ufffd');
  });

  it('applies the same rules to users keys', () => {
    const bytes = [...Buffer.from('{"users":{"'), 0xff, ...Buffer.from('\\ud800\\u00e9":[1]}}')];
    expect([...parse(bytes).users.keys()]).toEqual(['\ufffd\ufffdé']);
  });

  it('decodes long strings, with and without escapes', () => {
    const plain = 'x'.repeat(100_000) + '你好'.repeat(10_000);
    expect(content(plain)).toBe(plain);
    expect(content('\\n'.repeat(50_000))).toBe('\n'.repeat(50_000));
  });
});

describe('parseTransmitMap: malformed input is ERR_PROTOCOL', () => {
  it('rejects a top level that is not an object', () => {
    for (const input of ['', ' ', '\n', '[]', '"x"', '1', 'true', 'null', '[{}]']) expectProtocolError(input);
  });

  it('rejects numbers that are not uint64 for from, to and user ids', () => {
    for (const n of [
      '-1',
      '-0',
      '1.5',
      '1.0',
      '0.0',
      '1e3',
      '1E3',
      '1e+3',
      '01',
      '00',
      '18446744073709551616',
      '99999999999999999999',
      '100000000000000000000',
      '+1',
      '.5',
      '1.',
      '0x10',
      'NaN',
      'Infinity',
      '-',
    ]) {
      expectProtocolError(`{"from":${n}}`);
      expectProtocolError(`{"to":${n}}`);
      expectProtocolError(`{"users":{"h":[${n}]}}`);
    }
  });

  it('rejects numbers that are not uint32 for type and contentType', () => {
    for (const n of ['-1', '1.5', '1e3', '01', '4294967296', '18446744073709551615', '10000000000']) {
      expectProtocolError(`{"type":${n}}`);
      expectProtocolError(`{"contentType":${n}}`);
    }
  });

  it('rejects values of the wrong JSON type for known fields', () => {
    for (const doc of [
      '{"from":"1"}',
      '{"to":true}',
      '{"type":"2"}',
      '{"contentType":[1]}',
      '{"from":{}}',
      '{"id":1}',
      '{"time":false}',
      '{"content":{}}',
      '{"content":["x"]}',
      '{"users":[]}',
      '{"users":"h"}',
      '{"users":1}',
      '{"users":true}',
      '{"users":{"h":1}}',
      '{"users":{"h":"1"}}',
      '{"users":{"h":{}}}',
      '{"users":{"h":["1"]}}',
      '{"users":{"h":[[1]]}}',
      '{"users":{"h":[true]}}',
    ]) {
      expectProtocolError(doc);
    }
  });

  it('rejects every truncation of a valid document', () => {
    const full =
      '{"users":{"h":[1,18446744073709551615],"g":null},"id":"a\\u00e9\\n","from":1,"x":[{"y":-1.5e3,"z":true}],"time":null,"content":"你好"}';
    expect(() => parse(full)).not.toThrow();
    const bytes = Buffer.from(full);
    for (let len = 0; len < bytes.length; len++) expectProtocolError(bytes.subarray(0, len));
  });

  it('rejects data after the document', () => {
    for (const input of ['{}x', '{} {}', '{},', '{}]', '{}}', '{}\u0000', '{} null', '{}\u00a0']) expectProtocolError(input);
    expect(parse('{} \n\t\r').message).toEqual(ZERO_MESSAGE);
  });

  it('rejects JSON syntax errors anywhere, including inside skipped values', () => {
    for (const input of [
      '{"id":"a",}',
      '{,"id":"a"}',
      '{"id" "a"}',
      '{"id":"a" "to":1}',
      '{id:"a"}',
      "{'id':'a'}",
      '{"x":[1,]}',
      '{"x":[,1]}',
      '{"x":[1 2]}',
      '{"x":{"a" 1}}',
      '{"x":{"a":1,}}',
      '{"x":{1:1}}',
      '{"x":tru}',
      '{"x":nul}',
      '{"x":nulls}',
      '{"x":True}',
      '{"x":undefined}',
      '{"x":-}',
      '{"x":1.}',
      '{"x":1e}',
      '{"x":01}',
      '{"x":.1}',
      '{"x":+1}',
      '{"x":"\\x"}',
      '{"x":"\\u12"}',
      '{"x":"\\u12g4"}',
      '{"x":"\\U0041"}',
      '{"x":"a\tb"}',
      '{"x":"a\nb"}',
      '{"content":"\u0000"}',
      '{"content":"\\\'"}',
      '\ufeff{}',
      '{"users":{"h":[1],}}',
      '{"users":{"h" [1]}}',
      '{"users":{h:[1]}}',
      '{"users":{"h":[1 2]}}',
      '{"users":{"h":[1,]}}',
      '{"x":[}',
      '{"x":{]}',
      '{"x":[1}',
      '{"x":{"a":1]}',
      '{"id":"a"\f}',
      '{"id":"a"\v}',
    ]) {
      expectProtocolError(input);
    }
  });

  it('rejects a control character raw in a string (also in a key)', () => {
    for (let c = 0; c < 0x20; c++) {
      expectProtocolError([...Buffer.from('{"id":"a'), c, ...Buffer.from('"}')]);
      expectProtocolError([...Buffer.from('{"a'), c, ...Buffer.from('":1}')]);
    }
  });
});

describe('parseTransmitMap: nesting bound', () => {
  const nested = (depth: number): string => '{"x":' + '['.repeat(depth) + ']'.repeat(depth) + ',"id":"ok"}';
  const nestedObjects = (depth: number): string => '{"x":' + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + ',"id":"ok"}';

  it('accepts nesting up to the bound, counting the top-level object', () => {
    expect(LEGACY_MAX_NESTING_DEPTH).toBe(10_000);
    expect(parse(nested(LEGACY_MAX_NESTING_DEPTH - 1)).message.id).toBe('ok');
    expect(parse(nestedObjects(LEGACY_MAX_NESTING_DEPTH - 1)).message.id).toBe('ok');
  });

  it('rejects nesting beyond the bound', () => {
    expectProtocolError(nested(LEGACY_MAX_NESTING_DEPTH));
    expectProtocolError(nestedObjects(LEGACY_MAX_NESTING_DEPTH));
  });

  it('rejects very deep nesting without exhausting the stack', () => {
    expectProtocolError('{"x":' + '['.repeat(1_000_000));
    expectProtocolError('{"x":' + '{"a":['.repeat(500_000));
    expectProtocolError('['.repeat(1_000_000));
  });

  it('skips large flat values', () => {
    const big =
      '{"x":[' +
      Array.from({ length: 200_000 }, (_, i) => (i % 3 === 0 ? '"s\\n"' : i % 3 === 1 ? '{"k":-1.5e-7}' : 'null')).join(',') +
      '],"id":"ok"}';
    expect(parse(big).message.id).toBe('ok');
  });
});
