/**
 * The MAC of a channel message, when the nodes share a secret.
 *
 * - Key: HKDF-SHA256 (RFC 5869) of the secret, empty salt, info
 *   `imrelay redis channel mac v1`, 32 bytes. A key of its own, so that the
 *   relay handshake's proofs, made from the same secret, never serve as one.
 * - MAC: HMAC-SHA256 with that key, truncated to its first 16 bytes, over
 *   the receiver's node id (a length byte and its UTF-8 bytes) followed by
 *   the whole message except the 16 bytes of the MAC field itself: the
 *   header (flags, sender, incarnation, epoch, sequence, time) and every
 *   frame. Naming the receiver keeps a message published to one node from
 *   being accepted when replayed to another.
 *
 * The secret's bytes are read once, here, and never logged.
 */
import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Secret } from '../../secret.js';
import { MAC_BYTES, MAC_OFFSET } from './channel-format.js';

const KEY_INFO = 'imrelay redis channel mac v1';

export class ChannelMac {
  // A KeyObject: createHmac imports a raw key anew on every call, and a MAC is made per batch.
  private readonly key: KeyObject;

  constructor(secret: Secret) {
    this.key = createSecretKey(Buffer.from(hkdfSync('sha256', secret.reveal(), Buffer.alloc(0), KEY_INFO, 32)));
  }

  /** Writes the MAC of `msg`, for the node whose id with its length byte is `target`, into its MAC field. */
  sign(target: Buffer, msg: Buffer): void {
    this.compute(target, msg).copy(msg, MAC_OFFSET, 0, MAC_BYTES);
  }

  /** True when the MAC field of `msg` (already known to hold a header) is right for the node `self`. */
  verify(self: Buffer, msg: Buffer): boolean {
    const expected = this.compute(self, msg).subarray(0, MAC_BYTES);
    return timingSafeEqual(expected, msg.subarray(MAC_OFFSET, MAC_OFFSET + MAC_BYTES));
  }

  private compute(node: Buffer, msg: Buffer): Buffer {
    return createHmac('sha256', this.key)
      .update(node)
      .update(msg.subarray(0, MAC_OFFSET))
      .update(msg.subarray(MAC_OFFSET + MAC_BYTES))
      .digest();
  }
}
