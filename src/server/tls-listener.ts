import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import {
  createServer as createTlsServer,
  type SecureContextOptions,
  type Server as TlsServer,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import { AuthError, InvalidArgumentError, ProtocolError, TimeoutError, type RelayError } from '../errors.js';
import { FrameType, encodeControl } from '../protocol/index.js';
import { tlsFailureKind } from '../transport/tcp/tls-failures.js';
import { TlsSettings } from '../transport/tcp/tls-settings.js';
import type { LegacyAcceptance } from './legacy-policy.js';
import type { TlsNodeIdentity } from './tls-identity.js';

/** What the listener needs of the relay's resolved options. */
interface ListenerOptions {
  readonly tls: TlsSettings<TlsOptions> | undefined;
  readonly helloTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

/** Who a refused connection came from, as the relay's `error` event names it. */
type Peer = { remoteAddress: string } | undefined;

/** A connection between its accept and the end of its TLS handshake. */
interface Handshake {
  socket: Socket;
  /** `peek` until the first bytes say TLS, then `tls`. */
  stage: 'peek' | 'tls';
}

// A TLS record carrying a handshake message, protocol major version 3 (SSL 3.0 up to TLS 1.3).
const TLS_HANDSHAKE_RECORD = 0x16;
const TLS_MAJOR_VERSION = 0x03;
// A peer that hangs up mid-handshake, most often because it refused the relay's certificate.
const HANG_UPS = new Set(['ECONNRESET', 'EPIPE']);

function discard(): void {}

function addressOf(socket: Socket): string | undefined {
  return socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort}`;
}

/**
 * The relay's listening socket: plain TCP, or TLS when the relay has `tls`
 * options. It hands the relay sockets ready for a session (a `TLSSocket` is
 * a `net.Socket`), and refuses at the TLS layer without ever crashing: a
 * peer that does not speak TLS is told so in a plain ERROR frame
 * (`ERR_PROTOCOL`), a client certificate missing or not trusted gets an
 * ERROR frame over TLS (`ERR_AUTH`), a handshake not done within
 * `helloTimeoutMs` is cut; each is reported through `onTlsFailure`.
 */
export class RelayListener {
  /** The socket that listens (the TLS layer is applied to each connection it accepts). */
  readonly server: Server;
  private readonly tlsServer: TlsServer | undefined;
  /** Connections whose TLS handshake is not done, by remote `address:port`. */
  private readonly handshakes = new Map<string, Handshake>();
  private readonly verifyClients: boolean;

  constructor(
    private readonly options: ListenerOptions,
    private readonly onConnection: (socket: Socket) => void,
    private readonly onTlsFailure: (error: RelayError, peer: Peer) => void,
  ) {
    const tls = options.tls?.reveal();
    if (tls === undefined) {
      this.server = createNetServer({ noDelay: true }, onConnection);
      this.verifyClients = false;
      return;
    }
    // The relay checks client certificates itself, after the handshake: a
    // node it refuses then reads why in an ERROR frame, where Node's own
    // check would just cut the connection (TLS 1.3) or send an alert.
    this.verifyClients = tls.requestCert === true && tls.rejectUnauthorized !== false;
    try {
      this.tlsServer = createTlsServer({
        ...tls,
        rejectUnauthorized: false,
        handshakeTimeout: tls.handshakeTimeout ?? options.helloTimeoutMs,
      });
    } catch (cause) {
      throw new InvalidArgumentError(`tls: ${(cause as Error).message}`, { cause });
    }
    this.tlsServer.on('secureConnection', this.onSecure);
    this.tlsServer.on('tlsClientError', this.onHandshakeError);
    this.server = createNetServer({ noDelay: true }, this.onAccept);
  }

  /** Connections accepted whose TLS handshake is not done yet. */
  get pendingHandshakes(): number {
    return this.handshakes.size;
  }

  /**
   * Replaces the certificates, keys or CAs new connections are made with
   * (connections already up keep theirs). `next` is merged over the options
   * in force; returns the merged options. Throws `ERR_INVALID_ARGUMENT` when
   * the relay has no TLS or `next` does not make a secure context.
   */
  setSecureContext(next: SecureContextOptions): TlsSettings<TlsOptions> {
    if (this.tlsServer === undefined || this.options.tls === undefined) {
      throw new InvalidArgumentError('this relay was started without tls: there is no certificate to replace');
    }
    if (typeof next !== 'object' || next === null) throw new InvalidArgumentError('tls options must be an object');
    const merged: TlsOptions = { ...this.options.tls.reveal(), ...next };
    try {
      this.tlsServer.setSecureContext(merged);
    } catch (cause) {
      throw new InvalidArgumentError(`tls: ${(cause as Error).message}`, { cause });
    }
    return new TlsSettings(merged);
  }

  /** Cuts every connection still in its TLS handshake (the relay is closing). */
  abortHandshakes(): void {
    const sockets = [...this.handshakes.values()].map((h) => h.socket);
    this.handshakes.clear();
    for (const socket of sockets) socket.destroy();
  }

  /**
   * A TCP connection to a TLS relay. Its first bytes say whether it speaks
   * TLS; a plaintext node is told so in its own protocol instead of seeing
   * a hang-up it cannot tell from a dead relay.
   */
  private readonly onAccept = (socket: Socket): void => {
    const address = addressOf(socket);
    if (address === undefined) {
      socket.destroy();
      return;
    }
    const handshake: Handshake = { socket, stage: 'peek' };
    this.handshakes.set(address, handshake);
    socket.on('error', discard);
    // A peer that opens a connection and says nothing is cut; the TLS server's own timer covers the rest.
    const timer = setTimeout(() => {
      this.handshakes.delete(address);
      this.onTlsFailure(new TimeoutError(`no TLS handshake within ${this.options.helloTimeoutMs} ms`), { remoteAddress: address });
      socket.destroy();
    }, this.options.helloTimeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      // Still here: it hung up before its handshake was done (after a ClientHello: most likely refusing our certificate).
      if (this.handshakes.get(address) !== handshake) return;
      this.handshakes.delete(address);
      if (handshake.stage === 'tls') {
        this.onTlsFailure(new AuthError('the peer hung up during the TLS handshake; does it trust the relay certificate?'), {
          remoteAddress: address,
        });
      }
    });
    let head: Buffer | undefined;
    const onFirstBytes = (chunk: Buffer): void => {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      if (head.length < 2 && head[0] === TLS_HANDSHAKE_RECORD) return;
      socket.off('data', onFirstBytes);
      clearTimeout(timer);
      socket.pause();
      // Given back: the TLS layer reads what the socket already holds first.
      socket.unshift(head);
      if (head[0] === TLS_HANDSHAKE_RECORD && head[1] === TLS_MAJOR_VERSION) {
        handshake.stage = 'tls';
        this.tlsServer!.emit('connection', socket);
        return;
      }
      this.handshakes.delete(address);
      const error = new ProtocolError('this relay speaks TLS: connect with a tls:// url');
      this.onTlsFailure(new ProtocolError('a plaintext connection to a relay that requires TLS'), { remoteAddress: address });
      this.refuse(socket, error);
    };
    socket.on('data', onFirstBytes);
  };

  private readonly onSecure = (socket: TLSSocket): void => {
    const address = addressOf(socket);
    if (address !== undefined) this.handshakes.delete(address);
    if (this.verifyClients && !socket.authorized) {
      const cert = socket.getPeerCertificate();
      const error =
        cert === null || Object.keys(cert).length === 0
          ? new AuthError('the relay requires a client certificate and none was presented')
          : new AuthError(`the relay refused the client certificate: ${String(socket.authorizationError)}`);
      this.onTlsFailure(error, address === undefined ? undefined : { remoteAddress: address });
      this.refuse(socket, error);
      return;
    }
    this.onConnection(socket);
  };

  private readonly onHandshakeError = (err: Error, socket: TLSSocket): void => {
    const code = (err as NodeJS.ErrnoException).code;
    // A hang-up is reported when the connection closes, under the address only it still knows.
    if (code !== undefined && HANG_UPS.has(code)) return;
    const address = addressOf(socket);
    if (address !== undefined) this.handshakes.delete(address);
    const error =
      code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
        ? new TimeoutError(`no TLS handshake within ${this.options.helloTimeoutMs} ms`, { cause: err })
        : tlsFailureKind(err) === 'certificate'
          ? new AuthError(`the TLS handshake failed: ${err.message}`, { cause: err })
          : new ProtocolError(`the TLS handshake failed: ${err.message}`, { cause: err });
    this.onTlsFailure(error, address === undefined ? undefined : { remoteAddress: address });
    // Node leaves a server socket whose handshake failed (or timed out) open when the error has a listener.
    socket.destroy();
  };

  /**
   * Says why in an ERROR frame and hangs up. What the peer sends meanwhile
   * is read and dropped: unread bytes at close make the kernel reset the
   * connection, which would lose the frame.
   */
  private refuse(socket: Socket, error: RelayError): void {
    socket.on('data', discard);
    socket.resume();
    socket.end(encodeControl({ type: FrameType.ERROR, code: error.code, message: error.message }));
    const timer = setTimeout(() => socket.destroy(), this.options.closeTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }
}

/** The TLS options of a relay, checked, as `resolveServerOptions` keeps them. */
export interface ResolvedTls {
  tls: TlsSettings<TlsOptions> | undefined;
  tlsNodeIdentity: TlsNodeIdentity;
}

/**
 * Checks a relay's `tls` and `tlsNodeIdentity` options together: TLS needs a
 * certificate and its key (or a `pfx`, or an `SNICallback`); requiring node
 * identities needs TLS that asks for client certificates and verifies them,
 * and rules out accepting any Go node (which says no hello, so no node id).
 */
export function resolveTlsOptions(
  tls: TlsOptions | undefined,
  identity: TlsNodeIdentity | undefined,
  legacy: LegacyAcceptance | undefined,
): ResolvedTls {
  const tlsNodeIdentity = identity ?? 'none';
  if (tlsNodeIdentity !== 'none' && tlsNodeIdentity !== 'require') {
    throw new InvalidArgumentError(`tlsNodeIdentity must be 'none' or 'require', got ${String(tlsNodeIdentity)}`);
  }
  if (tls !== undefined) {
    if (typeof tls !== 'object' || tls === null) throw new InvalidArgumentError('tls must be an object of tls.createServer options');
    if (!((tls.cert && tls.key) || tls.pfx || tls.SNICallback)) {
      throw new InvalidArgumentError('tls needs a certificate and its key (cert and key, or pfx)');
    }
  }
  if (tlsNodeIdentity === 'require') {
    if (tls?.requestCert !== true) throw new InvalidArgumentError("tlsNodeIdentity 'require' needs tls with requestCert: true");
    if (tls.rejectUnauthorized === false) {
      throw new InvalidArgumentError("tlsNodeIdentity 'require' needs verified client certificates: leave tls.rejectUnauthorized on");
    }
    if (legacy === true) {
      throw new InvalidArgumentError(
        "legacy nodes say no hello, so no node id a certificate could name: with tlsNodeIdentity 'require', list them in legacy.allow",
      );
    }
  }
  return { tls: tls === undefined ? undefined : new TlsSettings(tls), tlsNodeIdentity };
}
