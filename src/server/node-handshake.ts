import type { Socket } from 'node:net';
import { AuthError, type RelayError } from '../errors.js';
import { FrameType, encodeControl, newNonce, relayProof, type HelloFrame } from '../protocol/index.js';
import { negotiateVersion, provenSecret } from './handshake.js';
import { requiresProof, type ResolvedServerOptions } from './options.js';
import { checkNodeCertificate } from './tls-identity.js';

/** What the relay does next with a node in its handshake. */
export type HandshakeStep =
  /** Send this CHALLENGE and wait for the node's AUTH. */
  | { kind: 'challenge'; frame: Buffer }
  /** Admit the node at `version`, proving the relay with `proof` when it has a secret. */
  | { kind: 'admit'; version: number; proof: Buffer | undefined }
  /** Refuse it; `wrongProof` when it failed to prove a secret (answered late when repeated). */
  | { kind: 'refuse'; error: RelayError; wrongProof: boolean };

/**
 * One node's side of the handshake as the relay holds it: HELLO (version,
 * certificate naming the node), then, when the relay has secrets, a
 * CHALLENGE and the node's AUTH, checked against the shared secrets and the
 * node's own secret under each master secret. It decides; the session acts.
 */
export class NodeHandshake {
  /** The node's HELLO, once received. */
  hello: HelloFrame | undefined;
  private challenge: Buffer | undefined;
  private version = 0;

  constructor(
    private readonly options: ResolvedServerOptions,
    private readonly socket: Socket,
  ) {}

  /** The node said HELLO. Throws `ERR_VERSION` when it shares no version with the relay. */
  onHello(hello: HelloFrame): HandshakeStep {
    this.version = negotiateVersion(hello);
    this.hello = hello;
    const refusal = checkNodeCertificate(this.socket, hello.nodeId, this.options);
    if (refusal !== undefined) return { kind: 'refuse', error: refusal, wrongProof: false };
    if (!requiresProof(this.options)) return { kind: 'admit', version: this.version, proof: undefined };
    this.challenge = newNonce();
    return { kind: 'challenge', frame: encodeControl({ type: FrameType.CHALLENGE, version: this.version, nonce: this.challenge }) };
  }

  /** The node answered the CHALLENGE with `proof`. */
  onAuth(proof: Buffer): HandshakeStep {
    const hello = this.hello!;
    const challenge = this.challenge!;
    const secret = provenSecret(this.options, proof, challenge, hello);
    if (secret === undefined) {
      return { kind: 'refuse', error: new AuthError('authentication failed: the proof does not match any secret'), wrongProof: true };
    }
    return { kind: 'admit', version: this.version, proof: relayProof(secret.reveal(), challenge, hello.nonce, hello.nodeId) };
  }
}
