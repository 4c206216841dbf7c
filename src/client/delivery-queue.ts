import { ErrorCodes, RelayError } from '../errors.js';

/**
 * A bounded queue read by one async iterator at a time.
 *
 * `push` never refuses: the producer asks {@link full} and stops reading its
 * socket instead (so memory is bounded by the high-water mark plus what one
 * read can hold). `onDrained` fires when a consumer has brought a full queue
 * back down to half, so the producer can resume.
 *
 * `end()` and `fail(err)` let queued items drain first; then the loop
 * finishes, or throws `err`.
 */
export class DeliveryQueue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: Error | undefined;
  private consuming = false;
  private wasFull = false;

  constructor(
    readonly highWaterMark: number,
    private readonly onDrained: () => void,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** True once the queue holds `highWaterMark` items: stop producing. */
  get full(): boolean {
    return this.length >= this.highWaterMark;
  }

  get finished(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (this.length >= this.highWaterMark) this.wasFull = true;
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
    if (this.head < this.items.length) return Promise.resolve({ value: this.shift(), done: false });
    if (this.ended) {
      this.release();
      return this.failure ? Promise.reject(this.failure) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.wasFull && this.length <= this.highWaterMark >> 1) {
      this.wasFull = false;
      this.onDrained();
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
  }
}
