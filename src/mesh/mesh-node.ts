import type { Server, Socket } from 'node:net';
import { ClosedError, DuplicateNodeError, type RelayError } from '../errors.js';
import { FrameType, decodeConsumed, decodeLocate } from '../protocol/index.js';
import type { Secret } from '../secret.js';
import { Flusher } from '../server/flusher.js';
import { hostKey } from '../server/host-index.js';
import { locateAnswer } from '../server/locate-answer.js';
import { Parking } from '../server/parking.js';
import { Router } from '../server/router.js';
import { emptyStats, type RelayStats } from '../server/stats.js';
import { UsersRouter } from '../server/users-router.js';
import type { Endpoint } from '../transport/url.js';
import { AcceptGuard } from './accept-guard.js';
import { LocalInbox } from './local-inbox.js';
import { MeshDirectory } from './mesh-directory.js';
import type { ResolvedMeshOptions } from './mesh-options.js';
import { MeshParking } from './mesh-parking.js';
import { MeshPeer } from './mesh-peer.js';
import { listenForPeers } from './mesh-listener.js';
import { MeshTargets } from './mesh-targets.js';
import { PeerConnection, type MeshSelf } from './peer-connection.js';
import { PeerDialer } from './peer-dialer.js';
import { PeerIntake } from './peer-intake.js';

/** The most a LOCATE answer may total (as a relay's default `maxOutboundBytes`). */
const MAX_LOCATE_ANSWER_BYTES = 8 * 1024 * 1024;
/** A link up for less than this when a second one to the same peer comes is taken for a simultaneous dial. */
const SIMULTANEOUS_MS = 1_000;

/** What a mesh node is made with. */
export interface MeshNodeOptions {
  nodeId: string;
  incarnation: Buffer;
  secret: Secret | undefined;
  /** The largest frame this node (its client) accepts. */
  maxFrameBytes: number;
  /** The delivery window the client grants (its `deliveryHighWaterMark`). */
  deliveryWindow: number;
  mesh: ResolvedMeshOptions;
}

/** A peer's link as {@link MeshNode.peers} lists it. */
export interface MeshPeerState {
  id: string;
  /** The url this node dials it at (undefined for a peer known only because it dialed in). */
  address: string | undefined;
  linked: boolean;
  /** Users it announced, as this node's directory holds them. */
  users: number;
}

/** What a mesh node tells the link that owns it. */
export interface MeshNodeEvents {
  /** A frame for the client (DELIVER, EXPIRE, REPORT, ACK, LOCATED...), at `[start, end)` of `buf`. */
  frame(buf: Buffer, start: number, end: number): void;
  peerUp(id: string): void;
  peerDown(id: string, error: RelayError | undefined): void;
  /** A problem the node survives (a peer that misbehaved and was cut off). */
  warning(error: RelayError): void;
}

/**
 * One node of a mesh: the relay's routing, run inside the node, over a
 * direct link to every peer. The client writes the frames it would write to
 * a relay; they are routed by the relay's own {@link Router} and
 * {@link UsersRouter} to the peers' links (each a `RouteTarget` with a
 * delivery window, like a ONCE node's session on a relay) or to this node's
 * own application ({@link LocalInbox}); answers come back as a relay's.
 *
 * What comes in on a link is the {@link PeerIntake}'s business; links come
 * and go here: dialed ({@link PeerDialer}) or accepted, adopted once their
 * handshake is through (one per peer), and taken out of routing when they
 * drop, what they had not settled parked for the presence grace.
 */
export class MeshNode {
  readonly stats: RelayStats = emptyStats();
  readonly directory: MeshDirectory;
  private readonly inbox: LocalInbox;
  private readonly targets = new MeshTargets();
  private readonly parking: MeshParking;
  private readonly router: Router;
  private readonly usersRouter: UsersRouter;
  private readonly flusher = new Flusher();
  private readonly self: MeshSelf;
  private readonly selfKey: string;
  private readonly linked = new Map<string, MeshPeer>();
  private readonly upAt = new Map<string, number>();
  /** Connections not through their handshake yet. */
  private readonly pending = new Set<PeerConnection>();
  /** Accepted connections in their handshake, with the address they came from. */
  private readonly accepted = new Map<PeerConnection, string>();
  private readonly guard: AcceptGuard;
  /** Peers that said goodbye: not waited for (nothing is parked for them) until they link again. */
  private readonly left = new Set<string>();
  /** Peers that left (goodbye) or dropped: their users go when the grace ends. */
  private readonly dropTimers = new Map<string, NodeJS.Timeout>();
  /** Peers from the map given and from discovery. */
  private staticPeers: ReadonlyMap<string, Endpoint>;
  private discovered: ReadonlyMap<string, Endpoint> = new Map();
  private known: ReadonlySet<string> = new Set();
  private knownKeys: ReadonlySet<string> = new Set();
  private readonly dialer: PeerDialer;
  private readonly intake: PeerIntake;
  private server: Server | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** `host:port` this node listens on, once listening. */
  address: Endpoint | undefined;

  constructor(
    private readonly options: MeshNodeOptions,
    private readonly events: MeshNodeEvents,
  ) {
    const { mesh } = options;
    this.selfKey = hostKey(options.nodeId);
    this.staticPeers = mesh.peers;
    this.refreshKnown();
    this.self = {
      nodeId: options.nodeId,
      incarnation: options.incarnation,
      maxFrameBytes: options.maxFrameBytes,
      window: options.deliveryWindow,
      heartbeatMs: mesh.heartbeatIntervalMs,
      secret: options.secret,
    };
    this.guard = new AcceptGuard(mesh.maxPendingConnections);
    this.directory = new MeshDirectory(this.selfKey, mesh.maxUsersPerNode);
    this.inbox = new LocalInbox(
      options.nodeId,
      options.incarnation,
      options.maxFrameBytes,
      options.deliveryWindow,
      this.stats,
      (buf, start, end) => {
        if (!this.closed) this.events.frame(buf, start, end);
      },
    );
    this.targets.add(this.selfKey, this.inbox);
    this.parking = new MeshParking(mesh.presenceGraceMs, mesh.maxOutboundBytes, (key) => this.knownKeys.has(key) && !this.left.has(key));
    this.router = new Router(this.targets, this.stats, mesh.maxOutboundBytes, this.parking);
    this.usersRouter = new UsersRouter(this.directory.table, this.targets, this.stats, mesh.maxOutboundBytes, this.parking);
    this.intake = new PeerIntake(options.nodeId, this.inbox, this.directory, this.stats, mesh.maxOutboundBytes, (error) =>
      this.events.warning(error),
    );
    this.dialer = new PeerDialer(
      options.nodeId,
      mesh.tlsOptions,
      {
        busy: (id) => this.linked.has(id) || [...this.pending].some((c) => c.dialed && c.expected === id),
        endpoint: (id) => this.endpointOf(id),
        opened: (id, socket) =>
          this.pending.add(new PeerConnection(socket, true, id, this.self, this.flusher, this.connEvents, this.handshakeMs)),
      },
      Math.min(2_000, mesh.heartbeatIntervalMs),
    );
  }

  private get handshakeMs(): number {
    return Math.max(1_000, this.options.mesh.heartbeatIntervalMs);
  }

  /** Listens for peers, then dials the known ones. Rejects with `ERR_LISTEN` when the address cannot be bound. */
  async start(): Promise<void> {
    const { mesh } = this.options;
    const { server, address } = await listenForPeers(mesh, this.handshakeMs, this.onAccept, {
      tlsFailed: () => this.stats.tlsFailures++,
      failed: (error) => this.events.warning(error),
    });
    this.server = server;
    this.address = address;
    this.parking.begin();
    const tick = Math.max(10, Math.min(250, mesh.deliveryTimeoutMs / 4, mesh.heartbeatIntervalMs / 2));
    this.sweepTimer = setInterval(this.sweep, tick);
    this.sweepTimer.unref();
    for (const id of this.known) this.dialer.schedule(id);
  }

  /** Replaces the peers given as a map (`setPeers`), or those found by discovery. */
  setPeers(peers: ReadonlyMap<string, Endpoint>, source: 'static' | 'discovery'): void {
    if (source === 'static') this.staticPeers = peers;
    else this.discovered = peers;
    this.refreshKnown();
    for (const id of this.known) if (!this.linked.has(id)) this.dialer.schedule(id);
  }

  /** Every peer known or linked, with its state. */
  peers(): MeshPeerState[] {
    const ids = new Set([...this.known, ...this.linked.keys()]);
    return [...ids].sort().map((id) => {
      const endpoint = this.endpointOf(id);
      return {
        id,
        address: endpoint === undefined ? undefined : endpointUrl(endpoint, this.options.mesh.tls),
        linked: this.linked.has(id),
        users: this.directory.table.usersOf(hostKey(id))?.size ?? 0,
      };
    });
  }

  /** A frame from the client (without its length prefix). Throws a coded error for a frame a relay would close the node for. */
  fromClient(frame: Buffer): void {
    if (this.closed) return;
    const inbox = this.inbox;
    switch (frame[0]) {
      case FrameType.ROUTE:
        inbox.lastReceived = Date.now();
        this.router.route(inbox, frame, 0, frame.length);
        return;
      case FrameType.SEND_USERS:
        inbox.lastReceived = Date.now();
        this.usersRouter.route(inbox, frame);
        return;
      case FrameType.CONSUMED:
        inbox.window.consumed(decodeConsumed(frame));
        return;
      case FrameType.PRESENCE:
        this.directory.apply(this.selfKey, frame);
        for (const peer of this.linked.values()) this.announce(peer, frame);
        return;
      case FrameType.LOCATE: {
        const { seq, users } = decodeLocate(frame);
        const answer = locateAnswer(this.directory.table, seq, users, this.options.maxFrameBytes, true, MAX_LOCATE_ANSWER_BYTES);
        for (const part of answer) inbox.append(part);
        return;
      }
      default:
        // PING and GOODBYE mean nothing without a relay.
        return;
    }
  }

  /**
   * The client's write is done (one flush of its batch): what it routed goes
   * out on the links now, and what it owes itself (its own deliveries,
   * answers) is handed back as soon as the client's write has returned,
   * rather than one more turn of the event loop later (a turn is most of a
   * message's latency inside one process). Never during the write: the
   * client records its sends after writing them, and an answer must not
   * come before that.
   */
  flushNow(): void {
    this.flusher.run();
    queueMicrotask(this.inbox.flush);
  }

  /** Resolves once every send so far is answered, or after `timeoutMs`. */
  async answered(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.inbox.answered(), bound]);
    clearTimeout(timer);
  }

  /**
   * Leaves the mesh: a GOODBYE on every link (peers report what waits for
   * this node `offline` at once, and drop its users), then the listener.
   */
  async stop(): Promise<void> {
    if (!this.halt()) return;
    for (const conn of this.pending) conn.fail(new ClosedError('this node is leaving the mesh'));
    for (const peer of this.linked.values()) peer.conn.end();
    this.parking.close();
    this.flusher.run();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Cuts every link at once. */
  destroy(): void {
    if (!this.halt()) return;
    for (const conn of [...this.pending, ...[...this.linked.values()].map((p) => p.conn)]) conn.socket.destroy();
    this.parking.close();
    this.server?.close();
  }

  /** Stops dialing, sweeping and handing anything to the client; false when already stopped. */
  private halt(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.dialer.stop();
    clearInterval(this.sweepTimer);
    this.inbox.close();
    for (const timer of this.dropTimers.values()) clearTimeout(timer);
    return true;
  }

  private readonly onAccept = (socket: Socket): void => {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '';
    if (!this.guard.admit(address, Date.now())) {
      this.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    const conn = new PeerConnection(socket, false, undefined, this.self, this.flusher, this.connEvents, this.handshakeMs);
    this.accepted.set(conn, address);
    this.pending.add(conn);
  };

  /** An accepted connection's handshake is over, through or not: the guard counts it out. */
  private handshakeOver(conn: PeerConnection, error: RelayError | undefined): void {
    const address = this.accepted.get(conn);
    if (address === undefined) return;
    this.accepted.delete(conn);
    if (error?.code === 'ERR_AUTH') this.stats.authFailures++;
    this.guard.done(address, error?.code === 'ERR_AUTH', Date.now());
  }

  private readonly connEvents = {
    up: (conn: PeerConnection): void => this.onUp(conn),
    frame: (conn: PeerConnection, buf: Buffer, start: number, end: number): void => {
      const peer = this.linked.get(conn.peerId);
      // A link replaced, or not adopted (a duplicate being closed): what it still carries is ignored.
      if (peer !== undefined && peer.conn === conn) this.intake.frame(peer, buf, start, end);
    },
    // What one socket read brought for the application goes to it now, not a turn later.
    read: (): void => this.inbox.flush(),
    closed: (conn: PeerConnection, error: RelayError | undefined): void => this.onConnClosed(conn, error),
  };

  private onUp(conn: PeerConnection): void {
    this.pending.delete(conn);
    this.handshakeOver(conn, undefined);
    if (this.closed) {
      conn.end();
      return;
    }
    const id = conn.peerId;
    const existing = this.linked.get(id);
    if (existing !== undefined && !this.replaces(conn, existing)) {
      conn.end(new DuplicateNodeError(`a link between ${this.options.nodeId} and ${id} exists`));
      return;
    }
    if (existing !== undefined) {
      this.detach(existing, undefined, false);
      existing.conn.end(new DuplicateNodeError(`a newer link between ${this.options.nodeId} and ${id} replaces this one`));
    }
    const key = hostKey(id);
    const givenUp = this.intake.givenUpFrom(id, conn.peer!.incarnation);
    const peer = new MeshPeer(id, conn, this.stats, this.options.deliveryWindow, (seq) => givenUp.add(seq));
    this.linked.set(id, peer);
    this.upAt.set(id, Date.now());
    this.targets.add(key, peer);
    clearTimeout(this.dropTimers.get(key));
    this.dropTimers.delete(key);
    this.left.delete(key);
    this.dialer.linked(id);
    // What waited for this peer (it dropped, or this node just started) goes first.
    peer.window.prepend(this.parking.take(key));
    for (const frame of this.directory.ownSet(peer.maxFrameBytes)) conn.writer.appendFrame(frame);
    conn.touch();
    this.stats.nodes = this.linked.size;
    this.stats.nodesUp++;
    this.events.peerUp(id);
  }

  /**
   * Whether a second link to the same peer replaces the first. A peer with a
   * new incarnation restarted; a peer that dials while a link is up saw it
   * drop (this end has not noticed yet): the new link wins. Only two links
   * made at once by both ends (a simultaneous dial) are told apart by rule:
   * the one dialed by the node whose id sorts first stays, at both ends.
   */
  private replaces(conn: PeerConnection, existing: MeshPeer): boolean {
    if (!conn.peer!.incarnation.equals(existing.conn.peer!.incarnation)) return true;
    if (Date.now() - (this.upAt.get(existing.id) ?? 0) > SIMULTANEOUS_MS) return true;
    const first = this.options.nodeId < existing.id ? 'self' : 'peer';
    const dialerOf = (c: PeerConnection): 'self' | 'peer' => (c.dialed ? 'self' : 'peer');
    return dialerOf(conn) === first && dialerOf(existing.conn) !== first;
  }

  private onConnClosed(conn: PeerConnection, error: RelayError | undefined): void {
    this.pending.delete(conn);
    this.handshakeOver(conn, error);
    const id = conn.peerId || conn.expected;
    const peer = id === undefined ? undefined : this.linked.get(id);
    if (peer !== undefined && peer.conn === conn) {
      this.detach(peer, error, conn.leaving);
    } else if (conn.state !== 'up' && error !== undefined && !(error instanceof DuplicateNodeError)) {
      if (error.code === 'ERR_AUTH' || error.code === 'ERR_PROTOCOL') this.events.warning(error);
    }
    if (id !== undefined && conn.dialed && !this.closed) {
      if (!this.linked.has(id)) this.dialer.failed(id);
      if (this.endpointOf(id) !== undefined && !this.linked.has(id)) this.dialer.schedule(id);
    }
  }

  /**
   * Takes a link out of routing. What it had not settled is parked for the
   * presence grace (or, for a peer that said goodbye, reported offline at
   * once), and so are its users.
   */
  private detach(peer: MeshPeer, error: RelayError | undefined, leaving: boolean): void {
    const key = hostKey(peer.id);
    this.linked.delete(peer.id);
    this.targets.remove(key);
    const items = peer.detach();
    this.stats.nodes = this.linked.size;
    this.stats.nodesDown++;
    if (leaving) {
      this.left.add(key);
      Parking.giveUp(peer.id, [...this.parking.take(key), ...items]);
      this.directory.drop(key);
    } else {
      // Made first, so that with equal delays the users are gone before the parked sends are reported.
      const timer = setTimeout(() => {
        this.dropTimers.delete(key);
        if (!this.linked.has(peer.id)) this.directory.drop(key);
      }, this.options.mesh.presenceGraceMs);
      timer.unref();
      clearTimeout(this.dropTimers.get(key));
      this.dropTimers.set(key, timer);
      this.parking.park(key, peer.id, items);
    }
    this.events.peerDown(peer.id, error);
    if (!this.closed && this.endpointOf(peer.id) !== undefined) this.dialer.schedule(peer.id);
  }

  /** Passes this node's presence change on to a peer (the whole set again when the frame is too large for it). */
  private announce(peer: MeshPeer, frame: Buffer): void {
    if (frame.length <= peer.maxFrameBytes) peer.conn.writer.appendFrame(frame);
    else for (const part of this.directory.ownSet(peer.maxFrameBytes)) peer.conn.writer.appendFrame(part);
    peer.touch();
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    const { deliveryTimeoutMs } = this.options.mesh;
    for (const peer of [...this.linked.values()]) {
      // Held beyond the peer's window: given up here. Written: the peer bounds them itself.
      peer.window.sweep(now, deliveryTimeoutMs, false);
      peer.conn.checkAlive(now);
    }
    this.inbox.window.sweep(now, deliveryTimeoutMs);
  };

  /** The peers known from the map and from discovery, by id and by key: set as either changes, read as routing parks. */
  private refreshKnown(): void {
    this.known = new Set([...this.staticPeers.keys(), ...this.discovered.keys()].filter((id) => id !== this.options.nodeId));
    this.knownKeys = new Set([...this.known].map(hostKey));
  }

  private endpointOf(id: string): Endpoint | undefined {
    return this.staticPeers.get(id) ?? this.discovered.get(id);
  }
}

/** `tcp://host:port` or `tls://host:port`, an IPv6 host in brackets. */
export function endpointUrl(endpoint: Endpoint, tls: boolean): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${tls ? 'tls' : 'tcp'}://${host}:${endpoint.port}`;
}
