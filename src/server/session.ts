import type { Socket } from 'node:net';
import { FrameDecoder } from '../codec/frame-decoder.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { ErrorCodes, ProtocolError, RelayError, TimeoutError, errorFromCode, type ErrorCode } from '../errors.js';
import { encodeLegacyError } from '../legacy/index.js';
import { AckRun, FrameType, Features, decodeControl, encodeControl, decodeConsumed, type HelloFrame } from '../protocol/index.js';
import { DeliveryWindow } from './delivery-window.js';
import { welcomeFrame } from './handshake.js';
import { NodeHandshake, type HandshakeStep } from './node-handshake.js';
import { PendingAnswers, type AnswerSink } from './pending-answers.js';
import type { Flushable } from './flusher.js';
import { goAddress } from '../legacy/go-address.js';
import type { SessionHost } from './session-host.js';

type State = 'hello' | 'challenged' | 'ready' | 'closing' | 'closed';

/**
 * Where a connection stands against the limits on unproven connections:
 * `pending` before its hello, `legacy` once confirmed as a Go node (which
 * never proves anything), `proven` once admitted as a binary node.
 */
export type Admission = 'pending' | 'legacy' | 'proven';

/**
 * The largest frame a connection may send before it is admitted: a hello or
 * an auth is a few hundred bytes (this leaves room for later revisions).
 */
export const HANDSHAKE_FRAME_BYTES = 4096;

function discard(): void {}

/**
 * One node's connection to the relay: its handshake, its inbound frames and
 * its coalesced outbound buffer.
 */
export class Session implements Flushable, AnswerSink {
  /** The node id announced in hello, once known. */
  nodeId = '';
  /** The registry key: the node id's bytes read as latin1, so routing can look hosts up without decoding UTF-8. */
  key = '';
  /** The node id with its length byte, copied into every DELIVER this node originates. */
  origin: Buffer = Buffer.alloc(0);
  /** The node id's UTF-8 bytes, as hosts name it in routing tables. */
  idBytes: Buffer = Buffer.alloc(0);
  /** The largest frame the node accepts. */
  maxFrameBytes = 0;
  readonly writer = new FrameWriter();
  /** The run of fully delivered sends not yet acknowledged, for a node that reads ACK frames. */
  acks: AckRun | undefined;
  /**
   * A ONCE node's {@link origin} followed by its incarnation: the fixed part
   * of the stamp on every DELIVER of its sends to ONCE nodes, written whole.
   */
  stampedOrigin: Buffer | undefined;
  /** A ONCE node's deliveries, numbered until its application takes them (see {@link DeliveryWindow}). */
  window: DeliveryWindow | undefined;
  /** A ONCE node's sends waiting for their receivers, answered in send order. */
  answers: PendingAnswers | undefined;
  /** True when the node reads LOCATED_PART: a large LOCATED answer is split, not refused. */
  readsLocateParts = false;
  /** True once the node said GOODBYE: it is leaving, not expected back. */
  saidGoodbye = false;
  dirty = false;
  /** True while this session is in the hub's registry. */
  registered = false;
  /** True once `node:up` was emitted for it (a provisional legacy node is registered but not yet announced). */
  announced = false;
  /** `legacy` for a Go transmit node: JSON documents, keyed by its `ip:port`. */
  dialect: 'binary' | 'legacy' = 'binary';
  lastReceived = Date.now();
  lastSent = Date.now();
  /** When the frame being received began, while one is incomplete; 0 otherwise. */
  frameStartedAt = 0;
  /** Where this connection stands against the limits on unproven connections. */
  admission: Admission = 'pending';
  readonly remoteAddress: string;
  readonly connectedAt = Date.now();

  private state: State = 'hello';
  private readonly decoder: FrameDecoder;
  private readonly handshake: NodeHandshake;
  private helloTimer: NodeJS.Timeout | undefined;
  private closeReason: RelayError | undefined;
  private throttled = false;
  private awaitingDrain = false;
  private heardFrom: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.handshake = new NodeHandshake(host.options, socket);
    // A Go node's first frame is a whole message; anyone else's is a hello.
    const mayBeLegacy = host.options.acceptsLegacy(socket.remoteAddress);
    this.decoder = new FrameDecoder({ maxFrameBytes: mayBeLegacy ? host.options.maxFrameBytes : HANDSHAKE_FRAME_BYTES });
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', () => {
      // 'close' follows; the reason is the error the socket saw.
    });
    socket.on('close', this.onClose);
    this.helloTimer = setTimeout(this.onHelloTimeout, host.options.helloTimeoutMs);
    if (mayBeLegacy) this.becomeProvisionalLegacy();
  }

  /**
   * A Go node never says hello, and one that only receives may never write,
   * so a connection that may be legacy is routable under its `ip:port` from
   * the start, as a Go hub keys it. Its first frame settles what it is.
   */
  private becomeProvisionalLegacy(): void {
    this.dialect = 'legacy';
    this.nodeId = goAddress(this.socket.remoteAddress, this.socket.remotePort);
    this.setIdentity(this.nodeId, this.host.options.maxFrameBytes);
    // Legacy nodes know no ping: let TCP notice dead peers.
    this.socket.setKeepAlive(true, this.host.options.heartbeatIntervalMs);
    // Refused for now (say, at maxNodes): it may yet say hello and replace
    // someone; confirmLegacy tries again and reports the refusal.
    this.host.register(this, false);
  }

  private readonly onHelloTimeout = (): void => {
    this.helloTimer = undefined;
    if (this.dialect === 'legacy') this.confirmLegacy();
    else this.fail(new TimeoutError(`no hello within ${this.host.options.helloTimeoutMs} ms`));
  };

  /** Returns false when the relay refuses the node (it is being closed). */
  private confirmLegacy(): boolean {
    this.clearHelloTimer();
    const refusal = this.registered ? undefined : this.host.register(this, false);
    if (refusal) {
      this.fail(refusal);
      return false;
    }
    this.state = 'ready';
    this.host.admitted(this, 'legacy');
    this.host.announce(this);
    return true;
  }

  private setIdentity(nodeId: string, maxFrameBytes: number): void {
    const id = Buffer.from(nodeId, 'utf8');
    this.key = id.toString('latin1');
    this.origin = Buffer.concat([Buffer.of(id.length), id]);
    this.idBytes = id;
    this.maxFrameBytes = maxFrameBytes;
  }

  /** True until the node is admitted or the connection starts closing. */
  get inHandshake(): boolean {
    return this.state === 'hello' || this.state === 'challenged';
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Bytes waiting for this node: in our buffer, in the socket's, and held beyond its window. */
  get outboundBytes(): number {
    return this.writer.length + this.socket.writableLength + (this.window?.heldBytes ?? 0);
  }

  /**
   * The writer for a REPORT to this node. The run of ACKs owed to it is
   * written first, so the node reads every answer in send order.
   */
  reportWriter(): FrameWriter {
    this.acks?.seal(this.writer);
    return this.writer;
  }

  /** Marks this session as having output for the next flush. */
  touch(): void {
    this.host.flusher.mark(this);
  }

  flush(): void {
    this.acks?.seal(this.writer);
    if (this.writer.length === 0) return;
    const frames = this.writer.frames;
    const parts = this.writer.take();
    // Kept until the node settles the deliveries in them: sent again if it drops and comes back.
    this.window?.retain(parts);
    if (this.state === 'closed' || this.socket.destroyed) return;
    let bytes = 0;
    if (parts.length === 1) {
      bytes = parts[0]!.length;
      this.socket.write(parts[0]!);
    } else {
      this.socket.cork();
      for (const part of parts) {
        bytes += part.length;
        this.socket.write(part);
      }
      this.socket.uncork();
    }
    this.lastSent = Date.now();
    this.host.stats.framesOut += frames;
    this.host.stats.bytesOut += bytes;
    this.resumeWhenDrained();
  }

  /** Queues a control frame (already length-prefixed) and schedules a flush. */
  sendControl(frame: Buffer): void {
    this.writer.appendEncoded(frame);
    this.touch();
  }

  /**
   * Tells the node why it is being closed, flushes, and ends the connection.
   * The socket is destroyed if the node does not hang up in time.
   */
  fail(err: RelayError): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.closeReason = err;
    this.host.onSessionError(this, err);
    // Answers owed to the node go out before the frame that says goodbye.
    this.acks?.seal(this.writer);
    if (this.dialect === 'legacy') this.writer.appendFrame(encodeLegacyError(err.code, err.message));
    else this.writer.appendEncoded(encodeControl({ type: FrameType.ERROR, code: err.code, message: err.message }));
    this.end();
  }

  /** Says goodbye with a code and ends the connection. */
  goodbye(code: ErrorCode, message: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.closeReason = errorFromCode(code, message);
    this.acks?.seal(this.writer);
    // A Go node could not parse a GOODBYE: it just sees the connection close.
    if (this.dialect === 'binary') this.writer.appendEncoded(encodeControl({ type: FrameType.GOODBYE, code, message }));
    this.end();
  }

  /** Calls `fn` once, when the next bytes arrive from the node. */
  onceHeardFrom(fn: () => void): void {
    this.heardFrom = fn;
  }

  /** When the frame being received began, unless the relay itself stopped reading; 0 when none is incomplete. */
  get stalledFrameSince(): number {
    return this.throttled ? 0 : this.frameStartedAt;
  }

  /** Cuts the connection at once. */
  destroy(reason?: RelayError): void {
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  private end(): void {
    this.state = 'closing';
    this.clearHelloTimer();
    this.socket.off('data', this.onData);
    // Keep reading, and drop what arrives: a paused socket never sees the
    // peer's hang-up (so it would linger until the close timeout), and unread
    // bytes at close make the kernel reset the connection, losing the frame
    // that says why it is being closed.
    this.socket.on('data', discard);
    this.socket.resume();
    this.flush();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), this.host.options.closeTimeoutMs);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
    this.host.release(this, this.closeReason);
  }

  private readonly onData = (chunk: Buffer): void => {
    const now = (this.lastReceived = Date.now());
    this.host.stats.bytesIn += chunk.length;
    this.decoder.push(chunk);
    if (this.heardFrom !== undefined) {
      const heard = this.heardFrom;
      this.heardFrom = undefined;
      heard();
    }
    try {
      const decoder = this.decoder;
      let buf: Buffer | undefined;
      let completed = false;
      while ((buf = decoder.nextInPlace()) !== undefined) {
        completed = true;
        this.host.stats.framesIn++;
        this.onFrame(buf, decoder.frameStart, decoder.frameEnd);
        if (this.state === 'closing' || this.state === 'closed') return;
      }
      // A frame must finish within a bound once begun: a peer trickling a
      // byte at a time would otherwise pass every heartbeat check.
      if (decoder.bufferedBytes === 0) this.frameStartedAt = 0;
      else if (completed || this.frameStartedAt === 0) this.frameStartedAt = now;
      this.applyBackpressure();
    } catch (err) {
      this.host.stats.protocolErrors++;
      // An argument error here means the peer's frame carried what no frame may (an empty id): its fault.
      const peerFault = err instanceof RelayError && err.code !== ErrorCodes.INVALID_ARGUMENT;
      this.fail(peerFault ? err : new ProtocolError(`malformed frame: ${(err as Error).message}`, { cause: err }));
    }
  };

  /**
   * A node that does not read its reports must not make the relay buffer
   * them without bound: stop reading its frames until its socket drains.
   */
  private applyBackpressure(): void {
    if (this.socket.writableLength + this.writer.length <= this.host.options.maxOutboundBytes) return;
    if (!this.throttled) {
      this.throttled = true;
      this.socket.pause();
    }
    this.resumeWhenDrained();
  }

  private resumeWhenDrained(): void {
    if (!this.throttled) return;
    if (this.socket.writableNeedDrain) {
      if (!this.awaitingDrain) {
        this.awaitingDrain = true;
        this.socket.once('drain', () => {
          this.awaitingDrain = false;
          this.resumeWhenDrained();
        });
      }
    } else if (this.writer.length === 0) {
      this.throttled = false;
      if (this.state === 'ready') this.socket.resume();
    }
  }

  /** Handles the frame at `[start, end)` of `buf` (a view is made only off the routing path). */
  private onFrame(buf: Buffer, start: number, end: number): void {
    if (this.state === 'ready' && this.dialect === 'binary') {
      if (!this.host.route(this, buf, start, end)) this.onReadyControl(buf.subarray(start, end));
      return;
    }
    const payload = buf.subarray(start, end);
    if (this.state === 'ready') {
      this.host.routeLegacy(this, payload);
      return;
    }
    if (payload.length === 0) throw new ProtocolError('empty frame');
    const type = payload[0];
    if (this.state === 'hello') {
      if (this.dialect === 'legacy') {
        if (type !== FrameType.HELLO) {
          if (this.confirmLegacy()) this.host.routeLegacy(this, payload);
          return;
        }
        this.host.withdraw(this);
        this.dialect = 'binary';
      }
      if (type !== FrameType.HELLO) throw new ProtocolError('the first frame must be a hello');
      this.decoder.setMaxFrameBytes(HANDSHAKE_FRAME_BYTES);
      const hello = decodeControl(payload) as HelloFrame;
      this.nodeId = hello.nodeId;
      this.step(this.handshake.onHello(hello));
    } else if (this.state === 'challenged') {
      if (type !== FrameType.AUTH) throw new ProtocolError('expected auth after challenge');
      const frame = decodeControl(payload);
      if (frame.type === FrameType.AUTH) this.step(this.handshake.onAuth(frame.proof));
    }
  }

  /** Acts on what the handshake decided. */
  private step(step: HandshakeStep): void {
    if (step.kind === 'admit') {
      this.admit(step.version, step.proof);
      return;
    }
    if (step.kind === 'challenge') {
      this.state = 'challenged';
      this.sendControl(step.frame);
      return;
    }
    this.host.stats.authFailures++;
    const delay = step.wrongProof ? this.host.authFailed(this) : 0;
    if (delay === 0) {
      this.fail(step.error);
      return;
    }
    // Answered late, holding one of the address's few unproven slots
    // meanwhile: guessing secrets from one address is slow.
    this.clearHelloTimer();
    this.socket.off('data', this.onData);
    this.socket.pause();
    const timer = setTimeout(() => this.fail(step.error), delay);
    this.socket.once('close', () => clearTimeout(timer));
  }

  private admit(version: number, proof: Buffer | undefined): void {
    const hello = this.handshake.hello!;
    this.setIdentity(hello.nodeId, hello.maxFrameBytes);
    this.host.claim(this, (refusal) => {
      if (!this.inHandshake) return;
      if (refusal) this.fail(refusal);
      else this.enter(version, proof);
    });
  }

  /** The node holds its id now: it is ready for routing. */
  private enter(version: number, proof: Buffer | undefined): void {
    const hello = this.handshake.hello!;
    this.decoder.setMaxFrameBytes(this.host.options.maxFrameBytes);
    this.host.admitted(this, 'proven');
    this.clearHelloTimer();
    this.state = 'ready';
    if ((hello.features & Features.ACKS) !== 0) this.acks = new AckRun();
    this.readsLocateParts = (hello.features & Features.LOCATE_PARTS) !== 0;
    const once = hello.once;
    if (once !== undefined) {
      this.stampedOrigin = Buffer.concat([this.origin, once.incarnation]);
      this.window = new DeliveryWindow(this, once.window);
      // Answers from receivers' applications come as ACK runs and reports.
      if (this.acks !== undefined) this.answers = new PendingAnswers(this, this.host.stats);
    }
    this.sendControl(welcomeFrame(this.host.options, version, hello, proof));
    this.host.unpark(this);
  }

  /** Applies a CONSUMED from this node. Throws `ERR_PROTOCOL` when it announced no ONCE. */
  consumed(buf: Buffer, start: number, end: number): void {
    if (this.window === undefined) throw new ProtocolError('consumed from a node that did not announce ONCE');
    this.window.consumed(decodeConsumed(buf, start, end));
  }

  /** A delivery to this node was given up after waiting too long. */
  overflowed(): void {
    this.host.stats.overflows++;
  }

  /** A send of this node was fully delivered (see {@link AnswerSink}). */
  acknowledge(seq: number): void {
    this.acks!.add(seq, this.writer);
    this.touch();
  }

  /** A REPORT for this node (see {@link AnswerSink}). */
  report(payload: Buffer): void {
    this.reportWriter().appendFrame(payload);
    this.touch();
  }

  private onReadyControl(payload: Buffer): void {
    const frame = decodeControl(payload);
    switch (frame.type) {
      case FrameType.PING:
        this.sendControl(encodeControl({ type: FrameType.PONG }));
        return;
      case FrameType.PONG:
        return;
      case FrameType.GOODBYE:
        this.saidGoodbye = true;
        this.closeReason = errorFromCode(frame.code || ErrorCodes.CLOSED, frame.message || 'node said goodbye');
        this.end();
        return;
      case FrameType.ERROR:
        this.closeReason = errorFromCode(frame.code, frame.message);
        this.end();
        return;
      default:
        throw new ProtocolError(`frame type 0x${frame.type.toString(16)} is not valid after the handshake`);
    }
  }

  private readonly onClose = (): void => {
    this.state = 'closed';
    this.clearHelloTimer();
    this.host.release(this, this.closeReason);
    this.host.closed(this);
  };

  private clearHelloTimer(): void {
    if (this.helloTimer) {
      clearTimeout(this.helloTimer);
      this.helloTimer = undefined;
    }
  }
}
