import { describe, expect, it } from 'vitest';
import { toOfflineNotice, toSendReport, toUsersReport } from '../../src/client/report.js';
import { ErrorCodes } from '../../src/errors.js';
import { FailureReason, ReportFlags, decodeReport, encodeReport, type ReportFrame } from '../../src/protocol/index.js';

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const implied: ReportFrame = {
  seq: 7,
  full: true,
  delivered: [],
  implied: true,
  failed: [{ host: 'b', reason: FailureReason.OVERFLOW, users: ['x', 'y'] }],
};

describe('IMPLIED reports', () => {
  it('decode with the flag and an empty delivered list; the bytes are a plain report with the IMPLIED bit', () => {
    const bytes = encodeReport(implied);
    expect(bytes[1]).toBe(ReportFlags.FULL | ReportFlags.IMPLIED);
    expect(decodeReport(bytes)).toEqual(implied);
    // The relay's way of writing one: a plain report with no delivered hosts, the bit set after.
    const plain = encodeReport({ ...implied, implied: undefined } as unknown as ReportFrame);
    plain[1]! |= ReportFlags.IMPLIED;
    expect(plain.equals(bytes)).toBe(true);
    // Without the flag nothing changes.
    expect(decodeReport(encodeReport({ seq: 1, full: true, delivered: ['a'], failed: [] }))).toEqual({
      seq: 1,
      full: true,
      delivered: ['a'],
      failed: [],
    });
  });

  it('an IMPLIED report that lists delivered hosts is malformed', () => {
    const bytes = encodeReport({ seq: 1, full: true, delivered: ['a'], failed: [] });
    bytes[1]! |= ReportFlags.IMPLIED;
    expect(codeOf(() => decodeReport(bytes))).toBe(ErrorCodes.PROTOCOL);
    expect(codeOf(() => encodeReport({ ...implied, delivered: ['a'] }))).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it('delivered is every host the send named that the failed list does not name, in the order named', () => {
    expect(toSendReport(implied, ['c', 'b', 'a'])).toEqual({
      delivered: ['c', 'a'],
      offline: { b: ['x', 'y'] },
      reasons: { b: 'overflow' },
    });
    expect(toSendReport({ ...implied, failed: [] }, ['a', 'b'])).toEqual({ delivered: ['a', 'b'], offline: {} });
    expect(toOfflineNotice(implied)).toEqual({ offline: { b: ['x', 'y'] }, reasons: { b: 'overflow' } });
  });

  it('an IMPLIED answer to a send that named no hosts (sendToUsers) is a protocol error', () => {
    expect(codeOf(() => toSendReport(implied, undefined))).toBe(ErrorCodes.PROTOCOL);
    expect(codeOf(() => toUsersReport(implied))).toBe(ErrorCodes.PROTOCOL);
  });
});
