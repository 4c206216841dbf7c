// Messages kept for users who were online nowhere when they were sent.
import type { ChatMessage } from './messages.js';

/**
 * Where a node keeps the messages it could not hand to anyone. The node that
 * sent a message keeps it; when the user comes back (anywhere), that node
 * takes the messages out and sends them again.
 */
export interface OfflineStore {
  /** Keeps `message` for `user`. */
  put(user: string, message: ChatMessage): void;
  /** Removes and returns everything kept for `user`, oldest first. */
  take(user: string): ChatMessage[];
  /** Puts back messages taken but still not delivered, ahead of anything newer. */
  restore(user: string, messages: readonly ChatMessage[]): void;
  /** How many messages are kept for `user`. */
  count(user: string): number;
}

/** An in-memory store, bounded per user: past the limit the oldest message is dropped, with a warning. */
export class MemoryOfflineStore implements OfflineStore {
  private readonly byUser = new Map<string, ChatMessage[]>();

  constructor(
    private readonly maxPerUser = 1000,
    private readonly warn: (line: string) => void = console.warn,
  ) {}

  put(user: string, message: ChatMessage): void {
    const list = this.byUser.get(user) ?? [];
    list.push(message);
    this.byUser.set(user, this.trim(user, list));
  }

  take(user: string): ChatMessage[] {
    const list = this.byUser.get(user) ?? [];
    this.byUser.delete(user);
    return list;
  }

  restore(user: string, messages: readonly ChatMessage[]): void {
    if (messages.length === 0) return;
    this.byUser.set(user, this.trim(user, [...messages, ...(this.byUser.get(user) ?? [])]));
  }

  count(user: string): number {
    return this.byUser.get(user)?.length ?? 0;
  }

  private trim(user: string, list: ChatMessage[]): ChatMessage[] {
    const excess = list.length - this.maxPerUser;
    if (excess <= 0) return list;
    this.warn(`offline store full for ${user}: dropped the ${excess} oldest message(s)`);
    return list.slice(excess);
  }
}
