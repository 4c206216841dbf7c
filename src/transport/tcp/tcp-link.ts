import { connect as netConnect, type Socket } from 'node:net';
import { FrameDecoder } from '../codec/frame-decoder.js';
import { AuthError, ErrorCodes, ProtocolError, RelayError, TimeoutError, errorFromCode } from '../errors.js';
import {
  FrameType,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  Features,
  decodeControl,
  encodeControl,
  newNonce,
  nodeProof,
  proofsEqual,
  relayProof,
  type WelcomeFrame,
} from '../protocol/index.js';
import { goAddress } from '../legacy/go-address.js';
import type { Link, LinkEvents } from './link.js';
import type { Endpoint } from './url.js';

// Frames the client itself handles; the connection answers the rest.
function isRelayed(type: number): boolean {
  return type === FrameType.DELIVER || type === FrameType.ACK || type === FrameType.REPORT || type === FrameType.LOCATED;
}

/** What a {@link Connection} reports to the client that owns it. */
export type ConnectionEvents = LinkEvents;

export interface ConnectionOptions {
  /** `legacy` speaks to a Go transmit hub: no handshake, JSON documents, no heartbeats. */
  dialect: 'binary' | 'legacy';
  endpoint: Endpoint;
  nodeId: string;
  secret: Buffer | undefined;
  maxFrameBytes: number;
  connectTimeoutMs: number;
}

/**
 * One TCP connection to the relay: the handshake, heartbeats and the inbound
 * frame loop. Reconnection is the client's business; a connection lives once.
 */
export class Connection implements Link {
  ready = false;
  welcome: WelcomeFrame | undefined;
  lastReceived = Date.now();
  lastSent = Date.now();
  readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly nonce = newNonce();
  private paused = false;
  private closed = false;
  private closeReason: RelayError | undefined;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    this.socket = netConnect({ host: options.endpoint.host, port: options.endpoint.port, noDelay: true });
    this.connectTimer = setTimeout(() => {
      this.destroy(new TimeoutError(`no welcome from the relay within ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    this.socket.once('connect', this.onConnect);
    this.socket.on('data', this.onData);
    this.socket.on('error', (err) => {
      this.closeReason ??= new RelayError(ErrorCodes.CLOSED, `connection to the relay failed: ${err.message}`, { cause: err });
    });
    this.socket.on('close', this.onSocketClose);
  }

  get features(): number {
    return this.welcome?.features ?? 0;
  }

  /** Bytes handed to the socket and not yet sent. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  write(parts: Buffer[]): void {
    if (this.closed) return;
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
    } else {
      this.socket.cork();
      for (const part of parts) this.socket.write(part);
      this.socket.uncork();
    }
    this.lastSent = Date.now();
  }

  ping(): void {
    this.write([encodeControl({ type: FrameType.PING })]);
  }

  /** Stops handing out frames and reading the socket (the delivery queue is full). */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  /** Resumes after {@link pause}: frames already read go out first. */
  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.pump();
    if (!this.paused) this.socket.resume();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Says goodbye and half-closes; frames still arriving (reports) are handled until the relay hangs up. */
  end(): void {
    if (this.closed) return;
    if (this.ready && this.options.dialect === 'binary') {
      this.write([encodeControl({ type: FrameType.GOODBYE, code: ErrorCodes.CLOSED, message: 'node closing' })]);
    }
    this.socket.end();
  }

  destroy(reason: RelayError): void {
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  /** This end's address as `ip:port`, as a Go hub keys this node. */
  get localAddress(): string {
    return goAddress(this.socket.localAddress, this.socket.localPort);
  }

  private readonly onConnect = (): void => {
    if (this.options.dialect === 'legacy') {
      // A Go hub registers a node the moment it connects: nothing to say first.
      clearTimeout(this.connectTimer);
      this.socket.setKeepAlive(true, 10_000);
      this.ready = true;
      this.events.onReady({ maxFrameBytes: this.options.maxFrameBytes, heartbeatMs: 0 });
      return;
    }
    this.write([
      encodeControl({
        type: FrameType.HELLO,
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        nodeId: this.options.nodeId,
        maxFrameBytes: this.options.maxFrameBytes,
        features: Features.FAILURE_NOTICES | Features.ACKS,
        nonce: this.nonce,
      }),
    ]);
  };

  private readonly onData = (chunk: Buffer): void => {
    this.lastReceived = Date.now();
    this.decoder.push(chunk);
    this.pump();
  };

  private pump(): void {
    try {
      const decoder = this.decoder;
      let buf: Buffer | undefined;
      while (!this.paused && !this.closed && (buf = decoder.nextInPlace()) !== undefined) {
        const start = decoder.frameStart;
        const end = decoder.frameEnd;
        if (end === start) throw new ProtocolError('empty frame from the relay');
        if (this.options.dialect === 'legacy' || (this.ready && isRelayed(buf[start]!))) this.events.onFrame(buf, start, end);
        else this.onControl(buf.subarray(start, end));
      }
    } catch (err) {
      const error = err instanceof RelayError ? err : new ProtocolError('malformed frame from the relay', { cause: err });
      this.destroy(error);
    }
  }

  private onControl(payload: Buffer): void {
    const frame = decodeControl(payload);
    switch (frame.type) {
      case FrameType.CHALLENGE:
        if (this.ready) throw new ProtocolError('challenge after welcome');
        if (!this.options.secret) throw new AuthError('the relay requires a secret and none is configured');
        this.write([
          encodeControl({
            type: FrameType.AUTH,
            proof: nodeProof(this.options.secret, frame.nonce, this.nonce, this.options.nodeId),
          }),
        ]);
        this.challenge = frame.nonce;
        return;
      case FrameType.WELCOME:
        if (this.ready) throw new ProtocolError('second welcome');
        this.checkRelayProof(frame);
        clearTimeout(this.connectTimer);
        this.ready = true;
        this.welcome = frame;
        this.events.onReady({ maxFrameBytes: frame.maxFrameBytes, heartbeatMs: frame.heartbeatMs });
        return;
      case FrameType.PING:
        this.write([encodeControl({ type: FrameType.PONG })]);
        return;
      case FrameType.PONG:
        return;
      case FrameType.ERROR:
      case FrameType.GOODBYE:
        this.closeReason = errorFromCode(frame.code, frame.message);
        this.socket.end();
        return;
      default:
        throw new ProtocolError(`unexpected frame type 0x${frame.type.toString(16)} from the relay`);
    }
  }

  private challenge: Buffer | undefined;

  private checkRelayProof(welcome: WelcomeFrame): void {
    const secret = this.options.secret;
    if (!secret) return;
    // A relay that skipped the challenge, or answered with a wrong proof, does not hold our secret.
    const expected = this.challenge && relayProof(secret, this.challenge, this.nonce, this.options.nodeId);
    if (!expected || !proofsEqual(welcome.proof, expected)) {
      throw new AuthError('the relay could not prove it holds the shared secret');
    }
  }

  private readonly onSocketClose = (): void => {
    this.closed = true;
    this.ready = false;
    clearTimeout(this.connectTimer);
    this.events.onClose(this.closeReason);
  };
}
