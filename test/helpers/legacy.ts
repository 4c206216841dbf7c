/**
 * Legacy Go `transmit` peers over real sockets: raw IM nodes that write frames
 * by hand (4-byte little-endian length + JSON text), the captured wire
 * vectors, and a fake Go hub that behaves as the original one does.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { RelayClient, RelayServer } from '../../src/index.js';
import { encodeOfflineNotice, encodeTransmitMap, parseTransmitMap, type TransmitMap } from '../../src/legacy/index.js';
import { goAddress } from '../../src/legacy/go-address.js';
import { barrier, type DeliveryCollector } from './collector.js';
import { pollUntil } from './events.js';
import { LOOPBACK, track } from './harness.js';
import { RawPeer } from './raw-peer.js';

/** The largest uint64, which a JS number cannot hold. */
export const U64_MAX = '18446744073709551615';

// ------------------------------------------------------------------ vectors

/** The bytes captured from the original Go hub (test/legacy/fixtures/legacy-vectors.json). */
export interface LegacyVectors {
  hostB: string;
  hostC: string;
  sent_payload: string;
  sent_frame_hex: string;
  received_by_B_hex: string;
  received_by_B_text: string;
  received_by_C_hex: string;
  received_by_C_text: string;
  offline_notice_to_sender_hex: string;
  offline_notice_to_sender_text: string;
}

export const LEGACY_VECTORS = fileURLToPath(new URL('../legacy/fixtures/legacy-vectors.json', import.meta.url));

export function loadLegacyVectors(): LegacyVectors {
  return JSON.parse(readFileSync(LEGACY_VECTORS, 'utf8')) as LegacyVectors;
}

// ------------------------------------------------------------------ frames

/** A frame as a Go node writes it: a signed 32-bit little-endian length, then the payload. */
export function legacyFrame(payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const header = Buffer.alloc(4);
  header.writeInt32LE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** The fields of a document written by hand. Numbers may be given as decimal strings or bigints (written bare). */
export interface GoDoc {
  users?: Record<string, ReadonlyArray<string | number | bigint>>;
  id?: string;
  from?: string | number | bigint;
  to?: string | number | bigint;
  type?: number;
  contentType?: number;
  time?: string;
  content?: string;
}

/**
 * JSON text for a document as a Go node would send it: fields in struct
 * order, `users` left out when empty, uint64 values as bare numbers (so
 * 18446744073709551615 is written exactly).
 */
export function goDocText(doc: GoDoc): string {
  const parts: string[] = [];
  const hosts = Object.entries(doc.users ?? {});
  if (hosts.length > 0) {
    parts.push(`"users":{${hosts.map(([host, ids]) => `${JSON.stringify(host)}:[${ids.map(String).join(',')}]`).join(',')}}`);
  }
  parts.push(
    `"id":${JSON.stringify(doc.id ?? '')}`,
    `"from":${String(doc.from ?? 0)}`,
    `"to":${String(doc.to ?? 0)}`,
    `"type":${doc.type ?? 0}`,
    `"contentType":${doc.contentType ?? 0}`,
    `"time":${JSON.stringify(doc.time ?? '')}`,
    `"content":${JSON.stringify(doc.content ?? '')}`,
  );
  return `{${parts.join(',')}}`;
}

/** The fields of a type-100 notice as a Go decoder reads them, in the order Go writes them. */
export const GO_NOTICE_HEAD = '{"id":"","from":0,"to":0,"type":100,"contentType":0,"time":"","content":"客户端离线"';

// ------------------------------------------------------------------ a raw Go IM node

/** A document received by a {@link LegacyPeer}. */
export interface ReceivedDoc {
  payload: Buffer;
  text: string;
  /** As a Go decoder reads it (throws if a Go decoder would not accept it). */
  doc: TransmitMap;
  /** `JSON.parse` of the text, for fields the Go struct does not have. */
  json: Record<string, unknown>;
}

/**
 * A Go IM server's hub connection, played by a raw socket: it writes frames
 * by hand, and keeps both the decoded frames and every byte it received.
 */
export class LegacyPeer {
  private taken = 0;
  private readonly idList: Array<string | undefined> = [];

  private constructor(
    readonly raw: RawPeer,
    /** This node's `ip:port` as the hub sees it: the socket's local address. */
    readonly address: string,
    /** Every chunk received, in order, for byte-exact assertions on the whole stream. */
    private readonly chunks: Buffer[],
  ) {}

  /**
   * Connects to `port` on loopback. With `relay`, waits until the relay has
   * registered the connection under its address (so it is routable).
   */
  static async connect(port: number, relay?: RelayServer): Promise<LegacyPeer> {
    const socket = connect({ host: LOOPBACK, port });
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    // Registered before RawPeer's own listener, so the bytes are in when it notifies.
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const raw = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const peer = new LegacyPeer(raw, goAddress(socket.localAddress, socket.localPort), chunks);
    if (relay) await waitRegistered(relay, peer.address);
    return peer;
  }

  /** Every byte received so far. */
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Number of frames received so far. */
  get frameCount(): number {
    return this.raw.received.length;
  }

  /** Every frame received so far, decoded. */
  get docs(): ReceivedDoc[] {
    return this.raw.received.map(toReceived);
  }

  get isClosed(): boolean {
    return this.raw.isClosed;
  }

  /** Writes raw bytes. */
  write(bytes: Uint8Array): void {
    this.raw.write(bytes);
  }

  /** Writes one frame with this payload. */
  send(payload: string | Uint8Array): void {
    this.raw.write(legacyFrame(payload));
  }

  /** Writes one frame with a document written by hand. */
  sendDoc(doc: GoDoc): void {
    this.send(goDocText(doc));
  }

  /** The next frame not yet taken, decoded. */
  async nextDoc(timeoutMs = 3_000): Promise<ReceivedDoc> {
    await this.raw.until(() => this.raw.received.length > this.taken || this.raw.isClosed, timeoutMs, 'a legacy frame');
    const payload = this.raw.received[this.taken];
    if (payload === undefined) throw new Error(`legacy peer ${this.address}: closed before a frame arrived`);
    this.taken++;
    return toReceived(payload);
  }

  /** Waits until at least `n` frames were received in all. */
  async waitForFrames(n: number, timeoutMs = 3_000): Promise<ReceivedDoc[]> {
    await this.raw.until(() => this.raw.received.length >= n, timeoutMs, `${n} legacy frames`);
    return this.docs;
  }

  /** The `id` of every frame received so far, in order (undefined for one a Go decoder would reject). */
  get ids(): Array<string | undefined> {
    const received = this.raw.received;
    while (this.idList.length < received.length) this.idList.push(safeId(received[this.idList.length]!));
    return this.idList;
  }

  /** Waits until a frame whose `id` is `id` was received. */
  async waitForId(id: string, timeoutMs = 3_000): Promise<void> {
    let from = 0;
    await this.raw.until(
      () => {
        const ids = this.ids;
        for (; from < ids.length; from++) if (ids[from] === id) return true;
        return false;
      },
      timeoutMs,
      `a legacy frame with id ${JSON.stringify(id)}`,
    );
  }

  /** Waits until at least `n` bytes were received in all. */
  async waitForBytes(n: number, timeoutMs = 3_000): Promise<Buffer> {
    await this.raw.until(() => this.raw.bytesReceived >= n, timeoutMs, `${n} bytes`);
    return this.bytes;
  }

  async waitClosed(timeoutMs = 3_000): Promise<void> {
    await this.raw.waitClosed(timeoutMs);
  }

  /** Hangs up cleanly. */
  end(): void {
    this.raw.socket.end();
  }

  destroy(): void {
    this.raw.destroy();
  }
}

function toReceived(payload: Buffer): ReceivedDoc {
  const text = payload.toString('utf8');
  return { payload, text, doc: parseTransmitMap(payload), json: JSON.parse(text) as Record<string, unknown> };
}

function safeId(payload: Buffer): string | undefined {
  try {
    return parseTransmitMap(payload).message.id;
  } catch {
    return undefined;
  }
}

/** Waits until the relay has a node registered under `nodeId`. */
export async function waitRegistered(relay: RelayServer, nodeId: string, timeoutMs = 3_000): Promise<void> {
  await pollUntil(() => relay.nodes().some((n) => n.nodeId === nodeId), timeoutMs, `node ${nodeId} registered`);
}

/** Waits until the relay no longer has a node registered under `nodeId`. */
export async function waitUnregistered(relay: RelayServer, nodeId: string, timeoutMs = 3_000): Promise<void> {
  await pollUntil(() => !relay.nodes().some((n) => n.nodeId === nodeId), timeoutMs, `node ${nodeId} gone`);
}

let nextMark = 1;

/**
 * Sends a marker document from `sender` to each legacy target and waits for
 * it everywhere. The relay keeps per-sender order, so once the marker is in,
 * everything `sender` wrote before it has been routed: exact counts can then
 * be asserted. Returns the marker's id.
 */
export async function legacyMark(sender: LegacyPeer, targets: LegacyPeer[], timeoutMs = 3_000): Promise<string> {
  const id = `mark-${nextMark++}`;
  sender.sendDoc({ users: Object.fromEntries(targets.map((t) => [t.address, [1]])), id, type: 1, content: 'mark' });
  await Promise.all(targets.map((t) => t.waitForId(id, timeoutMs)));
  return id;
}

// ------------------------------------------------------------------ a fake Go hub

/** A frame a {@link GoHub} received, with the address of the node that sent it. */
export interface HubFrame {
  from: string;
  /** The whole frame as read, length prefix included. */
  frame: Buffer;
  payload: Buffer;
}

export interface GoHub {
  port: number;
  url: string;
  /** The connected nodes by `ip:port` (the remote address of each connection). */
  readonly nodes: Map<string, Socket>;
  /** Every frame received, in order. */
  readonly received: HubFrame[];
  /** Closes the listener and cuts every connection: the hub is down. */
  stop(): Promise<void>;
}

/**
 * A hub that behaves as the Go `transmit` hub does: a connection is a node
 * at once, keyed by its remote `ip:port` (a later one with the same address
 * replaces it); each frame's `users` is split per host and re-encoded the way
 * Go's encoder writes it; each host with no connection is answered with the
 * bare type-100 notice (no extra fields); invalid JSON is ignored. Its frame
 * decoder handles split and coalesced frames (the original's stall is not
 * reproduced). `options.port` restarts a hub on the port of one that was stopped.
 */
export async function startGoHub(options: { port?: number } = {}): Promise<GoHub> {
  const nodes = new Map<string, Socket>();
  const received: HubFrame[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const key = goAddress(socket.remoteAddress, socket.remotePort);
    nodes.set(key, socket);
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readInt32LE(0);
        if (length < 0) {
          socket.destroy();
          return;
        }
        if (pending.length < 4 + length) break;
        const frame = pending.subarray(0, 4 + length);
        pending = pending.subarray(4 + length);
        const payload = frame.subarray(4);
        received.push({ from: key, frame: Buffer.from(frame), payload: Buffer.from(payload) });
        route(socket, payload);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      if (nodes.get(key) === socket) nodes.delete(key);
    });
  });

  function route(sender: Socket, payload: Buffer): void {
    let doc: TransmitMap;
    try {
      doc = parseTransmitMap(payload);
    } catch {
      return;
    }
    for (const [host, ids] of doc.users) {
      const target = nodes.get(host);
      if (target) target.write(legacyFrame(encodeTransmitMap({ users: new Map([[host, ids]]), message: doc.message })));
      else sender.write(legacyFrame(encodeOfflineNotice()));
    }
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return stopped;
  };
  track('GoHub', stop);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { port, url: `tcp://${LOOPBACK}:${port}`, nodes, received, stop };
}

// ------------------------------------------------------------------ background traffic

/**
 * Two pairs of healthy nodes exchanging messages until stopped, each message
 * awaited before the next: a binary pair (send and report) and a legacy pair
 * (frame out, frame in). Used to show that a misbehaving peer hurts only itself.
 */
export class MixedTraffic {
  binarySent = 0;
  legacySent = 0;
  private stopped = false;
  private failure: unknown;
  private readonly running: Promise<void>;

  constructor(
    private readonly binary: { sender: RelayClient; target: string; inbox: DeliveryCollector },
    private readonly legacy: { sender: LegacyPeer; target: LegacyPeer },
  ) {
    const fail = (err: unknown): void => {
      this.failure ??= err;
    };
    this.running = Promise.all([this.runBinary().catch(fail), this.runLegacy().catch(fail)]).then(() => undefined);
  }

  private async runBinary(): Promise<void> {
    const { sender, target } = this.binary;
    while (!this.stopped) {
      const report = await sender.send({ [target]: ['u'] }, this.binarySent);
      if (!report.delivered.includes(target)) throw new Error(`binary traffic: not delivered: ${JSON.stringify(report)}`);
      this.binarySent++;
    }
  }

  private async runLegacy(): Promise<void> {
    const { sender, target } = this.legacy;
    while (!this.stopped) {
      const id = `t${this.legacySent}`;
      sender.sendDoc({ users: { [target.address]: [1] }, id, type: 1, content: 'traffic' });
      await target.waitForId(id);
      this.legacySent++;
    }
  }

  /** Lets the traffic run for at least `n` more messages of each kind. */
  async advance(n = 5): Promise<void> {
    const b = this.binarySent + n;
    const l = this.legacySent + n;
    await pollUntil(() => (this.binarySent >= b && this.legacySent >= l) || this.failure !== undefined, 3_000, 'traffic to advance');
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops, then checks every message arrived exactly once, in order, and no sender heard anything back. */
  async verify(): Promise<void> {
    this.stopped = true;
    await this.running;
    if (this.failure !== undefined) throw this.failure;
    const { sender, target, inbox } = this.binary;
    await barrier(sender, { [target]: inbox });
    expect(this.binarySent).toBeGreaterThan(0);
    expect(inbox.messages).toEqual(Array.from({ length: this.binarySent }, (_, i) => i));
    expect(this.legacySent).toBeGreaterThan(0);
    expect(this.legacy.target.ids).toEqual(Array.from({ length: this.legacySent }, (_, i) => `t${i}`));
    expect(this.legacy.sender.raw.bytesReceived).toBe(0);
    expect(this.legacy.sender.isClosed).toBe(false);
  }
}
