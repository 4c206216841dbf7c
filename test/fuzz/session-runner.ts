/**
 * Plays a hostile {@link Session} against a relay over a real socket, and
 * checks everything the relay sends back on the way:
 *
 * - every frame is well framed and decodes as the type it claims to be;
 * - no frame is larger than the peer said it accepts (its HELLO), beyond a
 *   little slack for peers that announce less than the relay's own limit;
 * - every ERROR carries one of the package's error codes, and the relay
 *   closes the connection after it;
 * - nothing but CHALLENGE or ERROR comes before a WELCOME, and a WELCOME
 *   comes only after the right proof, carrying the relay's right proof.
 *
 * What went wrong is returned as `violations`; the caller decides what fails.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameDecoder } from '../../src/codec/index.js';
import { isErrorCode } from '../../src/errors.js';
import {
  FrameType,
  decodeAck,
  decodeControl,
  decodeDeliver,
  decodeExpire,
  decodeLocated,
  decodeReport,
  newNonce,
  nodeProof,
  relayProof,
} from '../../src/protocol/index.js';
import { authPayload, errorPayload, frame, helloPayload, type FuzzLimits, type HelloSpec, type Session } from './frames.js';

export interface RunContext {
  port: number;
  secret: string;
  limits: FuzzLimits;
  /** The address the relay takes legacy nodes from (e.g. `127.0.0.2`). */
  legacyAddress: string;
}

export interface SessionOutcome {
  /** Frames written (handshake and repeats included). */
  frames: number;
  bytes: number;
  /** Frames the relay sent. */
  received: number;
  /** The code of the relay's ERROR, if it sent one. */
  errorCode: string | undefined;
  welcomed: boolean;
  violations: string[];
}

/** A frame the relay sends may exceed what the peer announced only when the peer announced less than this over the relay's limit. */
const SLACK_BYTES = 16 * 1024;
/** Frames above this are not buffered by the runner: the violation is recorded and the connection cut. */
const RUNNER_FRAME_CAP = 256 * 1024 * 1024;
const ANSWER_TIMEOUT_MS = 5_000;
/** A chunked session writes its first this many bytes in pieces, the rest whole. */
const CHUNKED_BYTES = 16 * 1024;

/** LOCATED_PART, the first parts of a LOCATED answer split to fit the asker's limit (a later revision). */
const LOCATED_PART = (FrameType as Record<string, number>)['LOCATED_PART'] ?? 0x93;

const HEX = (t: number): string => `0x${t.toString(16).padStart(2, '0')}`;

class Peer {
  readonly socket: Socket;
  readonly decoder = new FrameDecoder({ maxFrameBytes: RUNNER_FRAME_CAP });
  readonly violations: string[] = [];
  /** Frames that arrived during the handshake, for it to take. */
  readonly inbox: Buffer[] = [];
  received = 0;
  errorCode: string | undefined;
  welcomed = false;
  /** Whether a correct proof went out (a WELCOME is allowed). */
  proven = false;
  /** What the node announced: frames to it are checked against it. */
  announcedMax = Number.POSITIVE_INFINITY;
  nonce: Buffer | undefined;
  challenge: Buffer | undefined;
  nodeId = '';
  /** The relay hung up (FIN) or the socket closed. */
  ended = false;
  closed = false;
  lastDataAt = Date.now();
  readonly closedPromise: Promise<void>;
  private waiters = new Set<() => void>();
  private binary: boolean;

  constructor(
    readonly ctx: RunContext,
    readonly session: Session,
  ) {
    const legacy = session.opening.kind === 'legacy';
    this.binary = !legacy;
    this.socket = connect({ host: '127.0.0.1', port: ctx.port, noDelay: true, ...(legacy ? { localAddress: ctx.legacyAddress } : {}) });
    this.socket.on('error', () => {});
    this.socket.on('data', this.onData);
    this.socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    this.closedPromise = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closed = true;
        this.ended = true;
        this.notify();
        resolve();
      }),
    );
  }

  connected(): Promise<boolean> {
    return new Promise((resolve) => {
      this.socket.once('connect', () => resolve(true));
      this.socket.once('close', () => resolve(false));
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once `predicate` holds, false after `ms`. */
  until(predicate: () => boolean, ms: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, ms);
      this.waiters.add(check);
    });
  }

  violation(text: string): void {
    if (this.violations.length < 5) this.violations.push(text);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.lastDataAt = Date.now();
    this.decoder.push(chunk);
    try {
      for (let p = this.decoder.next(); p !== undefined; p = this.decoder.next()) {
        this.received++;
        this.inspect(Buffer.from(p));
      }
    } catch (err) {
      this.violation(`the relay sent bytes that are not framing: ${(err as Error).message}`);
      this.socket.destroy();
    }
    this.notify();
  };

  /** Checks one frame from the relay. */
  private inspect(p: Buffer): void {
    if (p.length === 0) return this.violation('the relay sent an empty frame');
    const type = p[0]!;
    // A legacy connection gets JSON documents, except on a binary HELLO (then it is a binary node).
    if (!this.binary && (type < 0x80 || type > 0xbf)) {
      try {
        JSON.parse(p.toString('utf8'));
      } catch {
        this.violation(`the relay sent a legacy node a document that is not JSON: ${p.subarray(0, 80).toString('utf8')}`);
      }
      return;
    }
    const allowed = Math.max(this.announcedMax, this.ctx.limits.maxFrameBytes + SLACK_BYTES);
    if (p.length > allowed) {
      this.violation(
        `the relay sent a ${p.length}-byte frame of type ${HEX(type)} to a node that accepts ${this.announcedMax} (and the relay's own limit is ${this.ctx.limits.maxFrameBytes})`,
      );
    }
    try {
      switch (type) {
        case FrameType.CHALLENGE: {
          const c = decodeControl(p);
          if (c.type === FrameType.CHALLENGE) this.challenge = c.nonce;
          if (this.welcomed) this.violation('a CHALLENGE after the WELCOME');
          this.inbox.push(p);
          return;
        }
        case FrameType.WELCOME: {
          const w = decodeControl(p);
          if (!this.proven) this.violation('a WELCOME without a correct proof');
          else if (w.type === FrameType.WELCOME && this.challenge && this.nonce) {
            const expected = relayProof(this.ctx.secret, this.challenge, this.nonce, this.nodeId);
            if (!w.proof.equals(expected)) this.violation("the WELCOME's relay proof is wrong");
          }
          this.welcomed = true;
          this.inbox.push(p);
          return;
        }
        case FrameType.ERROR:
        case FrameType.GOODBYE: {
          const e = decodeControl(p);
          if (e.type === FrameType.ERROR || e.type === FrameType.GOODBYE) {
            if (!isErrorCode(e.code))
              this.violation(
                `an ${type === FrameType.ERROR ? 'ERROR' : 'GOODBYE'} with code ${JSON.stringify(e.code)}, which is not an error code`,
              );
            if (type === FrameType.ERROR) this.errorCode ??= e.code;
          }
          this.inbox.push(p);
          return;
        }
        case FrameType.PING:
        case FrameType.PONG:
          decodeControl(p);
          break;
        case FrameType.DELIVER:
          decodeDeliver(p);
          break;
        case FrameType.REPORT:
          decodeReport(p);
          break;
        case FrameType.ACK:
          decodeAck(p);
          break;
        case FrameType.EXPIRE:
          decodeExpire(p);
          break;
        case FrameType.LOCATED:
        case LOCATED_PART:
          decodeLocated(p);
          break;
        default:
          return this.violation(`the relay sent a frame of type ${HEX(type)}`);
      }
    } catch (err) {
      return this.violation(`the relay sent a malformed frame of type ${HEX(type)} (${p.length} bytes): ${(err as Error).message}`);
    }
    if (!this.welcomed) this.violation(`a frame of type ${HEX(type)} before the WELCOME`);
  }

  /** The next frame the handshake waits for, or undefined after the timeout or the close. */
  async nextFrame(timeoutMs = ANSWER_TIMEOUT_MS, required = true): Promise<Buffer | undefined> {
    const ok = await this.until(() => this.inbox.length > 0 || this.closed, timeoutMs);
    if (!ok && required) this.violation(`no answer from the relay within ${timeoutMs} ms during the handshake`);
    return this.inbox.shift();
  }

  /** Writes, waiting for the socket to drain when it must; false once the relay stopped taking bytes (or closed). */
  async write(bytes: Buffer): Promise<boolean> {
    if (this.socket.destroyed || this.ended) return false;
    if (this.socket.write(bytes)) return true;
    let drained = false;
    const onDrain = (): void => {
      drained = true;
      this.notify();
    };
    this.socket.once('drain', onDrain);
    // A relay that applies backpressure to a peer that does not read stops reading it: fine, stop writing.
    await this.until(() => drained || this.closed, 500);
    this.socket.off('drain', onDrain);
    return drained && !this.closed;
  }
}

/** Plays `session` against the relay; resolves once the connection is closed. */
export async function runSession(ctx: RunContext, session: Session): Promise<SessionOutcome> {
  const peer = new Peer(ctx, session);
  let frames = 0;
  let bytes = 0;
  // Bytes still to be written in pieces: a session's first few KiB, so that a flood stays a flood.
  let chunkBudget = CHUNKED_BYTES;
  const send = async (b: Buffer, count = 1): Promise<boolean> => {
    for (let r = 0; r < count; r++) {
      // After the relay's ERROR, the rest would be discarded unread.
      if (r > 0 && peer.errorCode !== undefined) return false;
      if (session.chunk > 0 && b.length > session.chunk && chunkBudget > 0) {
        chunkBudget -= b.length;
        for (let at = 0, n = 0; at < b.length; at += session.chunk, n++) {
          if (!(await peer.write(b.subarray(at, at + session.chunk)))) return false;
          // Now and then let the relay read a piece on its own.
          if (n % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
        }
      } else if (!(await peer.write(b))) return false;
      frames++;
      bytes += b.length;
    }
    return true;
  };

  try {
    if (!(await peer.connected())) {
      peer.violation('the relay did not accept the connection');
      return outcome();
    }
    const o = session.opening;
    if (o.kind === 'auth' || o.kind === 'wrong-auth' || o.kind === 'skip-auth') {
      const nonce = newNonce();
      peer.nonce = nonce;
      peer.nodeId = o.hello.nodeId.toString('utf8');
      peer.announcedMax = o.hello.maxFrameBytes;
      await send(frame(helloPayload(o.hello, nonce)));
      if (o.kind !== 'skip-auth') {
        const first = await peer.nextFrame();
        if (first !== undefined && first[0] === FrameType.CHALLENGE && peer.challenge !== undefined) {
          if (o.kind === 'auth') {
            peer.proven = true;
            await send(frame(authPayload(nodeProof(ctx.secret, peer.challenge, nonce, peer.nodeId))));
          } else {
            const proof =
              o.proof === 'other-secret'
                ? nodeProof(`${ctx.secret}!`, peer.challenge, nonce, peer.nodeId)
                : o.proof === 'random'
                  ? Buffer.concat([newNonce(), newNonce()])
                  : Buffer.alloc(31);
            await send(frame(authPayload(proof)));
          }
          // A relay may answer failed proofs late, to slow down guessing: no need to wait for it.
          const answer = o.kind === 'auth' ? await peer.nextFrame() : await peer.nextFrame(300, false);
          if (
            o.kind === 'wrong-auth' &&
            answer !== undefined &&
            peer.errorCode !== 'ERR_AUTH' &&
            !(o.proof === 'short' && peer.errorCode === 'ERR_PROTOCOL')
          ) {
            peer.violation(`a wrong proof (${o.proof}) was answered with ${peer.errorCode ?? `a frame of type ${HEX(answer[0]!)}`}`);
          }
        } else if (first !== undefined && first[0] !== FrameType.ERROR) {
          peer.violation(`a HELLO was answered with a frame of type ${HEX(first[0]!)} instead of a CHALLENGE`);
        }
      }
    }

    // A peer that does not read stops now: the relay's writes to it pile up.
    if (!session.reads) peer.socket.pause();
    for (const step of session.steps) {
      if (peer.ended || peer.errorCode !== undefined) break;
      if (!(await send(step.frame.bytes, step.repeat))) break;
    }

    switch (session.ending) {
      case 'destroy':
        peer.socket.destroy();
        break;
      case 'goodbye':
        await send(frame(errorPayload(FrameType.GOODBYE, Buffer.from('ERR_CLOSED'), Buffer.from('bye'))));
        await peer.until(() => peer.ended, 300);
        peer.socket.end();
        break;
      case 'linger':
        // Until the relay closes, or has said nothing for a moment.
        await peer.until(() => peer.ended || Date.now() - peer.lastDataAt > 100, 600);
        await peer.until(() => peer.ended, 50);
        peer.socket.end();
        break;
      case 'end':
        await peer.until(() => peer.ended, 20);
        peer.socket.end();
        break;
    }
    // The relay closes a connection after its ERROR; a peer that does not read may not see it.
    if (peer.errorCode !== undefined && session.reads && session.ending !== 'destroy') {
      if (!(await peer.until(() => peer.ended, 3_000)))
        peer.violation(`the relay did not close the connection within 3 s of its ERROR ${peer.errorCode}`);
    }
    // A peer that does not read never sees the relay hang up: it leaves.
    if (!session.reads) await sleep(20);
    else if (!(await peer.until(() => peer.closed, 2_000))) peer.socket.destroy();
    return outcome();
  } finally {
    peer.socket.destroy();
  }

  function outcome(): SessionOutcome {
    return { frames, bytes, received: peer.received, errorCode: peer.errorCode, welcomed: peer.welcomed, violations: peer.violations };
  }
}

/** Runs `tasks` with at most `concurrency` at a time. */
export async function pool<T, R>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export type { HelloSpec };
