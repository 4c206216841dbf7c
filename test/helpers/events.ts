/**
 * Waiting on things without sleeping: events, promises with deadlines, and a
 * bounded poll for the rare state that has no event.
 */

/** Anything with on/off in the Node or eventemitter3 style. */
export interface Emitterish {
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** Rejects with a labelled error when `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, label = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with the arguments of the next `event` (that passes `filter`), or
 * rejects after `timeoutMs`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped event arguments, as EventEmitter listeners take them
export function waitForEvent<A extends unknown[] = any[]>(
  emitter: Emitterish,
  event: string,
  timeoutMs = 3_000,
  filter: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      if (!filter(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as A);
    };
    emitter.on(event, listener);
  });
}

/** Records every emission of `event`, with the time it happened. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped event arguments, as EventEmitter listeners take them
export class EventLog<A extends unknown[] = any[]> {
  readonly calls: Array<{ args: A; at: number }> = [];
  private readonly listener = (...args: unknown[]): void => {
    this.calls.push({ args: args as A, at: Date.now() });
  };

  constructor(
    private readonly emitter: Emitterish,
    readonly event: string,
  ) {
    emitter.on(event, this.listener);
  }

  get count(): number {
    return this.calls.length;
  }

  /** The first argument of every call. */
  get firsts(): A[0][] {
    return this.calls.map((c) => c.args[0]);
  }

  stop(): void {
    this.emitter.off(this.event, this.listener);
  }
}

/** Polls `condition` every few milliseconds until it is true, or throws after `timeoutMs`. */
export async function pollUntil(condition: () => boolean, timeoutMs = 3_000, label = 'condition', everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${label} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

// A rejection reason is whatever was thrown; tests read its fields after asserting its class.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Settled<T> = { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: any };

/**
 * Attaches handlers at once (so a rejection is never unhandled) and resolves
 * with the outcome.
 */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }) as const,
    (reason: unknown) => ({ status: 'rejected', reason }) as const,
  );
}

/**
 * Tracks the outcome of a promise synchronously: `state` becomes `fulfilled`
 * or `rejected` as soon as it settles, so a test can assert "not yet".
 */
export class Tracked<T> {
  state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  value: T | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a rejection reason is whatever was thrown
  reason: any;
  readonly done: Promise<Settled<T>>;

  constructor(promise: Promise<T>) {
    this.done = settle(promise).then((s) => {
      this.state = s.status;
      if (s.status === 'fulfilled') this.value = s.value;
      else this.reason = s.reason;
      return s;
    });
  }
}

/** The code of an error-like value, or undefined. */
export function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as { code?: string }).code ?? undefined) : undefined;
}
