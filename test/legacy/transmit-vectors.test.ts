import { describe, expect, it } from 'vitest';
import {
  LEGACY_OFFLINE_CONTENT,
  LEGACY_TYPE_GROUP,
  LEGACY_TYPE_OFFLINE,
  encodeOfflineNotice,
  encodeTransmitMap,
  parseTransmitMap,
} from '../../src/legacy/index.js';
import { loadLegacyVectors } from '../helpers/legacy.js';

// Bytes captured from the original Go hub.
const vectors = loadLegacyVectors();

/** The payload of a captured frame: the bytes after its 4-byte little-endian length. */
function payloadOf(frameHex: string): Buffer {
  const frame = Buffer.from(frameHex, 'hex');
  const length = frame.readInt32LE(0);
  expect(length).toBe(frame.length - 4);
  return frame.subarray(4);
}

describe('legacy transmit wire vectors', () => {
  const sent = parseTransmitMap(Buffer.from(vectors.sent_payload, 'utf8'));

  it('has the vectors it needs', () => {
    for (const key of [
      'hostB',
      'hostC',
      'sent_payload',
      'received_by_B_hex',
      'received_by_C_hex',
      'offline_notice_to_sender_hex',
    ] as const) {
      expect(typeof vectors[key], key).toBe('string');
      expect(vectors[key].length, key).toBeGreaterThan(0);
    }
  });

  it('the sent frame carries the sent payload', () => {
    expect(payloadOf(vectors.sent_frame_hex).toString('utf8')).toBe(vectors.sent_payload);
  });

  it('parses the payload a node sent', () => {
    expect([...sent.users.keys()]).toEqual([vectors.hostB, vectors.hostC, '127.0.0.1:1']);
    expect(sent.users.get(vectors.hostB)).toEqual(['3', '18446744073709551615']);
    expect(sent.users.get(vectors.hostC)).toEqual(['5']);
    expect(sent.users.get('127.0.0.1:1')).toEqual(['9']);
    expect(sent.message).toEqual({
      id: 'g1',
      from: '1',
      to: '77',
      type: LEGACY_TYPE_GROUP,
      contentType: 1,
      time: '2024-05-01 10:00:00',
      content: 'hi <all> & 你好 "q"',
    });
  });

  it('re-encodes for host B exactly as the hub did', () => {
    const ids = sent.users.get(vectors.hostB)!;
    const out = encodeTransmitMap({ users: new Map([[vectors.hostB, ids]]), message: sent.message });
    const expected = payloadOf(vectors.received_by_B_hex);
    expect(out.toString('hex')).toBe(expected.toString('hex'));
    expect(out.toString('utf8')).toBe(vectors.received_by_B_text);
  });

  it('re-encodes for host C exactly as the hub did', () => {
    const ids = sent.users.get(vectors.hostC)!;
    const out = encodeTransmitMap({ users: new Map([[vectors.hostC, ids]]), message: sent.message });
    const expected = payloadOf(vectors.received_by_C_hex);
    expect(out.toString('hex')).toBe(expected.toString('hex'));
    expect(out.toString('utf8')).toBe(vectors.received_by_C_text);
  });

  it('encodes the offline notice exactly as the hub did', () => {
    const expected = payloadOf(vectors.offline_notice_to_sender_hex);
    expect(encodeOfflineNotice().toString('hex')).toBe(expected.toString('hex'));
    expect(encodeOfflineNotice().toString('utf8')).toBe(vectors.offline_notice_to_sender_text);
    const notice = parseTransmitMap(expected);
    expect(notice.users.size).toBe(0);
    expect(notice.message).toEqual({
      id: '',
      from: '0',
      to: '0',
      type: LEGACY_TYPE_OFFLINE,
      contentType: 0,
      time: '',
      content: LEGACY_OFFLINE_CONTENT,
    });
  });

  it('keeps 18446744073709551615 exact through parse and encode', () => {
    const received = parseTransmitMap(payloadOf(vectors.received_by_B_hex));
    expect(received.users.get(vectors.hostB)).toEqual(['3', '18446744073709551615']);
    const again = encodeTransmitMap(received);
    expect(again.toString('utf8')).toContain('[3,18446744073709551615]');
    expect(again.equals(payloadOf(vectors.received_by_B_hex))).toBe(true);
  });

  it('what each host received decodes to the message that was sent', () => {
    for (const [host, hex] of [
      [vectors.hostB, vectors.received_by_B_hex],
      [vectors.hostC, vectors.received_by_C_hex],
    ] as const) {
      const received = parseTransmitMap(payloadOf(hex));
      expect([...received.users]).toEqual([[host, sent.users.get(host)]]);
      expect(received.message).toEqual(sent.message);
    }
  });
});
