import { EventEmitter } from 'eventemitter3';
import {
  DuplicateNodeError,
  HeartbeatError,
  ProtocolError,
  ReplacedError,
  TimeoutError,
  TooManyNodesError,
  type RelayError,
} from '../errors.js';
import { FrameType, encodeControl } from '../protocol/index.js';
import { routeLegacyDocument } from './legacy-routing.js';
import { PresenceRouter } from './presence-router.js';
import { UsersRouter } from './users-router.js';
import { Flusher } from './flusher.js';
import { unstamped } from './held-delivery.js';
import { Parking } from './parking.js';
import type { ResolvedServerOptions } from './options.js';
import { Registry } from './registry.js';
import { Router } from './router.js';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { emptyStats, type RelayStats } from './stats.js';
import { AuthThrottle } from './auth-throttle.js';
import { ConnectionLimits } from './connection-limits.js';
import { idClaimProblem } from './id-claims.js';

/** A node as the relay sees it. */
export interface NodeInfo {
  /** The node id from its hello, or `ip:port` for a legacy node. */
  nodeId: string;
  /** `binary` for imrelay nodes, `legacy` for Go transmit nodes. */
  dialect: 'binary' | 'legacy';
  remoteAddress: string;
  connectedAt: number;
}

/** Events of a {@link RelayServer}. */
export interface RelayServerEvents {
  /** A node completed its hello and is routable. */
  'node:up': (node: NodeInfo) => void;
  /** A node left: `reason` says why (`undefined` for a clean hang-up). */
  'node:down': (node: NodeInfo, reason: RelayError | undefined) => void;
  /** A peer misbehaved (it is being closed), or the server itself failed. */
  error: (error: RelayError, peer?: { remoteAddress: string; nodeId?: string }) => void;
}

/** The registry of nodes and everything that routes between them. */
export class Hub implements SessionHost {
  readonly stats: RelayStats = emptyStats();
  readonly flusher = new Flusher();
  readonly registry = new Registry();
  readonly sessions = new Set<Session>();
  private readonly router: Router;
  readonly presence: PresenceRouter;
  private readonly users: UsersRouter;
  /** Deliveries for nodes that are gone and expected back. */
  readonly parking: Parking;
  private readonly allClosedWaiters: Array<() => void> = [];
  /** Connections that have not proved who they are, in total and per address. */
  readonly limits: ConnectionLimits;
  private readonly throttle: AuthThrottle;
  private legacyNodes = 0;

  constructor(
    readonly options: ResolvedServerOptions,
    private readonly events: EventEmitter<RelayServerEvents>,
  ) {
    this.parking = new Parking(options.presenceGraceMs, options.maxOutboundBytes, options.startupGraceMs);
    this.router = new Router(this.registry, this.stats, options.maxOutboundBytes, this.parking);
    this.presence = new PresenceRouter(this.registry, options);
    this.users = new UsersRouter(this.presence.table, this.registry, this.stats, options.maxOutboundBytes, this.parking);
    this.limits = new ConnectionLimits(options.maxPendingConnections, options.maxUnprovenPerAddress);
    this.throttle = new AuthThrottle(options.authFailureDelayMaxMs);
  }

  /**
   * Takes a new connection's place among the unproven ones; returns why it
   * is refused (it is then closed without a word: it has not said anything).
   */
  accept(remoteAddress: string | undefined): string | undefined {
    const refusal = this.limits.open(remoteAddress);
    if (refusal !== undefined) this.stats.connectionsRefused++;
    return refusal;
  }

  get maxOutboundBytes(): number {
    return this.options.maxOutboundBytes;
  }

  add(session: Session): void {
    this.sessions.add(session);
  }

  register(session: Session, announce: boolean): RelayError | undefined {
    const legacy = session.dialect === 'legacy';
    const existing = this.registry.get(session.key);
    if (existing !== undefined) {
      if (!legacy && existing.dialect === 'legacy') {
        return new DuplicateNodeError(`node id ${session.nodeId} is a legacy node's address: a binary node cannot take it over`);
      }
      if (this.options.duplicateNode === 'reject') {
        return new DuplicateNodeError(`node id ${session.nodeId} is already connected`);
      }
      // Out of the registry now, but still `registered`: its release reports it down.
      this.registry.remove(existing);
      if (existing.dialect === 'legacy') this.legacyNodes--;
      existing.fail(new ReplacedError(`node id ${session.nodeId} connected again from ${session.remoteAddress}`));
    } else if (legacy ? this.legacyNodes >= this.options.maxLegacyNodes : this.registry.size - this.legacyNodes >= this.options.maxNodes) {
      const limit = legacy ? `${this.options.maxLegacyNodes} legacy nodes` : `${this.options.maxNodes} nodes`;
      return new TooManyNodesError(`the relay is at its limit of ${limit}`);
    }
    this.registry.add(session);
    session.registered = true;
    if (legacy) this.legacyNodes++;
    if (announce) this.announce(session);
    return undefined;
  }

  claim(session: Session, then: (refusal: RelayError | undefined) => void): void {
    const problem = idClaimProblem(session, this.options);
    if (problem !== undefined) {
      then(problem);
      return;
    }
    const existing = this.registry.get(session.key);
    if (existing === undefined || existing.dialect === 'legacy' || this.options.duplicateNode !== 'reject') {
      then(this.register(session, true));
      return;
    }
    // The older connection may be half-open (its machine died without a
    // FIN): ask it for a sign of life before refusing the newcomer for good.
    const probeMs = Math.min(2_000, this.options.helloTimeoutMs / 2, this.options.heartbeatTimeoutMs);
    const timer = setTimeout(() => {
      existing.onceHeardFrom(() => {});
      if (!session.inHandshake) return;
      if (this.registry.get(session.key) === existing) {
        existing.fail(new HeartbeatError(`no answer to a ping within ${probeMs} ms while ${session.remoteAddress} claimed its node id`));
      }
      then(this.register(session, true));
    }, probeMs);
    timer.unref();
    existing.onceHeardFrom(() => {
      clearTimeout(timer);
      if (session.inHandshake) then(new DuplicateNodeError(`node id ${session.nodeId} is already connected`));
    });
    existing.sendControl(encodeControl({ type: FrameType.PING }));
  }

  admitted(session: Session, as: 'proven' | 'legacy'): void {
    if (session.admission !== 'pending') return;
    session.admission = as;
    if (as === 'proven') this.limits.authenticated(session.socket.remoteAddress);
    else this.limits.legacy();
  }

  authFailed(session: Session): number {
    return this.throttle.failed(session.socket.remoteAddress ?? '', Date.now());
  }

  announce(session: Session): void {
    if (session.announced || !session.registered) return;
    session.announced = true;
    this.presence.nodeUp(session.key);
    this.stats.nodesUp++;
    this.events.emit('node:up', info(session));
  }

  withdraw(session: Session): void {
    if (session.registered && session.dialect === 'legacy' && this.registry.get(session.key) === session) this.legacyNodes--;
    session.registered = false;
    this.registry.remove(session);
  }

  route(session: Session, buf: Buffer, start: number, end: number): boolean {
    switch (buf[start]) {
      case FrameType.ROUTE:
        this.router.route(session, buf, start, end);
        return true;
      case FrameType.SEND_USERS:
        this.users.route(session, buf.subarray(start, end));
        return true;
      case FrameType.PRESENCE:
        this.presence.presence(session, buf.subarray(start, end));
        return true;
      case FrameType.LOCATE:
        this.presence.locate(session, buf.subarray(start, end));
        return true;
      case FrameType.CONSUMED:
        session.consumed(buf, start, end);
        return true;
      default:
        return false;
    }
  }

  unpark(session: Session): void {
    const items = this.parking.take(session.key);
    if (items.length === 0) return;
    if (session.window !== undefined) {
      session.window.prepend(items);
      return;
    }
    // A node back without ONCE reads no stamps, and has no window: written is delivered.
    for (const item of items) {
      session.writer.appendEncoded(unstamped(item.frame));
      item.answers?.taken(item.ticket);
    }
    session.touch();
  }

  routeLegacy(session: Session, payload: Buffer): void {
    routeLegacyDocument(this, session, payload);
  }

  release(session: Session, reason: RelayError | undefined): void {
    if (!session.registered) return;
    this.withdraw(session);
    // What the node had not settled waits for it to come back, for the presence
    // grace; unless it said goodbye: then it is not coming back.
    if (session.window !== undefined) {
      const items = session.window.park();
      if (session.saidGoodbye) Parking.giveUp(session.nodeId, items);
      else this.parking.park(session.key, session.nodeId, items);
    }
    if (!session.announced) return;
    session.announced = false;
    this.presence.nodeDown(session.key);
    this.stats.nodesDown++;
    this.events.emit('node:down', info(session), reason);
  }

  closed(session: Session): void {
    if (session.admission !== 'proven') this.limits.closed(session.socket.remoteAddress, session.admission === 'pending');
    session.admission = 'proven';
    this.sessions.delete(session);
    if (this.sessions.size === 0) for (const resolve of this.allClosedWaiters.splice(0)) resolve();
  }

  onSessionError(session: Session, error: RelayError): void {
    this.events.emit('error', error, {
      remoteAddress: session.remoteAddress,
      ...(session.nodeId ? { nodeId: session.nodeId } : {}),
    });
  }

  /** Pings idle nodes and closes the ones that have been silent too long. */
  sweep(now: number): void {
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.options;
    for (const session of this.registry.values()) {
      const frameSince = session.stalledFrameSince;
      if (frameSince !== 0 && now - frameSince > heartbeatTimeoutMs) {
        session.fail(new TimeoutError(`a frame begun ${now - frameSince} ms ago is still not complete`));
        continue;
      }
      // Legacy nodes know no ping; TCP keep-alive watches them instead.
      if (session.dialect === 'legacy') continue;
      if (now - session.lastReceived > heartbeatTimeoutMs) {
        session.fail(new HeartbeatError(`no traffic from the node for ${now - session.lastReceived} ms`));
      } else if (session.window !== undefined && !session.window.sweep(now, this.options.deliveryTimeoutMs)) {
        session.fail(new ProtocolError(`the node did not answer an EXPIRE within ${this.options.deliveryTimeoutMs} ms`));
      } else if (now - session.lastSent >= heartbeatIntervalMs) {
        session.sendControl(encodeControl({ type: FrameType.PING }));
      }
    }
  }

  /** Resolves once every connection has closed. */
  whenAllClosed(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.allClosedWaiters.push(resolve));
  }

  nodes(): NodeInfo[] {
    return [...this.registry.values()].map(info);
  }
}

function info(session: Session): NodeInfo {
  return {
    nodeId: session.nodeId,
    dialect: session.dialect,
    remoteAddress: session.remoteAddress,
    connectedAt: session.connectedAt,
  };
}
