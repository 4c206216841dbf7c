import { ProtocolError } from '../errors.js';

/**
 * Reads a user list (a 4-byte count, then one-byte-length ids) starting at
 * `start`. Bounds are checked; ids are decoded as UTF-8.
 */
export function readUserList(p: Buffer, start: number): string[] {
  if (start + 4 > p.length) throw new ProtocolError('user list truncated');
  const count = p.readUInt32LE(start);
  let pos = start + 4;
  if (count * 2 > p.length - pos) throw new ProtocolError('user count exceeds the frame');
  const users = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const n = pos < p.length ? p[pos]! : 0;
    const end = pos + 1 + n;
    if (n === 0 || end > p.length) throw new ProtocolError('user id truncated or empty');
    users[i] = p.toString('utf8', pos + 1, end);
    pos = end;
  }
  return users;
}

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
