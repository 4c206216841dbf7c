/**
 * The end-to-end check of a node's own path through Redis. A pub/sub path
 * can go silent while every connection looks healthy (a subscription lost
 * in a failover or a slot move, a frozen server): the link publishes a probe
 * to its own channel every `intervalMs`, through the same connection and (on
 * a cluster) the same shard as any message to it, and gives up when none has
 * come back for {@link PROBE_DEADLINE_INTERVALS} intervals, or at once when
 * Redis counts no subscriber on the channel. The client then reconnects and
 * subscribes anew.
 */
import { HeartbeatError, type RelayError } from '../../errors.js';

/** Intervals without a probe back before the path counts as dead. */
export const PROBE_DEADLINE_INTERVALS = 3;

export interface ProbeHooks {
  /** Publishes one probe; resolves with the subscriber count Redis answered. */
  send(): Promise<number>;
  /** The path is dead (or the probe could not be published): `error` says why. */
  dead(error: RelayError): void;
  /** A probe could not be published: the error as a coded one. */
  failed(err: unknown): RelayError;
}

export class PathProbe {
  private timer: NodeJS.Timeout | undefined;
  private lastBack = Date.now();
  private lastTick = Date.now();

  constructor(
    private readonly intervalMs: number,
    private readonly hooks: ProbeHooks,
  ) {}

  /** Probes every interval from now on. */
  start(): void {
    this.lastBack = this.lastTick = Date.now();
    this.timer = setInterval(this.tick, this.intervalMs);
    this.timer.unref();
  }

  /** One of this link's probes came back. */
  returned(): void {
    this.lastBack = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const now = Date.now();
    // A tick this late means this process stalled (CPU, GC), not Redis: the
    // probes that came back meanwhile may still sit unread in the socket.
    if (now - this.lastTick > 2 * this.intervalMs) this.lastBack = now;
    this.lastTick = now;
    const deadline = PROBE_DEADLINE_INTERVALS * this.intervalMs;
    if (now - this.lastBack > deadline) {
      this.hooks.dead(new HeartbeatError(`no probe came back through redis within ${deadline} ms: this node's channel went silent`));
      return;
    }
    this.hooks.send().then(
      (subscribers) => {
        if (this.timer !== undefined && !(subscribers > 0)) {
          this.hooks.dead(new HeartbeatError("redis counted no subscriber on this node's own channel: the subscription is gone"));
        }
      },
      (err: unknown) => {
        if (this.timer !== undefined) this.hooks.dead(this.hooks.failed(err));
      },
    );
  };
}
