import { createHmac } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { FrameType, INCARNATION_BYTES, NONCE_BYTES, PROOF_BYTES, nodeIdProblem } from '../protocol/index.js';

/** The mesh link protocol this build speaks. */
export const MESH_VERSION = 1;

/** Bits of a MESH_HELLO's flags. */
export const MeshHelloFlags = {
  /** This end holds the cluster secret and will prove it: the other end must too. */
  SECRET: 0x01,
} as const;

/**
 * What each end of a link between two mesh nodes says first. Both ends send
 * one as soon as the connection is up (no end waits for the other), so the
 * handshake costs one round trip, two with a secret.
 */
export interface MeshHello {
  version: number;
  flags: number;
  /** The largest frame this end accepts. */
  maxFrameBytes: number;
  /** Deliveries the other end may write before this end's first CONSUMED. */
  window: number;
  /** How often this end pings: the other end allows twice that of silence. */
  heartbeatMs: number;
  /** This end's client instance (see `LinkContext.incarnation`). */
  incarnation: Buffer;
  nonce: Buffer;
  /** This end's node id. */
  from: string;
  /** The node this end means to reach (a dialer names the peer it dialed; an acceptor answers with the dialer's id). */
  to: string;
}

const FIXED_BYTES = 1 + 1 + 1 + 4 + 4 + 4 + INCARNATION_BYTES + NONCE_BYTES;

/** A MESH_HELLO payload. */
export function encodeMeshHello(hello: MeshHello): Buffer {
  const from = Buffer.from(hello.from, 'utf8');
  const to = Buffer.from(hello.to, 'utf8');
  const out = Buffer.allocUnsafe(FIXED_BYTES + 2 + from.length + to.length);
  let at = 0;
  out[at++] = FrameType.MESH_HELLO;
  out[at++] = hello.version;
  out[at++] = hello.flags;
  at = out.writeUInt32LE(hello.maxFrameBytes, at);
  at = out.writeUInt32LE(hello.window, at);
  at = out.writeUInt32LE(hello.heartbeatMs, at);
  at += hello.incarnation.copy(out, at);
  at += hello.nonce.copy(out, at);
  out[at++] = from.length;
  at += from.copy(out, at);
  out[at++] = to.length;
  to.copy(out, at);
  return out;
}

/** Reads a MESH_HELLO payload. Throws `ERR_PROTOCOL` when malformed. */
export function decodeMeshHello(p: Buffer): MeshHello {
  if (p.length < FIXED_BYTES + 2 || p[0] !== FrameType.MESH_HELLO) throw new ProtocolError('mesh hello: malformed');
  let at = 1;
  const version = p[at++]!;
  const flags = p[at++]!;
  const maxFrameBytes = p.readUInt32LE(at);
  const window = p.readUInt32LE(at + 4);
  const heartbeatMs = p.readUInt32LE(at + 8);
  at += 12;
  const incarnation = Buffer.from(p.subarray(at, at + INCARNATION_BYTES));
  at += INCARNATION_BYTES;
  const nonce = Buffer.from(p.subarray(at, at + NONCE_BYTES));
  at += NONCE_BYTES;
  const fromBytes = p[at++]!;
  if (at + fromBytes + 1 > p.length) throw new ProtocolError('mesh hello: truncated node id');
  const from = p.toString('utf8', at, at + fromBytes);
  at += fromBytes;
  const toBytes = p[at++]!;
  if (at + toBytes !== p.length) throw new ProtocolError('mesh hello: malformed node ids');
  const to = p.toString('utf8', at, at + toBytes);
  const problem = nodeIdProblem(from);
  if (problem !== undefined) throw new ProtocolError(`mesh hello: ${problem}`);
  if (maxFrameBytes < 1024) throw new ProtocolError('mesh hello: a frame limit below 1024 bytes');
  if (window < 1) throw new ProtocolError('mesh hello: an empty delivery window');
  if (heartbeatMs < 1) throw new ProtocolError('mesh hello: no heartbeat period');
  return { version, flags, maxFrameBytes, window, heartbeatMs, incarnation, nonce, from, to };
}

// Its own label: a mesh proof can never pass for a relay's or a node's, nor the other way.
const LABEL = 'imrelay v1 mesh link';

/**
 * The proof that `prover` holds the secret, for `verifier`: HMAC-SHA256 over
 * the verifier's nonce (fresh for this connection, so an old proof cannot be
 * replayed), the prover's nonce, and both ids in that order (so a proof is
 * good in one direction of one link only, and cannot be reflected back).
 */
export function meshProof(secret: string | Buffer, prover: MeshHello, verifier: MeshHello): Buffer {
  const mac = createHmac('sha256', secret).update(LABEL).update(verifier.nonce).update(prover.nonce);
  const from = Buffer.from(prover.from, 'utf8');
  const to = Buffer.from(verifier.from, 'utf8');
  return mac.update(Buffer.of(from.length)).update(from).update(Buffer.of(to.length)).update(to).digest();
}

/** A MESH_AUTH payload carrying `proof`. */
export function encodeMeshAuth(proof: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + PROOF_BYTES);
  out[0] = FrameType.MESH_AUTH;
  proof.copy(out, 1);
  return out;
}

/** The proof in a MESH_AUTH payload. Throws `ERR_PROTOCOL` when malformed. */
export function decodeMeshAuth(p: Buffer): Buffer {
  if (p.length !== 1 + PROOF_BYTES || p[0] !== FrameType.MESH_AUTH) throw new ProtocolError('mesh auth: frame must be 33 bytes');
  return Buffer.from(p.subarray(1));
}
