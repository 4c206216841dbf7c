import type { Socket } from 'node:net';
import { FrameDecoder } from '../codec/frame-decoder.js';
import { FrameWriter } from '../codec/frame-writer.js';
import {
  AuthError,
  ErrorCodes,
  DisconnectedError,
  HeartbeatError,
  ProtocolError,
  RelayError,
  TimeoutError,
  errorFromCode,
} from '../errors.js';
import { FrameType, decodeControl, encodeControl, newNonce, proofsEqual } from '../protocol/index.js';
import type { Secret } from '../secret.js';
import type { Flushable, Flusher } from '../server/flusher.js';
import {
  MESH_VERSION,
  MeshHelloFlags,
  decodeMeshAuth,
  decodeMeshHello,
  encodeMeshAuth,
  encodeMeshHello,
  meshProof,
  type MeshHello,
} from './mesh-handshake.js';

/** The most a peer may send before its hello is checked: a hello is well under 1 KiB. */
const HANDSHAKE_FRAME_BYTES = 1024;

/** What this node says of itself on every link. */
export interface MeshSelf {
  nodeId: string;
  incarnation: Buffer;
  maxFrameBytes: number;
  /** Deliveries a peer may write before this node's first CONSUMED. */
  window: number;
  heartbeatMs: number;
  secret: Secret | undefined;
}

/** What a connection reports to the mesh that owns it. */
export interface PeerConnectionEvents {
  /** The handshake is done: `conn.peer` is the other end's hello. */
  up(conn: PeerConnection): void;
  /** A frame after the handshake, at `[start, end)` of `buf`. */
  frame(conn: PeerConnection, buf: Buffer, start: number, end: number): void;
  /** Every frame of one socket read was handed over: a batch ends here. */
  read(conn: PeerConnection): void;
  /** The connection is gone (undefined: closed by this end, in order). */
  closed(conn: PeerConnection, error: RelayError | undefined): void;
}

/**
 * One connection between two mesh nodes, either end: the symmetric
 * handshake (both ends send a MESH_HELLO at once, then, with a secret, a
 * MESH_AUTH proving it for this connection only), framing, heartbeats and
 * batched output. What travels on it once it is up is the mesh's business.
 */
export class PeerConnection implements Flushable {
  readonly writer = new FrameWriter(16 * 1024);
  dirty = false;
  /** The other end's hello, once received. */
  peer: MeshHello | undefined;
  state: 'handshake' | 'up' | 'closed' = 'handshake';
  /** The other end said GOODBYE: it left for good, and is not expected back. */
  leaving = false;
  lastReceived = Date.now();
  private readonly hello: MeshHello;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: HANDSHAKE_FRAME_BYTES });
  private proven: boolean;
  private readonly timer: NodeJS.Timeout;
  private heartbeat: NodeJS.Timeout | undefined;
  private closeReason: RelayError | undefined;

  constructor(
    readonly socket: Socket,
    /** True for the end that dialed. */
    readonly dialed: boolean,
    /** The peer a dialer meant to reach; undefined for an accepted connection. */
    readonly expected: string | undefined,
    private readonly self: MeshSelf,
    private readonly flusher: Flusher,
    private readonly events: PeerConnectionEvents,
    handshakeTimeoutMs: number,
  ) {
    this.proven = self.secret === undefined;
    this.hello = {
      version: MESH_VERSION,
      flags: self.secret === undefined ? 0 : MeshHelloFlags.SECRET,
      maxFrameBytes: self.maxFrameBytes,
      window: self.window,
      heartbeatMs: self.heartbeatMs,
      incarnation: self.incarnation,
      nonce: newNonce(),
      from: self.nodeId,
      to: expected ?? '',
    };
    this.timer = setTimeout(() => this.fail(new TimeoutError(`no mesh handshake within ${handshakeTimeoutMs} ms`)), handshakeTimeoutMs);
    this.timer.unref();
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    // An acceptor answers with the dialer's id, so it speaks once it knows it.
    if (dialed) this.send(encodeMeshHello(this.hello));
  }

  /** The other end's node id (empty before its hello). */
  get peerId(): string {
    return this.peer?.from ?? '';
  }

  /** Bytes written and not yet on the wire. */
  get pendingBytes(): number {
    return this.writer.length + this.socket.writableLength;
  }

  /** Marks output to go at the end of this turn. */
  touch(): void {
    if (this.state !== 'closed') this.flusher.mark(this);
  }

  flush(): void {
    this.beforeFlush?.();
    if (this.writer.length === 0) return;
    const parts = this.writer.take();
    this.onFlush?.(parts);
    if (this.state === 'closed' || this.socket.destroyed) return;
    if (parts.length === 1) this.socket.write(parts[0]!);
    else {
      this.socket.cork();
      for (const part of parts) this.socket.write(part);
      this.socket.uncork();
    }
  }

  /** Called as every flush begins (to write what is owed: a CONSUMED). */
  beforeFlush: (() => void) | undefined;

  /** Called with the output chunks of every flush (the outbound window keeps them while they hold unsettled deliveries). */
  onFlush: ((parts: readonly Buffer[]) => void) | undefined;

  /** Closes with a GOODBYE (or an ERROR naming `error`'s code) after what is written so far. */
  end(error?: RelayError): void {
    if (this.state === 'closed') return;
    this.writer.appendEncoded(
      encodeControl(
        error === undefined
          ? { type: FrameType.GOODBYE, code: ErrorCodes.CLOSED, message: 'node leaving the mesh' }
          : { type: FrameType.ERROR, code: error.code, message: error.message },
      ),
    );
    this.flush();
    this.closeReason = error;
    this.settle();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2_000);
    timer.unref();
  }

  /** Cuts the connection at once, for `error`. */
  fail(error: RelayError): void {
    if (this.state === 'closed') return;
    this.closeReason = error;
    this.socket.destroy();
    this.settle();
  }

  /** Checks the other end is alive: called on the mesh's heartbeat tick. */
  checkAlive(now: number): void {
    if (this.state !== 'up') return;
    const allowed = 2 * Math.max(this.self.heartbeatMs, this.peer!.heartbeatMs);
    if (now - this.lastReceived > allowed) this.fail(new HeartbeatError(`peer ${this.peerId} silent for ${allowed} ms`));
  }

  private send(payload: Buffer): void {
    this.writer.appendFrame(payload);
    this.flush();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.lastReceived = Date.now();
    const decoder = this.decoder;
    try {
      decoder.push(chunk);
      let holder: Buffer | undefined;
      while (this.state !== 'closed' && (holder = decoder.nextInPlace()) !== undefined) {
        if (this.state === 'up') this.events.frame(this, holder, decoder.frameStart, decoder.frameEnd);
        else this.handshake(holder.subarray(decoder.frameStart, decoder.frameEnd));
      }
      if (this.state === 'up') this.events.read(this);
    } catch (err) {
      const error = err instanceof RelayError ? err : new ProtocolError(String(err));
      // A refused handshake is said (coded) so that the other end knows why; a broken stream is just cut.
      if (this.state === 'handshake' && error.code !== 'ERR_FRAME_TOO_LARGE') this.end(error);
      else this.fail(error);
    }
  };

  private handshake(frame: Buffer): void {
    const type = frame[0];
    if (type === FrameType.ERROR || type === FrameType.GOODBYE) {
      const control = decodeControl(frame);
      if (control.type === FrameType.ERROR || control.type === FrameType.GOODBYE) {
        throw errorFromCode(control.code, `peer refused the link: ${control.message}`);
      }
    }
    if (this.peer === undefined) {
      if (type !== FrameType.MESH_HELLO) throw new ProtocolError('a mesh link must begin with a mesh hello');
      this.receiveHello(decodeMeshHello(frame));
      return;
    }
    if (type !== FrameType.MESH_AUTH || this.proven) throw new ProtocolError('unexpected frame during the mesh handshake');
    const proof = decodeMeshAuth(frame);
    if (!proofsEqual(proof, meshProof(this.self.secret!.reveal(), this.peer, this.hello))) {
      throw new AuthError(`peer ${this.peerId} failed to prove the cluster secret`);
    }
    this.proven = true;
    this.becomeUp();
  }

  private receiveHello(hello: MeshHello): void {
    if (hello.version !== MESH_VERSION) throw new ProtocolError(`peer speaks mesh version ${hello.version}, this node ${MESH_VERSION}`);
    if (hello.from === this.self.nodeId) throw new AuthError('a node cannot link to itself (check the peers map)');
    if (this.expected !== undefined && hello.from !== this.expected) {
      throw new AuthError(`dialed ${this.expected} but reached ${hello.from}`);
    }
    if (hello.to !== '' && hello.to !== this.self.nodeId)
      throw new AuthError(`peer ${hello.from} meant to reach ${hello.to}, not this node`);
    const theirs = (hello.flags & MeshHelloFlags.SECRET) !== 0;
    if (theirs !== (this.self.secret !== undefined)) {
      throw new AuthError(
        theirs ? `peer ${hello.from} requires a cluster secret this node does not have` : `peer ${hello.from} has no cluster secret`,
      );
    }
    this.peer = hello;
    if (!this.dialed) {
      this.hello.to = hello.from;
      this.writer.appendFrame(encodeMeshHello(this.hello));
    }
    if (this.self.secret !== undefined) this.writer.appendFrame(encodeMeshAuth(meshProof(this.self.secret.reveal(), this.hello, hello)));
    this.flush();
    if (this.proven) this.becomeUp();
  }

  private becomeUp(): void {
    clearTimeout(this.timer);
    this.state = 'up';
    this.decoder.setMaxFrameBytes(this.self.maxFrameBytes);
    this.heartbeat = setInterval(() => {
      this.writer.appendEncoded(PING);
      this.touch();
    }, this.self.heartbeatMs);
    this.heartbeat.unref();
    this.events.up(this);
  }

  private readonly onError = (err: Error): void => {
    this.closeReason ??= new DisconnectedError(`link to ${this.peerId || this.expected || 'peer'} failed: ${err.message}`, { cause: err });
  };

  private readonly onClose = (): void => {
    this.closeReason ??= new DisconnectedError(`link to ${this.peerId || this.expected || 'peer'} closed`);
    this.settle();
  };

  private settle(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.events.closed(this, this.closeReason);
  }
}

/** Length prefix included, as `encodeControl` makes every control frame. */
const PING = encodeControl({ type: FrameType.PING });
