import { LimitError } from '../errors.js';
import type { PresenceTable } from '../presence/presence-table.js';
import { FrameType, LOCATED_HEAD_BYTES, assembleLocated, encodeLocatedEntry } from '../protocol/index.js';

/**
 * The frames answering a LOCATE: one LOCATED, or, when the answer is larger
 * than the asker's frame limit and the asker reads them, LOCATED_PARTs and a
 * last LOCATED. An answer is never larger than `maxFrameBytes`: when it would
 * be and the asker reads no parts, or one user's entry alone is too large,
 * the LOCATE is refused with `ERR_LIMIT`. So is one whose whole answer would
 * pass `maxAnswerBytes` (users on many nodes with long ids): it is given up
 * as soon as it does, so no more than that is ever built.
 */
export function locateAnswer(
  table: PresenceTable,
  seq: number,
  users: readonly string[],
  maxFrameBytes: number,
  splits: boolean,
  maxAnswerBytes: number,
): Buffer[] {
  const frames: Buffer[] = [];
  let entries: Buffer[] = [];
  let size = LOCATED_HEAD_BYTES;
  let total = 0;
  for (const user of users) {
    const nodes = table.nodesOf(Buffer.from(user, 'utf8').toString('latin1'));
    const list = nodes === undefined ? [] : typeof nodes === 'string' ? [nodes] : nodes;
    const entry = encodeLocatedEntry(
      user,
      list.map((key) => Buffer.from(key, 'latin1').toString('utf8')),
    );
    if (LOCATED_HEAD_BYTES + entry.length > maxFrameBytes) {
      throw new LimitError(`the answer for user ${user} alone exceeds the asker's frame limit of ${maxFrameBytes} bytes`);
    }
    if (size + entry.length > maxFrameBytes) {
      if (!splits) throw new LimitError(`the answer exceeds the asker's frame limit of ${maxFrameBytes} bytes: ask about fewer users`);
      frames.push(assembleLocated(FrameType.LOCATED_PART, seq, entries));
      entries = [];
      size = LOCATED_HEAD_BYTES;
    }
    total += entry.length;
    if (total > maxAnswerBytes) {
      throw new LimitError(`the answer to a locate of ${users.length} ids exceeds ${maxAnswerBytes} bytes: ask about fewer users at once`);
    }
    entries.push(entry);
    size += entry.length;
  }
  frames.push(assembleLocated(FrameType.LOCATED, seq, entries));
  return frames;
}
