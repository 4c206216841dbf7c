import { EventEmitter } from 'eventemitter3';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { ClosedError, ErrorCodes, ListenError, ShutdownError } from '../errors.js';
import { writeServerMetrics, type ServerMetricsOptions } from '../metrics/server-metrics.js';
import { noopLogger } from '../metrics/logger.js';
import { logServerEvents } from '../metrics/server-log.js';
import { Hub, type NodeInfo, type RelayServerEvents } from './hub.js';
import { resolveServerOptions, type RelayServerOptions, type ResolvedServerOptions } from './options.js';
import { Session } from './session.js';
import type { RelayStats } from './stats.js';
import { RelayListener } from './tls-listener.js';

/**
 * The relay hub: nodes connect to it, and it passes each routed message to
 * the nodes that hold its recipients, one frame per node.
 *
 * @example
 * ```ts
 * const server = new RelayServer({ host: '127.0.0.1', port: 0, secret });
 * const { port } = await server.listen();
 * server.on('node:up', (node) => console.log('up', node.nodeId));
 * // ...
 * await server.close();
 * ```
 */
export class RelayServer extends EventEmitter<RelayServerEvents> {
  /** The options in force, defaults filled in. */
  readonly options: ResolvedServerOptions;
  private readonly hub: Hub;
  private readonly server: Server;
  private readonly listener: RelayListener;
  private heartbeat: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private startedAt = 0;

  constructor(options: RelayServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.hub = new Hub(this.options, this);
    if (this.options.logger !== noopLogger) logServerEvents(this, this.options.logger);
    // Plain TCP, or TLS with `tls`; a TLS failure never reaches a session.
    this.listener = new RelayListener(this.options, this.onConnection, (error, peer) => {
      this.hub.stats.tlsFailures++;
      this.emit('error', error, peer);
    });
    this.server = this.listener.server;
    this.server.on('error', (err) => this.emit('error', new ListenError(`the relay's listener failed: ${err.message}`, { cause: err })));
  }

  /**
   * Starts listening; resolves with the bound address (useful with port 0).
   * Rejects with `ERR_LISTEN` (the OS error, such as `EADDRINUSE`, as its
   * `cause`) when the address cannot be bound.
   */
  listen(): Promise<AddressInfo> {
    if (this.closing) return Promise.reject(new ClosedError('the relay is closed'));
    if (this.server.listening) return Promise.resolve(this.server.address() as AddressInfo);
    return new Promise((resolve, reject) => {
      const { host, port } = this.options;
      const onError = (err: Error): void => reject(new ListenError(`cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        this.hub.parking.begin();
        this.startedAt = Date.now();
        this.heartbeat = this.startSweeping();
        this.heartbeat.unref();
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** The bound address, once listening. */
  address(): AddressInfo | undefined {
    return (this.server.address() as AddressInfo | null) ?? undefined;
  }

  /** A snapshot of the relay's counters. */
  stats(): RelayStats {
    let pending = 0;
    for (const session of this.hub.sessions) if (!session.ready) pending++;
    return { ...this.hub.stats, nodes: this.hub.registry.size, pendingConnections: pending + this.listener.pendingHandshakes };
  }

  /**
   * Replaces the relay's certificate, key or trusted CAs without a restart:
   * connections made from now on use them, nodes already connected keep
   * theirs. `tls` is merged over the TLS options in force (give `key` and
   * `cert` together); `options.tls` shows the result. Throws
   * `ERR_INVALID_ARGUMENT` when the relay runs without TLS or the new
   * material is not usable (the relay keeps the old).
   */
  setTlsOptions(tls: SecureContextOptions): void {
    (this.options as { tls: ResolvedServerOptions['tls'] }).tls = this.listener.setSecureContext(tls);
  }

  /**
   * The relay's metrics in the Prometheus text exposition format (serve it
   * with `PROMETHEUS_CONTENT_TYPE`, or append it to an application's own
   * `/metrics` output): counters since the start (`imrelay_routes_total`,
   * `imrelay_deliveries_total`, `imrelay_undelivered_users_total{reason}`,
   * bytes, protocol errors, auth failures, ...) and gauges read now (nodes
   * connected, bytes waiting in nodes' buffers, presence). See
   * `docs/operations.md` (Monitoring) for every name.
   */
  metrics(options?: ServerMetricsOptions): string {
    const hub = this.hub;
    return writeServerMetrics(
      {
        stats: this.stats(),
        sessions: hub.sessions,
        presence: hub.presence.table,
        maxOutboundBytes: this.options.maxOutboundBytes,
        startedAt: this.startedAt,
      },
      options,
    );
  }

  /** The nodes connected now. */
  nodes(): NodeInfo[] {
    return this.hub.nodes();
  }

  /**
   * Stops accepting connections, says goodbye to every node, flushes what is
   * buffered for them, and resolves when every socket is closed (nodes that
   * do not hang up within `closeTimeoutMs` are cut off).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** A short summary for logs; options and secrets stay out of it. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const address = this.address();
    const where = address === undefined ? 'not listening' : `${address.address}:${address.port}`;
    return `RelayServer { ${where}, nodes: ${this.hub.registry.size} }`;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    this.hub.presence.close();
    this.hub.parking.close();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.listener.abortHandshakes();
    for (const session of [...this.hub.sessions]) {
      if (session.ready) session.goodbye(ErrorCodes.SHUTDOWN, 'the relay is shutting down');
      else session.destroy(new ShutdownError('the relay is shutting down'));
    }
    this.hub.flusher.run();
    await Promise.all([stopped, this.hub.whenAllClosed()]);
  }

  /**
   * Sweeps the nodes periodically. A sweep that comes late (the relay's own
   * loop was busy) is skipped: what nodes sent meanwhile is still unread in
   * their sockets, and their silence is judged at the next sweep, after it.
   */
  private startSweeping(): NodeJS.Timeout {
    const interval = this.sweepInterval();
    let last = Date.now();
    return setInterval(() => {
      const now = Date.now();
      const late = now - last > 2 * interval + 100;
      last = now;
      if (!late) this.hub.sweep(now);
    }, interval);
  }

  private sweepInterval(): number {
    const { heartbeatIntervalMs, heartbeatTimeoutMs, deliveryTimeoutMs } = this.options;
    // Fine enough to detect a dead node within the timeout plus a little, and
    // to give up deliveries close to their time bound.
    return Math.max(10, Math.min(heartbeatIntervalMs, heartbeatTimeoutMs - heartbeatIntervalMs, deliveryTimeoutMs / 2) / 2);
  }

  private readonly onConnection = (socket: Socket): void => {
    if (this.closing) {
      socket.destroy();
      return;
    }
    // Closed without a word: it has said nothing yet, and an answer would be work for it to cause.
    if (this.hub.accept(socket.remoteAddress) !== undefined) {
      socket.destroy();
      return;
    }
    this.hub.add(new Session(socket, this.hub));
  };
}
