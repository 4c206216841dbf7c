import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { FrameDecoder } from '../../codec/frame-decoder.js';
import {
  AuthError,
  ConnectError,
  DisconnectedError,
  ErrorCodes,
  HeartbeatError,
  ProtocolError,
  RelayError,
  TimeoutError,
  errorFromCode,
} from '../../errors.js';
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
} from '../../protocol/index.js';
import { goAddress } from '../../legacy/go-address.js';
import type { Secret } from '../../secret.js';
import type { Link, LinkContext, LinkEvents } from '../link.js';
import type { Endpoint } from '../url.js';
import { tlsFailureKind } from './tls-failures.js';
import type { TlsSettings } from './tls-settings.js';

// Frames the client itself handles; the connection answers the rest.
function isRelayed(type: number): boolean {
  return (
    type === FrameType.DELIVER ||
    type === FrameType.ACK ||
    type === FrameType.REPORT ||
    type === FrameType.LOCATED ||
    type === FrameType.LOCATED_PART ||
    type === FrameType.EXPIRE
  );
}

/** What a TCP link needs besides the {@link LinkContext}. */
export interface TcpLinkOptions {
  /** `legacy` speaks to a Go transmit hub: no handshake, JSON documents, no heartbeats. */
  dialect: 'binary' | 'legacy';
  endpoint: Endpoint;
  secret: Secret | undefined;
  /** Set to speak TLS: the `tls.connect` options (the endpoint gives the host and port). */
  tls?: TlsSettings<TlsConnectionOptions> | undefined;
}

type ConnectionOptions = TcpLinkOptions & LinkContext;

/**
 * One TCP (or TLS) connection to the relay: the handshake, heartbeats and
 * the inbound frame loop. Reconnection is the client's business; a
 * connection lives once.
 */
export class TcpLink implements Link {
  ready = false;
  welcome: WelcomeFrame | undefined;
  private lastReceived = Date.now();
  private lastSent = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private readonly nonce = newNonce();
  private paused = false;
  private closed = false;
  private closeReason: RelayError | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** True once the TCP connection is up, and its TLS handshake done (before any hello). */
  private established = false;
  /** True once this end asked to close: a close then is no failure. */
  private ending = false;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly events: LinkEvents,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    const { host, port } = options.endpoint;
    // The endpoint wins over any host or port in the TLS options: the url says where.
    this.socket = options.tls ? tlsConnect({ ...options.tls.reveal(), host, port }) : netConnect({ host, port, noDelay: true });
    if (options.tls) this.socket.setNoDelay(true);
    this.connectTimer = setTimeout(() => {
      const where = `${options.endpoint.host}:${options.endpoint.port}`;
      this.destroy(
        this.established
          ? new TimeoutError(`no welcome from the relay at ${where} within ${options.connectTimeoutMs} ms`)
          : new ConnectError(`no connection to ${where} within ${options.connectTimeoutMs} ms`),
      );
    }, options.connectTimeoutMs);
    // Over TLS nothing may be said before the handshake is done (and the relay's certificate checked).
    this.socket.once(options.tls ? 'secureConnect' : 'connect', this.onConnect);
    this.socket.on('data', this.onData);
    this.socket.on('error', (err) => {
      this.closeReason ??= this.failureOf(err);
    });
    this.socket.on('close', this.onSocketClose);
  }

  /**
   * The close reason a socket error stands for. The OS error (ECONNREFUSED,
   * ENOTFOUND, ECONNRESET, ...) or the TLS error (a certificate refused, a
   * relay that does not speak TLS) is the cause, and its message says which.
   * A TLS failure is a failure to connect until the welcome: a TLS 1.3 peer
   * may refuse this end's certificate only after the handshake.
   */
  private failureOf(err: Error): RelayError {
    if (!this.ready && tlsFailureKind(err) !== undefined) {
      return new ConnectError(`the TLS handshake with the relay failed: ${err.message}`, { cause: err });
    }
    return this.established
      ? new DisconnectedError(`the connection to the relay failed: ${err.message}`, { cause: err })
      : new ConnectError(`could not connect to the relay: ${err.message}`, { cause: err });
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

  /**
   * Keeps the relay's heartbeat terms: pings when this end has been quiet for
   * an interval, and gives the relay up when it has been silent for two
   * (unless reading is paused: then the silence is ours).
   */
  private keepAlive(heartbeatMs: number): void {
    if (heartbeatMs <= 0) return;
    this.heartbeat = setInterval(
      () => {
        const now = Date.now();
        if (!this.paused && now - this.lastReceived > 2 * heartbeatMs) {
          this.destroy(new HeartbeatError(`no traffic from the relay for ${now - this.lastReceived} ms`));
        } else if (now - this.lastSent >= heartbeatMs) {
          this.write([encodeControl({ type: FrameType.PING })]);
        }
      },
      Math.max(10, heartbeatMs / 4),
    );
    this.heartbeat.unref();
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

  /** Says goodbye and half-closes; frames still arriving (reports) are handled until the relay hangs up. */
  end(): void {
    if (this.closed) return;
    this.ending = true;
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
  private get localAddress(): string {
    return goAddress(this.socket.localAddress, this.socket.localPort);
  }

  private readonly onConnect = (): void => {
    this.established = true;
    if (this.options.dialect === 'legacy') {
      // A Go hub registers a node the moment it connects: nothing to say first.
      clearTimeout(this.connectTimer);
      this.socket.setKeepAlive(true, 10_000);
      this.ready = true;
      this.events.onReady({ maxFrameBytes: this.options.maxFrameBytes, features: 0, localAddress: this.localAddress });
      return;
    }
    this.write([
      encodeControl({
        type: FrameType.HELLO,
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        nodeId: this.options.nodeId,
        maxFrameBytes: this.options.maxFrameBytes,
        // ONCE goes with the incarnation and the delivery window; a relay
        // that does not speak it leaves it out of WELCOME, and nothing changes.
        features: Features.FAILURE_NOTICES | Features.ACKS | Features.ONCE | Features.LOCATE_PARTS,
        nonce: this.nonce,
        once: { incarnation: this.options.incarnation, window: this.options.deliveryWindow },
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
            proof: nodeProof(this.options.secret.reveal(), frame.nonce, this.nonce, this.options.nodeId),
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
        this.keepAlive(frame.heartbeatMs);
        this.events.onReady({ maxFrameBytes: frame.maxFrameBytes, features: frame.features, localAddress: this.localAddress });
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
    const expected = this.challenge && relayProof(secret.reveal(), this.challenge, this.nonce, this.options.nodeId);
    if (!expected || !proofsEqual(welcome.proof, expected)) {
      throw new AuthError('the relay could not prove it holds the shared secret');
    }
  }

  private readonly onSocketClose = (): void => {
    this.closed = true;
    this.ready = false;
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeat);
    if (this.closeReason === undefined && !this.ending) {
      this.closeReason = this.established
        ? new DisconnectedError('the relay closed the connection')
        : new ConnectError('the connection closed before it was established');
    }
    this.events.onClose(this.closeReason);
  };
}
