import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import {
  LEGACY_OFFLINE_CONTENT,
  LEGACY_TYPE_GROUP,
  LEGACY_TYPE_HEARTBEAT,
  LEGACY_TYPE_OFFLINE,
  LEGACY_TYPE_SINGLE,
  encodeOfflineNotice,
  encodeTransmitMap,
  isCanonicalUint64,
  parseTransmitMap,
  type TransmitMessage,
} from '../../src/legacy/index.js';

const ZERO: TransmitMessage = { id: '', from: '0', to: '0', type: 0, contentType: 0, time: '', content: '' };

function text(message: Partial<TransmitMessage>, users?: Map<string, readonly string[]>): string {
  return encodeTransmitMap({ users, message: { ...ZERO, ...message } }).toString('utf8');
}

/** What Go writes for a string field holding `s`: the JSON text of the `content` field. */
function encodedContent(s: string): string {
  const out = text({ content: s });
  const prefix = '{"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":';
  expect(out.startsWith(prefix)).toBe(true);
  expect(out.endsWith('}')).toBe(true);
  return out.slice(prefix.length, -1);
}

function expectMessageError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe(ErrorCodes.MESSAGE);
    return;
  }
  throw new Error('expected an ERR_MESSAGE error');
}

describe('legacy constants', () => {
  it("has the hub's values", () => {
    expect(LEGACY_TYPE_HEARTBEAT).toBe(0);
    expect(LEGACY_TYPE_SINGLE).toBe(1);
    expect(LEGACY_TYPE_GROUP).toBe(2);
    expect(LEGACY_TYPE_OFFLINE).toBe(100);
    expect(LEGACY_OFFLINE_CONTENT).toBe('客户端离线');
  });
});

describe('encodeTransmitMap: layout', () => {
  it('writes the fields in struct order with zero values', () => {
    expect(text({})).toBe('{"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}');
  });

  it('writes the spec example', () => {
    const users = new Map([
      ['10.0.0.3:40110', ['5']],
      ['10.0.0.2:51234', ['3', '4']],
    ]);
    expect(text({ id: 'g1', from: '1', to: '77', type: 2, contentType: 1, time: '2024-05-01 10:00:00', content: 'hi all' }, users)).toBe(
      '{"users":{"10.0.0.2:51234":[3,4],"10.0.0.3:40110":[5]},"id":"g1","from":1,"to":77,"type":2,"contentType":1,"time":"2024-05-01 10:00:00","content":"hi all"}',
    );
  });

  it('omits users when absent or empty', () => {
    const expected = '{"id":"x","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}';
    expect(text({ id: 'x' })).toBe(expected);
    expect(text({ id: 'x' }, new Map())).toBe(expected);
    expect(encodeTransmitMap({ message: { ...ZERO, id: 'x' } }).toString()).toBe(expected);
  });

  it('writes a host with no ids as an empty array', () => {
    expect(text({}, new Map([['h', []]]))).toBe(
      '{"users":{"h":[]},"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}',
    );
  });

  it('keeps the order of user ids', () => {
    expect(text({}, new Map([['h', ['9', '1', '18446744073709551615', '0', '1']]]))).toContain('"h":[9,1,18446744073709551615,0,1]');
  });

  it('sorts hosts by the bytes of their UTF-8 form', () => {
    const hosts = ['b', 'a', '127.0.0.1:9', '127.0.0.1:10', 'B', '', 'é', '～', '😀', 'a\u0000'];
    const users = new Map(hosts.map((h) => [h, ['1']] as const));
    const out = text({}, users);
    const keys = [...parseTransmitMap(Buffer.from(out)).users.keys()];
    const byBytes = [...hosts].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(keys).toEqual(byBytes);
    // U+FF5E sorts before U+1F600 in UTF-8, unlike in UTF-16.
    expect(keys.indexOf('～')).toBeLessThan(keys.indexOf('😀'));
    expect(byBytes).toEqual(['', '127.0.0.1:10', '127.0.0.1:9', 'B', 'a', 'a\u0000', 'b', 'é', '～', '😀']);
  });

  it('writes uint64 and uint32 values as plain decimals', () => {
    expect(text({ from: '18446744073709551615', to: '9007199254740993', type: 4294967295, contentType: 100 })).toBe(
      '{"id":"","from":18446744073709551615,"to":9007199254740993,"type":4294967295,"contentType":100,"time":"","content":""}',
    );
  });

  it('returns a Buffer of exactly the payload', () => {
    const out = encodeTransmitMap({ message: { ...ZERO, content: '你好'.repeat(1000) } });
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.length).toBe(Buffer.byteLength(out.toString('utf8')));
    expect(out.toString('utf8').endsWith('你好"}')).toBe(true);
  });
});

describe('encodeTransmitMap: strings are escaped as Go escapes them', () => {
  it('escapes quote and backslash', () => {
    expect(encodedContent('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('writes \\n \\r \\t as short escapes and other control characters as \\u00XX', () => {
    expect(encodedContent('\n\r\t')).toBe('"\\n\\r\\t"');
    expect(encodedContent('\b\f')).toBe('"\\u0008\\u000c"');
    expect(encodedContent('\u0000\u0001\u001f\u000b\u001b')).toBe('"\\u0000\\u0001\\u001f\\u000b\\u001b"');
    for (let c = 0; c < 0x20; c++) {
      const ch = String.fromCharCode(c);
      const expected = c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : '\\u00' + c.toString(16).padStart(2, '0');
      expect(encodedContent(ch)).toBe(`"${expected}"`);
    }
  });

  it('escapes < > & as \\u003c \\u003e \\u0026', () => {
    expect(encodedContent('<a href="x">&amp;</a>')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e"');
  });

  it('escapes U+2028 and U+2029', () => {
    expect(encodedContent('a\u2028b\u2029c')).toBe('"a\\u2028b\\u2029c"');
  });

  it('writes everything else raw', () => {
    const raw = " !#$%'()*+,-./09:;=?@AZ[]^_`az{|}~\u007f\u0080é你好😀\ufffd\uffff\u{10ffff}";
    expect(encodedContent(raw)).toBe(`"${raw}"`);
  });

  it('writes a lone surrogate as U+FFFD', () => {
    expect(encodedContent('\ud800')).toBe('"\ufffd"');
    expect(encodedContent('a\udc00b')).toBe('"a\ufffdb"');
    expect(encodedContent('\ude00\ud83d')).toBe('"\ufffd\ufffd"');
    expect(encodedContent('\ud83d\ude00')).toBe('"😀"');
    expect(encodedContent('<\ud800>')).toBe('"\\u003c\ufffd\\u003e"');
    const bytes = encodeTransmitMap({ message: { ...ZERO, id: '\ud800' } });
    expect(bytes.subarray(7, 10).toString('hex')).toBe('efbfbd');
  });

  it('escapes every string field and the hosts the same way', () => {
    const nasty = '<"\\\n\u2028&\b>';
    const escaped = '\\u003c\\"\\\\\\n\\u2028\\u0026\\u0008\\u003e';
    expect(text({ id: nasty, time: nasty, content: nasty }, new Map([[nasty, ['1']]]))).toBe(
      `{"users":{"${escaped}":[1]},"id":"${escaped}","from":0,"to":0,"type":0,"contentType":0,"time":"${escaped}","content":"${escaped}"}`,
    );
  });

  it('writes a host with a lone surrogate as U+FFFD, sorted by its written form', () => {
    const out = text(
      {},
      new Map([
        ['\ud800', ['1']],
        ['\uffff', ['2']],
        ['a', ['3']],
      ]),
    );
    expect(out).toContain('{"users":{"a":[3],"\ufffd":[1],"\uffff":[2]}');
  });

  it('rejects two hosts that become one once lone surrogates are replaced', () => {
    expectMessageError(() =>
      text(
        {},
        new Map([
          ['\ud800', ['1']],
          ['\udc00', ['2']],
        ]),
      ),
    );
    expectMessageError(() =>
      text(
        {},
        new Map([
          ['\ud800', ['1']],
          ['\ufffd', ['2']],
        ]),
      ),
    );
  });

  it('writes long strings', () => {
    const long = 'abc'.repeat(10_000) + '<' + '你'.repeat(10_000);
    expect(encodedContent(long)).toBe(`"${long.replace('<', '\\u003c')}"`);
  });
});

describe('encodeTransmitMap: invalid input is ERR_MESSAGE', () => {
  it('rejects from and to that are not canonical uint64 strings', () => {
    for (const bad of [
      '',
      '01',
      '00',
      '-1',
      '-0',
      '+1',
      '1.0',
      '1e3',
      ' 1',
      '1 ',
      '0x1',
      '18446744073709551616',
      '99999999999999999999',
      '100000000000000000000',
      '١',
    ]) {
      expectMessageError(() => text({ from: bad }));
      expectMessageError(() => text({ to: bad }));
    }
    for (const bad of [1, 1n, null, undefined, {}]) {
      expectMessageError(() => text({ from: bad as unknown as string }));
    }
  });

  it('rejects user ids that are not canonical uint64 strings', () => {
    for (const bad of ['', '01', '-1', '1.5', '18446744073709551616', 7 as unknown as string]) {
      expectMessageError(() => text({}, new Map([['h', ['1', bad]]])));
    }
    expectMessageError(() => text({}, new Map([['h', '1' as unknown as string[]]])));
    expectMessageError(() => text({}, new Map([[1 as unknown as string, ['1']]])));
  });

  it('rejects type and contentType that are not uint32', () => {
    for (const bad of [-1, 1.5, 4294967296, Number.NaN, Number.POSITIVE_INFINITY, '1', null]) {
      expectMessageError(() => text({ type: bad as number }));
      expectMessageError(() => text({ contentType: bad as number }));
    }
  });

  it('rejects string fields that are not strings', () => {
    for (const field of ['id', 'time', 'content'] as const) {
      for (const bad of [1, null, undefined, {}]) expectMessageError(() => text({ [field]: bad }));
    }
  });

  it('rejects a document without a message, and users that is not a Map', () => {
    expectMessageError(() => encodeTransmitMap({} as never));
    expectMessageError(() => encodeTransmitMap(null as never));
    expectMessageError(() => encodeTransmitMap({ users: { h: ['1'] } as never, message: ZERO }));
  });
});

describe('isCanonicalUint64', () => {
  it('accepts canonical decimals from 0 to 2^64-1', () => {
    for (const s of [
      '0',
      '1',
      '9',
      '10',
      '4294967296',
      '9007199254740993',
      '18446744073709551615',
      '18446744073709551614',
      '9999999999999999999',
      '10000000000000000000',
    ]) {
      expect(isCanonicalUint64(s), s).toBe(true);
    }
  });

  it('rejects everything else', () => {
    for (const s of [
      '',
      '00',
      '01',
      '-0',
      '-1',
      '+1',
      '1.0',
      '1e3',
      ' 1',
      '1 ',
      '0x1',
      'a',
      '18446744073709551616',
      '18446744073709551620',
      '20000000000000000000',
      '100000000000000000000',
      '１',
    ]) {
      expect(isCanonicalUint64(s), s).toBe(false);
    }
    expect(isCanonicalUint64(1 as unknown as string)).toBe(false);
  });
});

describe('encodeOfflineNotice', () => {
  it("writes the hub's notice exactly", () => {
    expect(encodeOfflineNotice().toString('utf8')).toBe(
      '{"id":"","from":0,"to":0,"type":100,"contentType":0,"time":"","content":"客户端离线"}',
    );
  });

  it('equals encodeTransmitMap of the notice message', () => {
    const notice = { ...ZERO, type: LEGACY_TYPE_OFFLINE, content: LEGACY_OFFLINE_CONTENT };
    expect(encodeOfflineNotice().equals(encodeTransmitMap({ message: notice }))).toBe(true);
  });

  it('returns a fresh buffer each time', () => {
    const a = encodeOfflineNotice();
    a.fill(0);
    expect(encodeOfflineNotice().toString('utf8')).toContain('客户端离线');
  });

  it('appends the failed host and its users', () => {
    expect(encodeOfflineNotice({ host: '127.0.0.1:1', users: ['9', '18446744073709551615'] }).toString('utf8')).toBe(
      '{"id":"","from":0,"to":0,"type":100,"contentType":0,"time":"","content":"客户端离线","host":"127.0.0.1:1","offlineUsers":[9,18446744073709551615]}',
    );
    expect(encodeOfflineNotice({ host: '', users: [] }).toString('utf8')).toBe(
      '{"id":"","from":0,"to":0,"type":100,"contentType":0,"time":"","content":"客户端离线","host":"","offlineUsers":[]}',
    );
  });

  it('escapes the host as Go would', () => {
    expect(encodeOfflineNotice({ host: '<"h\u2028é>', users: ['1'] }).toString('utf8')).toContain(
      '"host":"\\u003c\\"h\\u2028é\\u003e","offlineUsers":[1]}',
    );
  });

  it('is read by a Go-compatible decoder as the plain notice', () => {
    const doc = parseTransmitMap(encodeOfflineNotice({ host: '127.0.0.1:1', users: ['9'] }));
    expect(doc.users.size).toBe(0);
    expect(doc.message).toEqual({ ...ZERO, type: LEGACY_TYPE_OFFLINE, content: LEGACY_OFFLINE_CONTENT });
    expect(JSON.parse(encodeOfflineNotice({ host: 'h', users: ['9'] }).toString())).toMatchObject({ host: 'h', offlineUsers: [9] });
  });

  it('rejects invalid user ids and a host that is not a string', () => {
    expectMessageError(() => encodeOfflineNotice({ host: 'h', users: ['01'] }));
    expectMessageError(() => encodeOfflineNotice({ host: 'h', users: 'x' as unknown as string[] }));
    expectMessageError(() => encodeOfflineNotice({ host: 1 as unknown as string, users: [] }));
  });
});
