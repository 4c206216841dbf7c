// Who is online where, for the browsers: asked of the relay with `locate`
// whenever some node reports a change, and pushed to this node's pages.
import type { RelayClient } from '../../src/index.js';
import { clusterNodes } from './cluster-channel.js';
import type { OnlineMap, RelayMessage } from './messages.js';

export interface PresenceSnapshot {
  online: OnlineMap;
  nodes: string[];
}

export class PresenceView {
  private snapshot: PresenceSnapshot = { online: {}, nodes: [] };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly relay: RelayClient<RelayMessage>,
    private readonly userIds: readonly string[],
    private readonly publish: (snapshot: PresenceSnapshot) => void,
    private readonly debounceMs = 30,
  ) {}

  /** The last snapshot taken. */
  get current(): PresenceSnapshot {
    return this.snapshot;
  }

  /** Asks the relay again soon (changes that come together make one question). */
  refresh(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, this.debounceMs);
  }

  /** Asks the relay now and resolves with the answer. */
  async take(): Promise<PresenceSnapshot> {
    const [located, nodes] = await Promise.all([this.relay.locate(this.userIds), clusterNodes(this.relay)]);
    const online: OnlineMap = {};
    for (const [user, where] of located) if (where.length > 0) online[user] = [...where].sort();
    return { online, nodes };
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    // One question at a time; a change that comes while asking asks once more.
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          this.snapshot = await this.take();
          this.publish(this.snapshot);
        } catch {
          // Not connected to the relay: the next change (or reconnect) asks again.
        }
      } while (this.again);
    })();
    await this.running;
    this.running = undefined;
  }
}
