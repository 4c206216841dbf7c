/**
 * The receiving node's per-delivery bookkeeping on an effectively-once link,
 * alone, with no sockets: scanning a stamped DELIVER, numbering it, the
 * repeat check (two senders interleaved), queueing it, the consumer loop
 * taking it, and a CONSUMED written every eight deliveries.
 *
 *   npm run bench:intake [-- --rounds=5]
 *
 * Prints nanoseconds per delivery for each round (the first includes the
 * JIT's warm-up).
 */
import { DeliveryIntake } from '../src/client/delivery-intake.js';
import { DeliveryQueue } from '../src/client/delivery-queue.js';
import { FrameWriter } from '../src/codec/frame-writer.js';
import { DeliverSpans, PayloadKind, encodeDeliver, scanDeliver } from '../src/protocol/index.js';

const DELIVERIES_PER_ROUND = 2_000_000;
const FRAMES = 4096;
const WINDOW = 1024;
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 5);

const incarnations = [Buffer.alloc(8, 0xa1), Buffer.alloc(8, 0xb2)];
const frames: Buffer[] = [];
/** Where each frame's seq lies, to renumber the frames for the next pass. */
const seqAt: number[] = [];
const spans = new DeliverSpans();
for (let i = 0; i < FRAMES; i++) {
  const frame = encodeDeliver(`sender-${i & 1}`, ['u1', 'u2'], PayloadKind.TEXT, Buffer.from('hello'), {
    incarnation: incarnations[i & 1]!,
    seq: (i >> 1) + 1,
  });
  scanDeliver(frame, spans, 0, frame.length);
  frames.push(frame);
  seqAt.push(spans.stampStart + incarnations[0]!.length);
}

// Seqs only grow, across rounds too: a seq seen before would be a repeat.
let seqBase = 0;

function round(): number {
  // The queue tells the intake when the loop took one; the intake is made just after.
  const queue = new DeliveryQueue<number>(WINDOW, { drained: () => {}, taken: () => intake.taken() });
  const intake = new DeliveryIntake(queue, WINDOW, () => {});
  intake.linkUp(true);
  const writer = new FrameWriter();
  intake.write(writer);
  const loop = queue.iterate();
  const started = process.hrtime.bigint();
  for (let i = 0; i < DELIVERIES_PER_ROUND; i++) {
    const k = i % FRAMES;
    if (k === 0) {
      seqBase += FRAMES / 2;
      for (let j = 0; j < FRAMES; j++) frames[j]!.writeUInt32LE(seqBase + (j >> 1) + 1, seqAt[j]!);
    }
    const frame = frames[k]!;
    scanDeliver(frame, spans, 0, frame.length);
    queue.push(i, intake.admit(frame, spans));
    // Asking for the next one takes the one held.
    void loop.next();
    if (i % 8 === 7) {
      intake.write(writer);
      writer.take();
    }
  }
  return Number(process.hrtime.bigint() - started) / DELIVERIES_PER_ROUND;
}

for (let r = 0; r < rounds; r++) process.stdout.write(`${round().toFixed(1)} ns per delivery\n`);
