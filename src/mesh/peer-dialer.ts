import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContextOptions } from 'node:tls';
import { exponentialBackoff, type RetryStrategy } from '../client/backoff.js';
import type { TlsSettings } from '../transport/tcp/tls-settings.js';
import type { Endpoint } from '../transport/url.js';

/** How long a node waits before dialing a peer whose id sorts before its own: that peer dials first. */
const DEFER_TO_SMALLER_MS = 500;

/** What the dialer asks of the mesh. */
export interface DialerHost {
  /** True when a link to `id` is up, or a dial to it is in its handshake. */
  busy(id: string): boolean;
  /** Where `id` listens, while it is a known peer. */
  endpoint(id: string): Endpoint | undefined;
  /** Hands a socket being opened to `id` to the mesh. */
  opened(id: string, socket: Socket): void;
}

/**
 * Dials every known peer that has no link, with backoff per peer. Both ends
 * of a pair may dial; the one whose id sorts first does so at once, the
 * other only after a pause, so two nodes starting together usually make
 * one connection (the mesh keeps one link when both make it).
 */
export class PeerDialer {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly backoff: RetryStrategy;
  private stopped = false;

  constructor(
    private readonly selfId: string,
    private readonly tls: TlsSettings<SecureContextOptions> | undefined,
    private readonly host: DialerHost,
    maxDelayMs: number,
  ) {
    this.backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs });
  }

  /** Dials `id` soon: at once, or after the pause when `id` sorts first, or after its backoff when it failed before. */
  schedule(id: string): void {
    if (this.stopped || this.timers.has(id)) return;
    const attempt = this.attempts.get(id) ?? 0;
    const delay = attempt > 0 ? (this.backoff(attempt) ?? 0) : id < this.selfId ? DEFER_TO_SMALLER_MS : 0;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.dial(id);
    }, delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  /** A dial to `id` failed (or its link dropped): the next waits longer. */
  failed(id: string): void {
    this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
  }

  /** A link to `id` is up: the next dial, after it drops, starts over. */
  linked(id: string): void {
    this.attempts.delete(id);
    this.cancel(id);
  }

  cancel(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private dial(id: string): void {
    if (this.stopped || this.host.busy(id)) return;
    const endpoint = this.host.endpoint(id);
    if (endpoint === undefined) return;
    const socket =
      this.tls === undefined
        ? netConnect({ host: endpoint.host, port: endpoint.port })
        : tlsConnect({ ...this.tls.reveal(), host: endpoint.host, port: endpoint.port });
    this.host.opened(id, socket);
  }
}
