import { EventEmitter } from 'eventemitter3';
import { DuplicateNodeError, HeartbeatError, ProtocolError, ReplacedError, TooManyNodesError, type RelayError } from '../errors.js';
import { FrameType, encodeControl } from '../protocol/index.js';
import { routeLegacyDocument } from './legacy-routing.js';
import { PresenceRouter } from './presence-router.js';
import { Flusher } from './flusher.js';
import { unstamped } from './held-delivery.js';
import { Parking } from './parking.js';
import type { ResolvedServerOptions } from './options.js';
import { Registry } from './registry.js';
import { Router } from './router.js';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { emptyStats, type RelayStats } from './stats.js';

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
  /** Deliveries for nodes that are gone and expected back. */
  readonly parking: Parking;
  private readonly allClosedWaiters: Array<() => void> = [];

  constructor(
    readonly options: ResolvedServerOptions,
    private readonly events: EventEmitter<RelayServerEvents>,
  ) {
    this.parking = new Parking(options.presenceGraceMs, options.maxOutboundBytes, options.startupGraceMs);
    this.router = new Router(this.registry, this.stats, options.maxOutboundBytes, this.parking);
    this.presence = new PresenceRouter(this.registry, this.stats, options.maxOutboundBytes, options.presenceGraceMs, this.parking);
  }

  get maxOutboundBytes(): number {
    return this.options.maxOutboundBytes;
  }

  add(session: Session): void {
    this.sessions.add(session);
  }

  register(session: Session, announce: boolean): RelayError | undefined {
    const existing = this.registry.get(session.key);
    if (existing !== undefined) {
      if (this.options.duplicateNode === 'reject') {
        return new DuplicateNodeError(`node id ${session.nodeId} is already connected`);
      }
      this.registry.remove(existing);
      existing.fail(new ReplacedError(`node id ${session.nodeId} connected again from ${session.remoteAddress}`));
    } else if (this.registry.size >= this.options.maxNodes) {
      return new TooManyNodesError(`the relay is at its limit of ${this.options.maxNodes} nodes`);
    }
    this.registry.add(session);
    session.registered = true;
    if (announce) this.announce(session);
    return undefined;
  }

  announce(session: Session): void {
    if (session.announced || !session.registered) return;
    session.announced = true;
    this.presence.nodeUp(session.key);
    this.events.emit('node:up', info(session));
  }

  withdraw(session: Session): void {
    session.registered = false;
    this.registry.remove(session);
  }

  route(session: Session, buf: Buffer, start: number, end: number): boolean {
    switch (buf[start]) {
      case FrameType.ROUTE:
        this.router.route(session, buf, start, end);
        return true;
      case FrameType.SEND_USERS:
        this.presence.sendToUsers(session, buf.subarray(start, end));
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
    this.events.emit('node:down', info(session), reason);
  }

  closed(session: Session): void {
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
