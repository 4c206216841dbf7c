import { describe, expect, it } from 'vitest';
import { PendingSend } from '../../src/client/pending-send.js';
import { SendLedger } from '../../src/client/send-ledger.js';
import { ErrorCodes } from '../../src/errors.js';

const LIMITS = { maxBufferedMessages: 100, maxBufferedBytes: 1_000_000, writeRetryWindowMs: 1_000 };

/** A send whose frame is `text`, written into the ledger's live writer. */
function live(ledger: SendLedger, seq: number, text: string): PendingSend {
  const entry = new PendingSend(seq, 'hosts', ['h']);
  entry.promise.catch(() => {});
  const start = ledger.writer.length;
  ledger.writer.appendFrame(Buffer.from(text));
  ledger.addLive(entry, start);
  return entry;
}

/** The payloads of the frames written by one flush after a promote, as text. */
function written(ledger: SendLedger): string[] {
  const out: string[] = [];
  ledger.flush((parts) => {
    const bytes = Buffer.concat(parts);
    for (let pos = 0; pos < bytes.length;) {
      const len = bytes.readUInt32LE(pos);
      out.push(bytes.toString('utf8', pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
  }, Date.now());
  return out;
}

describe('SendLedger on an effectively-once link', () => {
  it('keeps sends in flight by reference and counts what it keeps; answered, they are let go', () => {
    const ledger = new SendLedger(LIMITS);
    ledger.retaining = true;
    const [a, b] = [live(ledger, 1, 'aaaa'), live(ledger, 2, 'bbbb')];
    ledger.writer.appendFrame(Buffer.from('not a send'));
    expect(written(ledger)).toEqual(['aaaa', 'bbbb', 'not a send']);
    expect(ledger.retainedBytes).toBe(3 * 4 + 8 + 10);
    ledger.answerAck(1, 1, (e) => e.resolve(undefined));
    expect(ledger.retainedBytes).toBeGreaterThan(0);
    ledger.answerReport(2)?.resolve(undefined);
    expect(ledger.retainedBytes).toBe(0);
    expect([a.written, b.written]).toEqual([true, true]);
  });

  it('after a drop: sends in flight first, then the unwritten batch, then those waiting, in order, same bytes', () => {
    const ledger = new SendLedger(LIMITS);
    ledger.retaining = true;
    live(ledger, 1, 'one');
    live(ledger, 2, 'two');
    written(ledger);
    live(ledger, 3, 'three');
    ledger.requeue(true);
    expect(ledger.queuedCount).toBe(3);
    expect(ledger.retainedBytes).toBe(0);
    ledger.promoteQueued(1_000_000);
    expect(written(ledger)).toEqual(['one', 'two', 'three']);
  });

  it('written once: past the write window after the drop, rejects with ERR_CONNECTION_LOST; never written: ERR_SEND_FAILED', async () => {
    const ledger = new SendLedger(LIMITS);
    ledger.retaining = true;
    const inflight = live(ledger, 1, 'one');
    written(ledger);
    const unwritten = live(ledger, 2, 'two');
    const dropped = Date.now();
    ledger.requeue(true, dropped);
    ledger.expire(dropped + 999, 60_000, undefined);
    expect(ledger.queuedCount).toBe(2);
    ledger.expire(dropped + 1_001, 60_000, undefined);
    expect(ledger.queuedCount).toBe(0);
    await expect(inflight.promise).rejects.toMatchObject({ code: ErrorCodes.CONNECTION_LOST });
    await expect(unwritten.promise).rejects.toMatchObject({ code: ErrorCodes.SEND_FAILED });
  });

  it('closing while a written send waits to be written again: ERR_CONNECTION_LOST, the close as its cause', async () => {
    const ledger = new SendLedger(LIMITS);
    ledger.retaining = true;
    const entry = live(ledger, 1, 'one');
    written(ledger);
    ledger.requeue(true);
    const closed = Object.assign(new Error('closed'), { code: ErrorCodes.CLOSED });
    ledger.rejectQueued(() => closed as never);
    await expect(entry.promise).rejects.toMatchObject({ code: ErrorCodes.CONNECTION_LOST, cause: closed });
  });

  it('whenAnswered resolves once nothing is in flight', async () => {
    const ledger = new SendLedger(LIMITS);
    await ledger.whenAnswered();
    live(ledger, 1, 'one');
    live(ledger, 2, 'two');
    written(ledger);
    let done = false;
    void ledger.whenAnswered().then(() => (done = true));
    ledger.answerAck(1, 1, (e) => e.resolve(undefined));
    await Promise.resolve();
    expect(done).toBe(false);
    ledger.answerReport(2)?.resolve(undefined);
    await Promise.resolve();
    expect(done).toBe(true);
  });

  it('while connected, bounds sends by the bytes waiting (batch, socket, kept), not by a count', () => {
    const ledger = new SendLedger({ ...LIMITS, maxBufferedMessages: 1, maxBufferedBytes: 100 });
    ledger.retaining = true;
    for (let i = 0; i < 5; i++) {
      ledger.checkLiveRoom(0);
      live(ledger, i + 1, 'x'.repeat(10));
    }
    expect(() => ledger.checkLiveRoom(40)).toThrow(expect.objectContaining({ code: ErrorCodes.BUFFER_FULL }) as Error);
    written(ledger);
    // Written but kept for a resend: still counted.
    expect(() => ledger.checkLiveRoom(40)).toThrow(expect.objectContaining({ code: ErrorCodes.BUFFER_FULL }) as Error);
    ledger.answerAck(1, 5, (e) => e.resolve(undefined));
    expect(() => ledger.checkLiveRoom(40)).not.toThrow();
  });
});
