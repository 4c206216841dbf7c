import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES } from './constants.js';

// Distinct labels keep a node's proof from ever being replayed as the relay's.
const NODE_LABEL = 'imrelay v1 node';
const RELAY_LABEL = 'imrelay v1 relay';

/** Fresh random bytes for a nonce or session id. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/**
 * The node's proof: HMAC-SHA256 over the relay's nonce, the node's nonce and
 * the node id. The secret itself never crosses the wire.
 */
export function nodeProof(secret: string | Buffer, relayNonce: Buffer, nodeNonce: Buffer, nodeId: string): Buffer {
  return proof(secret, NODE_LABEL, relayNonce, nodeNonce, nodeId);
}

/** The relay's proof, so that a node knows it reached a relay that holds the secret too. */
export function relayProof(secret: string | Buffer, relayNonce: Buffer, nodeNonce: Buffer, nodeId: string): Buffer {
  return proof(secret, RELAY_LABEL, relayNonce, nodeNonce, nodeId);
}

/** Constant-time comparison of two proofs. */
export function proofsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function proof(secret: string | Buffer, label: string, relayNonce: Buffer, nodeNonce: Buffer, nodeId: string): Buffer {
  return createHmac('sha256', secret).update(label).update(relayNonce).update(nodeNonce).update(nodeId, 'utf8').digest();
}
