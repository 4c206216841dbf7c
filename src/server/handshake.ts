import { VersionError } from '../errors.js';
import {
  Features,
  FrameType,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  encodeControl,
  newNonce,
  nodeProof,
  proofsEqual,
  type HelloFrame,
} from '../protocol/index.js';
import { deriveNodeSecret } from '../protocol/node-secret.js';
import { Secret } from '../secret.js';
import type { ResolvedServerOptions } from './options.js';

/**
 * The protocol version a relay and a node share: the highest both speak.
 * Throws `ERR_VERSION` when they share none.
 */
export function negotiateVersion(hello: HelloFrame): number {
  const version = Math.min(hello.maxVersion, PROTOCOL_VERSION_MAX);
  if (version < Math.max(hello.minVersion, PROTOCOL_VERSION_MIN)) {
    throw new VersionError(
      `no common protocol version: node speaks ${hello.minVersion}-${hello.maxVersion}, relay ${PROTOCOL_VERSION_MIN}-${PROTOCOL_VERSION_MAX}`,
    );
  }
  return version;
}

/**
 * The secret a node's AUTH proof was made with (compared in constant time):
 * one of the shared secrets, or its own node secret under one of the master
 * secrets. `undefined` when the proof matches none.
 */
export function provenSecret(options: ResolvedServerOptions, proof: Buffer, challenge: Buffer, hello: HelloFrame): Secret | undefined {
  const matches = (s: Secret): boolean => proofsEqual(proof, nodeProof(s.reveal(), challenge, hello.nonce, hello.nodeId));
  const shared = options.secrets.find(matches);
  if (shared !== undefined) return shared;
  for (const master of options.masterSecrets) {
    const own = new Secret(deriveNodeSecret(master, hello.nodeId));
    if (matches(own)) return own;
  }
  return undefined;
}

/** The features a relay answers a hello with: its own, plus ONCE and LOCATE_PARTS when the node asked for them. */
export function welcomeFeatures(hello: HelloFrame): number {
  return (
    Features.FAILURE_NOTICES |
    Features.PRESENCE |
    Features.ACKS |
    (hello.once !== undefined ? Features.ONCE : 0) |
    (hello.features & Features.LOCATE_PARTS)
  );
}

/** The WELCOME frame admitting a node, with the relay's proof when it has a secret. */
export function welcomeFrame(options: ResolvedServerOptions, version: number, hello: HelloFrame, proof: Buffer | undefined): Buffer {
  return encodeControl({
    type: FrameType.WELCOME,
    version,
    maxFrameBytes: options.maxFrameBytes,
    heartbeatMs: options.heartbeatIntervalMs,
    features: welcomeFeatures(hello),
    sessionId: newNonce(),
    proof: proof ?? Buffer.alloc(0),
  });
}
