/**
 * Raw TCP peers speaking the wire protocol by hand: hostile nodes, half-open
 * nodes, and fake relays.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/codec/index.js';
import {
  FrameType,
  NONCE_BYTES,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  decodeControl,
  encodeControl,
  newNonce,
  nodeProof,
  type ControlFrame,
  type WelcomeFrame,
} from '../../src/protocol/index.js';
import { LOOPBACK, track } from './harness.js';

/** One end of a raw TCP connection, with the frames it received decoded as they arrive. */
export class RawPeer {
  /** Frame payloads received and not yet taken with {@link nextFrame}. */
  private readonly inbox: Buffer[] = [];
  /** Every frame payload received, taken or not. */
  readonly received: Buffer[] = [];
  bytesReceived = 0;
  /** When the first byte arrived (ms since epoch). */
  firstByteAt: number | undefined;
  readonly openedAt = Date.now();
  closedAt: number | undefined;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  /** Set if the stream from the other side was not valid framing. */
  decodeError: unknown;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024 });
  private readonly listeners = new Set<() => void>();
  private reading = true;

  constructor(readonly socket: Socket) {
    socket.on('error', () => {
      // 'close' follows; tests look at what was received and when it closed.
    });
    socket.on('data', (chunk: Buffer) => {
      this.firstByteAt ??= Date.now();
      this.bytesReceived += chunk.length;
      this.decoder.push(chunk);
      try {
        for (let p = this.decoder.next(); p !== undefined; p = this.decoder.next()) {
          // The decoder may hand out views of a chunk; keep copies.
          const frame = Buffer.from(p);
          this.inbox.push(frame);
          this.received.push(frame);
        }
      } catch (err) {
        this.decodeError = err;
      }
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedAt = Date.now();
        this.notify();
        resolve();
      });
    });
    track('RawPeer', () => {
      socket.destroy();
      return this.closed;
    });
  }

  /** Connects to `port` on loopback, from `localAddress` when given (any 127.x.y.z is loopback). */
  static async connect(port: number, localAddress?: string): Promise<RawPeer> {
    const socket = connect({ host: LOOPBACK, port, ...(localAddress === undefined ? {} : { localAddress }) });
    const peer = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return peer;
  }

  get isClosed(): boolean {
    return this.closedAt !== undefined;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Stops reading: the kernel buffers fill and the other side sees no answers. */
  stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  get isReading(): boolean {
    return this.reading;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `predicate` holds (re-checked on every chunk and on close), or rejects after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs = 3_000, label = 'condition'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`raw peer: ${label} not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The next frame payload; rejects if the socket closes first or after `timeoutMs`. */
  async nextFrame(timeoutMs = 3_000): Promise<Buffer> {
    await this.until(() => this.inbox.length > 0 || this.isClosed, timeoutMs, 'a frame');
    const frame = this.inbox.shift();
    if (frame === undefined) throw new Error('raw peer: closed before a frame arrived');
    return frame;
  }

  /** The next frame, decoded as a control frame. */
  async nextControl(timeoutMs = 3_000): Promise<ControlFrame> {
    return decodeControl(await this.nextFrame(timeoutMs));
  }

  /** Skips frames until one of type `type` arrives, and returns it decoded. */
  async nextControlOfType(type: number, timeoutMs = 3_000): Promise<ControlFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (frame[0] === type) return decodeControl(frame);
    }
  }

  /** Waits for the socket to close. */
  async waitClosed(timeoutMs = 3_000): Promise<void> {
    await this.until(() => this.isClosed, timeoutMs, 'close');
  }

  /**
   * Completes the node side of the handshake by hand: HELLO, then AUTH if
   * challenged, and returns the WELCOME.
   */
  async handshake(nodeId: string, secret?: string, features = 0, maxFrameBytes = 1024 * 1024): Promise<WelcomeFrame> {
    const nonce = newNonce();
    this.write(
      encodeControl({
        type: FrameType.HELLO,
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        nodeId,
        maxFrameBytes,
        features,
        nonce,
      }),
    );
    let frame = await this.nextControl();
    if (frame.type === FrameType.CHALLENGE) {
      if (secret === undefined) throw new Error('raw peer: challenged without a secret');
      this.write(encodeControl({ type: FrameType.AUTH, proof: nodeProof(secret, frame.nonce, nonce, nodeId) }));
      frame = await this.nextControl();
    }
    if (frame.type !== FrameType.WELCOME) throw new Error(`raw peer: expected WELCOME, got 0x${frame.type.toString(16)}`);
    return frame;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A WELCOME as a relay without a secret would send it. */
export function welcomeFrame(heartbeatMs: number): Buffer {
  return encodeControl({
    type: FrameType.WELCOME,
    version: PROTOCOL_VERSION_MAX,
    maxFrameBytes: 1024 * 1024,
    heartbeatMs,
    features: 0,
    sessionId: Buffer.alloc(NONCE_BYTES, 7),
    proof: Buffer.alloc(0),
  });
}

export interface FakeRelay {
  server: Server;
  port: number;
  url: string;
  /** Every connection accepted, in order. */
  peers: RawPeer[];
  /** Resolves with the `n`th connection (1-based) once it is accepted. */
  connection(n: number, timeoutMs?: number): Promise<RawPeer>;
}

/**
 * A tracked TCP server on loopback that hands each connection, as a
 * {@link RawPeer}, to `onPeer`: a relay that behaves exactly as a test says.
 */
export async function startFakeRelay(onPeer: (peer: RawPeer) => void): Promise<FakeRelay> {
  const peers: RawPeer[] = [];
  const waiters = new Set<() => void>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const peer = new RawPeer(socket);
    peers.push(peer);
    onPeer(peer);
    for (const w of [...waiters]) w();
  });
  track('FakeRelay', () => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `tcp://${LOOPBACK}:${port}`,
    peers,
    connection(n, timeoutMs = 3_000) {
      return new Promise<RawPeer>((resolve, reject) => {
        const check = (): void => {
          const peer = peers[n - 1];
          if (peer === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(peer);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake relay: connection ${n} not accepted within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Decodes a control frame and asserts it is an ERROR, returning its code. */
export function errorCodeOf(frame: ControlFrame): string {
  if (frame.type !== FrameType.ERROR) throw new Error(`expected an ERROR frame, got type 0x${frame.type.toString(16)}`);
  return frame.code;
}
