import { describe, expect, it } from 'vitest';
import { PendingSend } from '../../src/client/pending-send.js';
import { Retention, WrittenBatch } from '../../src/client/send-retention.js';

describe('WrittenBatch and Retention', () => {
  it('copies any range out of the parts, across part boundaries', () => {
    const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => i));
    const batch = new WrittenBatch([bytes.subarray(0, 7), bytes.subarray(7, 8), bytes.subarray(8, 30), bytes.subarray(30)]);
    expect(batch.bytes).toBe(40);
    for (let start = 0; start <= 40; start++) {
      for (let end = start; end <= 40; end++) expect(batch.copy(start, end).equals(bytes.subarray(start, end))).toBe(true);
    }
  });

  it('holds a batch, whole, while any send in it waits; the copy survives the parts being reused', () => {
    const retention = new Retention();
    const part = Buffer.from('aaaabbbbcccc');
    const batch = new WrittenBatch([part]);
    const [a, b] = [new PendingSend(1, 'hosts'), new PendingSend(2, 'hosts')];
    a.start = 0;
    a.end = 4;
    b.start = 4;
    b.end = 8;
    retention.hold(a, batch);
    retention.hold(b, batch);
    expect(retention.bytes).toBe(12);
    retention.release(a);
    expect(retention.bytes).toBe(12);
    const frame = retention.takeFrame(b);
    expect(retention.bytes).toBe(0);
    part.fill(0);
    expect(frame.toString()).toBe('bbbb');
    // Releasing twice is harmless.
    retention.release(b);
    expect(retention.bytes).toBe(0);
  });
});
