import { describe, expect, it } from 'vitest';
import { FrameWriter } from '../../src/codec/index.js';
import { Scratch, decodeRoute, decodeUserList, writeRoute, writeUserList } from '../../src/protocol/index.js';

// What ioredis 6 does when it loads: a subclass of String, never instantiated,
// which leaves String.prototype in the engine's slow layout for the rest of
// the process. The id writer and the user-list reader hold the string methods
// they call per character; they must still write and read every id exactly.
class VerbatimLike extends String {
  format = 'txt';
}
void VerbatimLike;

const ids = ['u1', 'alice@example.com', 'é-user', '你好', '😀', 'x'.repeat(255), '42'];

describe('ids with String.prototype in its slow layout (as after loading ioredis)', () => {
  it('a ROUTE carries every host and user id exactly, ASCII or not', () => {
    const writer = new FrameWriter();
    const table = { 'node-a': ids, 'nœud-b': ['ü', 'u1'] };
    writeRoute(writer, 0, 9, table, 'payload', 1 << 20);
    const frame = Buffer.concat(writer.take());
    const route = decodeRoute(frame.subarray(4));
    expect([...route.hosts.entries()]).toEqual([
      ['node-a', ids],
      ['nœud-b', ['ü', 'u1']],
    ]);
  });

  it('a user list reads back as written, through the whole-list fast path and the per-id one', () => {
    const scratch = new Scratch(16);
    for (const list of [ids.filter((id) => Buffer.byteLength(id) === id.length), ids]) {
      const end = writeUserList(scratch, 0, list);
      expect(decodeUserList(scratch.buf, 0, end)).toEqual(list);
    }
  });
});
