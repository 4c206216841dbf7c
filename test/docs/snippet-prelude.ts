/**
 * What the documentation's snippets take the reader to have already.
 * snippets.test.ts imports these into every snippet that does not declare
 * the name itself. Declarations only: nothing here runs. A snippet that needs
 * more says so in a hidden comment right before its block:
 * `<!-- snippet-context: declare const relay: RelayClient; -->`.
 */

/** The relay's shared secret. */
export declare const secret: string;

/** This IM server's own WebSockets, by user id. */
export declare const sockets: Map<string, { send(data: string): void }>;

/** The message being sent. */
export declare const message: unknown;

/** Keeps a message for users no node took, to hand over when they come back. */
export declare function storeOffline(users: readonly string[], message: unknown): void;
