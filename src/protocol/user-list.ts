import { ProtocolError } from '../errors.js';

/**
 * Reads a user list (a 4-byte count, then one-byte-length ids) starting at
 * `start`. Bounds are checked; ids are decoded as UTF-8.
 */
export function readUserList(p: Buffer, start: number): string[] {
  if (start + 4 > p.length) throw new ProtocolError('user list truncated');
  const count = p.readUInt32LE(start);
  const first = start + 4;
  if (count * 2 > p.length - first) throw new ProtocolError('user count exceeds the frame');
  const end = skipUserList(p, start);
  const users = new Array<string>(count);
  // One decode for the whole list, then substrings, when it is all ASCII
  // (the usual case): a decode per id costs more than the ids themselves.
  const text = p.toString('latin1', first, end);
  if (!NON_ASCII.test(text)) {
    for (let i = 0, at = 0; i < count; i++) {
      const n = text.charCodeAt(at);
      users[i] = text.substring(at + 1, at + 1 + n);
      at += 1 + n;
    }
    return users;
  }
  let pos = first;
  for (let i = 0; i < count; i++) {
    const n = p[pos]!;
    users[i] = p.toString('utf8', pos + 1, pos + 1 + n);
    pos += 1 + n;
  }
  return users;
}

// Ids' length bytes are below 0x80 too whenever the ids are short ASCII.
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** The offset just past the user list that starts at `start` (validated against `limit`, the frame's end). */
export function skipUserList(p: Buffer, start: number, limit = p.length): number {
  if (start + 4 > limit) throw new ProtocolError('user list truncated');
  const count = p.readUInt32LE(start);
  let pos = start + 4;
  if (count * 2 > limit - pos) throw new ProtocolError('user count exceeds the frame');
  for (let i = 0; i < count; i++) {
    if (pos >= limit) throw new ProtocolError('user list truncated');
    const n = p[pos]!;
    if (n === 0) throw new ProtocolError('empty user id');
    pos += 1 + n;
  }
  if (pos > limit) throw new ProtocolError('user list truncated');
  return pos;
}
