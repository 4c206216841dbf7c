/**
 * Consumes a client's deliveries in the background and lets a test wait, on
 * events rather than sleeps, for a count or a condition.
 */
import type { Delivery, RelayClient, SendReport } from '../../src/index.js';

const BARRIER_KEY = '__barrier';

/** The message a {@link barrier} sends: never counted among a collector's deliveries. */
export interface BarrierMessage {
  [BARRIER_KEY]: number;
}

function isBarrier(message: unknown): message is BarrierMessage {
  return typeof message === 'object' && message !== null && !Buffer.isBuffer(message) && BARRIER_KEY in message;
}

export class DeliveryCollector<M = unknown> {
  /** Every delivery received, barriers excluded, in arrival order. */
  readonly items: Array<Delivery<M>> = [];
  private readonly barriers = new Set<number>();
  /** Set when the consumer loop ended normally. */
  ended = false;
  /** Set when the consumer loop threw. */
  error: unknown;
  /** Resolves when the loop ends, either way. */
  readonly finished: Promise<void>;
  private readonly listeners = new Set<() => void>();
  private stopRequested = false;
  private iterator: AsyncIterator<Delivery<M>> | undefined;

  constructor(client: RelayClient<M>) {
    this.finished = this.run(client);
  }

  /** The messages received, in order. */
  get messages(): M[] {
    return this.items.map((d) => d.message);
  }

  get count(): number {
    return this.items.length;
  }

  private async run(client: RelayClient<M>): Promise<void> {
    try {
      this.iterator = client[Symbol.asyncIterator]();
      for (;;) {
        const r = await this.iterator.next();
        if (r.done) break;
        const message = r.value.message as unknown;
        if (isBarrier(message)) this.barriers.add(message[BARRIER_KEY]);
        else this.items.push(r.value);
        this.notify();
        if (this.stopRequested) break;
      }
      this.ended = true;
    } catch (err) {
      this.error = err;
    } finally {
      this.notify();
    }
  }

  /** Ends the loop (the consumer is released), waiting for it to finish. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.iterator?.return?.();
    await this.finished;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `predicate` holds, re-checked at every delivery; rejects after `timeoutMs` or if the loop ends first. */
  until(predicate: () => boolean, timeoutMs = 5_000, label = 'condition'): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (predicate()) {
          done();
          resolve();
        } else if (this.ended || this.error !== undefined) {
          done();
          reject(new Error(`deliveries ended (${this.items.length} received) before ${label}: ${String(this.error ?? 'loop finished')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${label} not met within ${timeoutMs} ms (${this.items.length} deliveries received)`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for at least `n` deliveries and returns the first `n`. */
  async waitFor(n: number, timeoutMs = 5_000): Promise<Array<Delivery<M>>> {
    await this.until(() => this.items.length >= n, timeoutMs, `${n} deliveries`);
    return this.items.slice(0, n);
  }

  /** Waits for the barrier with this id. */
  waitForBarrier(id: number, timeoutMs = 5_000): Promise<void> {
    return this.until(() => this.barriers.has(id), timeoutMs, `barrier ${id}`);
  }

  /** Waits for the loop to end (after the client closed or failed). */
  async waitForEnd(timeoutMs = 5_000): Promise<void> {
    await this.until(() => false, timeoutMs, 'the end of the loop').catch((err: unknown) => {
      if (!this.ended && this.error === undefined) throw err;
    });
  }
}

/** Starts consuming `client`'s deliveries in the background. */
export function collect<M>(client: RelayClient<M>): DeliveryCollector<M> {
  return new DeliveryCollector(client);
}

/** Collects exactly the first `n` deliveries within `timeoutMs` (the loop stops after them). */
export async function collectN<M>(client: RelayClient<M>, n: number, timeoutMs = 5_000): Promise<Array<Delivery<M>>> {
  const collector = new DeliveryCollector(client);
  try {
    return await collector.waitFor(n, timeoutMs);
  } finally {
    await collector.stop();
  }
}

let nextBarrier = 1;

/**
 * Sends a marker from `sender` to each given host and waits until each
 * collector has received it. The relay keeps per-sender order, so once the
 * marker is in, everything `sender` sent before it is in too: exact counts
 * can then be asserted, a late duplicate included.
 */
export async function barrier(
  sender: RelayClient<unknown>,
  targets: Record<string, DeliveryCollector<unknown>>,
  timeoutMs = 5_000,
): Promise<SendReport> {
  const id = nextBarrier++;
  const hosts = Object.keys(targets);
  const report = await sender.send(Object.fromEntries(hosts.map((h) => [h, ['barrier']])), { [BARRIER_KEY]: id });
  const missing = hosts.filter((h) => !report.delivered.includes(h));
  if (missing.length > 0) throw new Error(`barrier not delivered to ${missing.join(', ')}`);
  await Promise.all(hosts.map((h) => targets[h]!.waitForBarrier(id, timeoutMs)));
  return report;
}
