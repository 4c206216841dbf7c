import { createHmac } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { Secret } from '../secret.js';

// A label of its own, so a node secret can never equal a proof or a Redis key.
const NODE_SECRET_LABEL = 'imrelay v1 node secret\0';

/**
 * The secret of one node under a relay's master secret:
 * `hex(HMAC-SHA256(masterSecret, "imrelay v1 node secret\0" || UTF-8(nodeId)))`,
 * 64 lowercase hex characters, ready for a config file or an environment
 * variable. A relay started with `masterSecret` admits `nodeId` only with this
 * secret, so a node that holds im-1's secret cannot connect as im-2.
 *
 * Throws `ERR_INVALID_ARGUMENT` for an empty master secret or a node id that
 * is empty or longer than 255 bytes.
 *
 * @example
 * ```ts
 * const secret = deriveNodeSecret(process.env.IMRELAY_MASTER_SECRET!, 'im-1');
 * const relay = new RelayClient({ url, nodeId: 'im-1', secret });
 * ```
 */
export function deriveNodeSecret(masterSecret: string | Uint8Array | Secret, nodeId: string): string {
  const master = masterSecret instanceof Secret ? masterSecret : new Secret(masterSecret);
  if (typeof nodeId !== 'string' || nodeId.length === 0 || Buffer.byteLength(nodeId, 'utf8') > 255) {
    throw new InvalidArgumentError('a node id must be a string of 1 to 255 bytes');
  }
  return createHmac('sha256', master.reveal()).update(NODE_SECRET_LABEL).update(nodeId, 'utf8').digest('hex');
}
