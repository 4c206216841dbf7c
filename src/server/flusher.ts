/** Something with buffered output to hand to its socket. */
export interface Flushable {
  dirty: boolean;
  flush(): void;
}

/**
 * Collects every connection written to during one turn of the event loop and
 * flushes each once, in `setImmediate`: all the sockets that became readable
 * in one poll phase are routed first, so a node that receives from many
 * senders still gets one write per turn.
 */
export class Flusher {
  private pending: Flushable[] = [];
  private scheduled = false;

  mark(target: Flushable): void {
    if (target.dirty) return;
    target.dirty = true;
    this.pending.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  /** Flushes everything now (used when closing). */
  readonly run = (): void => {
    this.scheduled = false;
    const list = this.pending;
    this.pending = [];
    for (const target of list) {
      target.dirty = false;
      target.flush();
    }
  };
}
