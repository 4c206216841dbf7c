/** Slots a new queue starts with; it doubles when full. */
const INITIAL_CAPACITY = 16;
/** A ring larger than this goes back to its first size once emptied: a burst's slots are not kept for good. */
const KEPT_CAPACITY = 1024;

/**
 * A first-in first-out queue over a ring of slots that doubles when full.
 * Pushing and shifting only store and move indices: an array that is
 * emptied by setting its length (or shifted) costs a runtime call per item,
 * and a queue that a fast consumer empties after every item pays it every
 * time.
 */
export class Fifo<T> {
  private slots: Array<T | undefined> = new Array<T | undefined>(INITIAL_CAPACITY).fill(undefined);
  /** `slots.length - 1`: the capacity is a power of two. */
  private mask = INITIAL_CAPACITY - 1;
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & this.mask] = item;
    this.count++;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    // Cleared, so that the queue keeps nothing alive that left it.
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    if (--this.count === 0 && this.slots.length > KEPT_CAPACITY) this.reset();
    return item;
  }

  /** Removes and returns the first item matching `match`; the head is the cheap case. */
  take(match: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) & this.mask;
      const item = this.slots[at] as T;
      if (!match(item)) continue;
      if (i === 0) return this.shift();
      // The ones after it move up one place.
      for (let j = i; j < this.count - 1; j++) {
        this.slots[(this.head + j) & this.mask] = this.slots[(this.head + j + 1) & this.mask];
      }
      this.slots[(this.head + this.count - 1) & this.mask] = undefined;
      this.count--;
      return item;
    }
    return undefined;
  }

  /** Empties the queue and returns what it held, in order. */
  drain(): T[] {
    const rest: T[] = [];
    while (this.count > 0) rest.push(this.shift() as T);
    return rest;
  }

  private reset(): void {
    this.slots = new Array<T | undefined>(INITIAL_CAPACITY).fill(undefined);
    this.mask = INITIAL_CAPACITY - 1;
    this.head = 0;
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & this.mask];
    this.slots = slots;
    this.mask = slots.length - 1;
    this.head = 0;
  }
}
