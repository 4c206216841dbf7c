/**
 * The reader of a node's channel, byte by byte: whatever a message holds, it
 * returns a drop reason or the frames of a genuine batch, and never throws.
 * Genuine batches come from the sender's own Outbox, so the two halves of
 * the format are checked against each other.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeDeliver } from '../../src/protocol/index.js';
import { Secret } from '../../src/secret.js';
import { MAC_BYTES, MAC_OFFSET } from '../../src/transport/redis/channel-format.js';
import { ChannelMac } from '../../src/transport/redis/channel-mac.js';
import { ChannelReader } from '../../src/transport/redis/channel-reader.js';
import { Outbox } from '../../src/transport/redis/outbox.js';
import { ReplayGuard } from '../../src/transport/redis/replay-guard.js';

const id = (s: string): Buffer => Buffer.concat([Buffer.of(Buffer.byteLength(s)), Buffer.from(s)]);
const SECRET = new Secret('reader secret');

/** One batch from `a` to `b` holding `messages`, as a sending link makes it. */
function batchFromA(messages: string[], mac: ChannelMac | undefined, epoch = 1): Buffer {
  const outbox = new Outbox({ origin: id('a'), incarnation: Buffer.alloc(8, 1), epoch }, 'p:', mac);
  const lane = outbox.laneFor('b');
  for (const m of messages) lane.writer.appendFrame(encodeDeliver('a', ['u'], 0, Buffer.from(JSON.stringify(m))));
  return outbox.take().messages[0]!;
}

function readerForB(mac: ChannelMac | undefined): ChannelReader {
  const reader = new ChannelReader({ self: id('b'), incarnation: Buffer.alloc(8, 2), epoch: 1 }, mac);
  if (mac !== undefined) reader.guard = new ReplayGuard(5_000);
  return reader;
}

describe('ChannelReader', () => {
  it('finds every frame of a genuine batch, signed or not', () => {
    for (const mac of [undefined, new ChannelMac(SECRET)]) {
      const reader = readerForB(mac);
      const msg = batchFromA(['x', 'y', 'z'], mac);
      expect(reader.read(msg)).toBe(3);
      const frames = [0, 1, 2].map((i) => msg.subarray(reader.starts[i], reader.ends[i]));
      expect(frames.map((f) => f.toString('utf8', f.length - 3))).toEqual(['"x"', '"y"', '"z"']);
    }
  });

  it('random bytes are dropped, never thrown: malformed without a secret, forged with one', () => {
    const plain = readerForB(undefined);
    const signed = readerForB(new ChannelMac(SECRET));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const msg = Buffer.from(bytes);
        expect(plain.read(msg)).toBe('malformed');
        expect(signed.read(msg)).toBe('forged');
      }),
      { numRuns: 2_000 },
    );
  });

  it('any single byte changed in a genuine signed batch makes it forged; any cut makes it forged (malformed unsigned)', () => {
    const mac = new ChannelMac(SECRET);
    const genuine = batchFromA(['hello', 'world'], mac);
    fc.assert(
      fc.property(fc.nat(genuine.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const altered = Buffer.from(genuine);
        altered.writeUInt8(altered.readUInt8(at) ^ flip, at);
        expect(readerForB(mac).read(altered)).toBe('forged');
      }),
      { numRuns: 1_000 },
    );
    const plain = batchFromA(['hello', 'world'], undefined);
    const whole = readerForB(undefined);
    expect(whole.read(plain)).toBe(2);
    // Unsigned, a batch cut right after its first frame is a batch of one: only the MAC can tell.
    const firstEnd = whole.ends[0]!;
    for (let cut = 0; cut < plain.length; cut++) {
      expect(readerForB(undefined).read(plain.subarray(0, cut)), `cut at ${cut}`).toBe(cut === firstEnd ? 1 : 'malformed');
      expect(readerForB(mac).read(genuine.subarray(0, cut)), `cut at ${cut}`).toBe('forged');
    }
  });

  it('a batch taken once is replayed the second time; out of order within the window is taken once', () => {
    const mac = new ChannelMac(SECRET);
    const reader = readerForB(mac);
    const outbox = new Outbox({ origin: id('a'), incarnation: Buffer.alloc(8, 1), epoch: 1 }, 'p:', mac);
    const batches = Array.from({ length: 5 }, (_, i) => {
      outbox.laneFor('b').writer.appendFrame(encodeDeliver('a', ['u'], 0, Buffer.from(String(i))));
      return outbox.take().messages[0]!;
    });
    expect([4, 2, 3, 0, 1].map((i) => reader.read(batches[i]!))).toEqual([1, 1, 1, 1, 1]);
    expect(batches.map((b) => reader.read(b))).toEqual(Array(5).fill('replayed'));
    // A later link of the same sender (a new epoch) is a new stream; the earlier one is closed for good.
    const later = batchFromA(['again'], mac, 2);
    expect(reader.read(later)).toBe(1);
    expect(reader.read(batchFromA(['older link'], mac, 0))).toBe('replayed');
    expect(reader.stats).toMatchObject({ batchesReceived: 6, framesReceived: 6, replayed: 6, forged: 0, malformed: 0 });
  });

  it('signs with the documented MAC: HMAC-SHA256 under the HKDF key, over the receiver and the batch without its MAC field, first 16 bytes', () => {
    // Built here from node:crypto alone, as another implementation of the format would.
    const key = Buffer.from(hkdfSync('sha256', 'reader secret', Buffer.alloc(0), 'imrelay redis channel mac v1', 32));
    const mac = new ChannelMac(SECRET);
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 1, maxLength: 5 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        (messages, receiver) => {
          const outbox = new Outbox({ origin: id('a'), incarnation: Buffer.alloc(8, 1), epoch: 1 }, 'p:', mac);
          const lane = outbox.laneFor(receiver);
          for (const m of messages) lane.writer.appendFrame(encodeDeliver('a', ['u'], 0, Buffer.from(JSON.stringify(m))));
          const msg = outbox.take().messages[0]!;
          const expected = createHmac('sha256', key)
            .update(id(receiver))
            .update(msg.subarray(0, MAC_OFFSET))
            .update(msg.subarray(MAC_OFFSET + MAC_BYTES))
            .digest()
            .subarray(0, MAC_BYTES);
          expect(msg.subarray(MAC_OFFSET, MAC_OFFSET + MAC_BYTES).toString('hex')).toBe(expected.toString('hex'));
          expect(mac.verify(id(receiver), msg)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
