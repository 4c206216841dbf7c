import { ErrorCodes, RelayError } from '../errors.js';
import { serialAfter } from '../protocol/consumed.js';
import { Fifo } from './fifo.js';

/** What a {@link DeliveryQueue} tells the code that feeds it. */
export interface DeliveryQueueHooks {
  /** A consumer brought a full queue back down to half: the producer may resume. */
  drained(): void;
  /**
   * The consumer took the delivery it held: it asked for the next one, or
   * returned. Numbered deliveries count as taken only then, not when queued.
   */
  taken(): void;
}

/** No delivery held, or no number (serial numbers use all 32 bits, so -1 is free). */
const NONE = -1;

/**
 * A bounded queue read by one async iterator at a time.
 *
 * `push` never refuses: the producer asks {@link full} and stops reading its
 * socket instead (so memory is bounded by the high-water mark plus what one
 * read can hold), or, on a link with a delivery window, relies on the relay
 * to write no more than the window. `drained` fires when a consumer has
 * brought a full queue back down to half, so the producer can resume.
 *
 * Each item may carry its delivery number (effectively-once links number
 * every delivery). The item last handed to the consumer is *held* until the
 * consumer asks for the next one or returns: only then is it taken, and
 * {@link DeliveryQueueHooks.taken} fires. {@link lowestPending} is the
 * number of the first delivery not taken yet, which is what the node
 * acknowledges up to.
 *
 * `end()` and `fail(err)` let queued items drain first; then the loop
 * finishes, or throws `err`.
 */
export class DeliveryQueue<T> {
  private readonly items = new Fifo<T>();
  /** The delivery number of each item, in step with {@link items}. */
  private readonly serials = new Fifo<number>();
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: Error | undefined;
  private consuming = false;
  private wasFull = false;
  /** The number of the item the consumer holds, or {@link NONE}. */
  private held = NONE;
  private readonly hooks: DeliveryQueueHooks;

  constructor(
    readonly highWaterMark: number,
    hooks: DeliveryQueueHooks | (() => void),
  ) {
    this.hooks = typeof hooks === 'function' ? { drained: hooks, taken: () => {} } : hooks;
  }

  get length(): number {
    return this.items.length;
  }

  /** True once the queue holds `highWaterMark` items: stop producing. */
  get full(): boolean {
    return this.length >= this.highWaterMark;
  }

  get finished(): boolean {
    return this.ended;
  }

  /**
   * The number of the first delivery the consumer has not taken (the one it
   * holds, else the first queued), or -1 when it has taken every numbered one.
   */
  get lowestPending(): number {
    if (this.held !== NONE) return this.held;
    return this.serials.peek() ?? NONE;
  }

  /** Queues `item`, numbered `serial` (-1: not numbered), or hands it straight to a waiting consumer. */
  push(item: T, serial = NONE): void {
    if (this.ended) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      this.held = serial;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.serials.push(serial);
    if (this.length >= this.highWaterMark) this.wasFull = true;
  }

  /**
   * Drops, unseen, the queued items numbered through `through`; the item the
   * consumer holds, if numbered through it, counts as taken (the application
   * has it). Returns the number of the first item dropped, or -1.
   */
  dropThrough(through: number): number {
    if (this.held !== NONE && !serialAfter(this.held, through)) this.held = NONE;
    let first = NONE;
    for (let serial = this.serials.peek(); serial !== undefined && !serialAfter(serial, through); serial = this.serials.peek()) {
      if (first === NONE) first = serial;
      this.shift();
    }
    return first;
  }

  /**
   * The link these deliveries came by is gone: the held item counts as taken
   * (the application has it) and the queued ones are dropped unseen (the
   * relay sends them again, or reports them not taken). Returns the number
   * of the first item dropped, or -1.
   */
  dropPending(): number {
    const first = this.serials.peek() ?? NONE;
    this.held = NONE;
    this.items.drain();
    this.serials.drain();
    this.wasFull = false;
    return first;
  }

  /** Ends iteration once the queued items are consumed. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleWaiter();
  }

  /** Makes iteration throw `err` once the queued items are consumed. */
  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    this.end();
  }

  /** Starts the one permitted consumer; throws `ERR_CONSUMER_BUSY` for a second. */
  iterate(): AsyncIterableIterator<T> {
    if (this.consuming) {
      throw new RelayError(ErrorCodes.CONSUMER_BUSY, 'deliveries already have a consumer; only one loop may iterate at a time');
    }
    this.consuming = true;
    const iterator: AsyncIterableIterator<T> = {
      next: () => this.next(),
      return: (): Promise<IteratorResult<T>> => {
        this.release();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private next(): Promise<IteratorResult<T>> {
    if (!this.consuming) return Promise.resolve({ value: undefined, done: true });
    // Asking for the next one is what takes the one held.
    const tookHeld = this.held !== NONE;
    this.held = NONE;
    let result: Promise<IteratorResult<T>>;
    if (this.items.length > 0) {
      this.held = this.serials.peek()!;
      result = Promise.resolve({ value: this.shift(), done: false });
    } else if (this.ended) {
      this.release();
      result = this.failure ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
    } else {
      result = new Promise((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
    if (tookHeld) this.hooks.taken();
    return result;
  }

  private shift(): T {
    const item = this.items.shift() as T;
    this.serials.shift();
    if (this.wasFull && this.length <= this.highWaterMark >> 1) {
      this.wasFull = false;
      this.hooks.drained();
    }
    return item;
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    this.release();
    if (this.failure) waiter.reject(this.failure);
    else waiter.resolve({ value: undefined, done: true });
  }

  private release(): void {
    this.consuming = false;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
    // Returning (or breaking out) takes the delivery the loop held.
    if (this.held !== NONE) {
      this.held = NONE;
      this.hooks.taken();
    }
  }
}
