// What travels where: between a browser and its node (JSON over WebSocket),
// and between nodes through the relay (the RelayClient's message type).
import type { Group, User } from './directory.js';

/** Who a chat message is for: one user, or a group. */
export type Target = { kind: 'user'; id: string } | { kind: 'group'; id: string };

export interface ChatMessage {
  /** Unique; receivers use it to recognise a message they already have. */
  id: string;
  from: string;
  to: Target;
  text: string;
  /** Milliseconds since the epoch, stamped by the sender's node. */
  sentAt: number;
  /** The node the sender was connected to. */
  node: string;
}

/** Where a message went, as the sender's page shows it. */
export interface DeliveryStatus {
  /** `delivered`: every recipient online got it; `stored`: some were offline and will get it when they connect. */
  state: 'delivered' | 'stored';
  /** The recipients whose copy waits in an offline store. */
  stored: string[];
}

/** Who is online, and on which nodes. */
export type OnlineMap = Record<string, string[]>;

// Browser -> node.
export type ClientFrame = { type: 'send'; ref: string; to: Target; text: string };

// Node -> browser.
export type ServerFrame =
  | { type: 'welcome'; node: string; user: User; users: User[]; groups: Group[]; links: Record<string, string> }
  | { type: 'message'; message: ChatMessage; stored?: boolean }
  | { type: 'sent'; ref: string; message: ChatMessage; status: DeliveryStatus }
  | { type: 'receipt'; id: string; user: string }
  | { type: 'presence'; online: OnlineMap; nodes: string[] }
  | { type: 'error'; error: string; ref?: string };

// Node -> nodes, through the relay.
export type RelayMessage =
  /** A chat message for the users it is addressed to; `stored` when it comes out of an offline store. */
  | { kind: 'chat'; message: ChatMessage; stored?: boolean }
  /** On the cluster channel: `user` came online on (or left) `node`, or the node itself (re)joined. */
  | { kind: 'presence'; node: string; users: string[]; online: boolean }
  /** To a message's sender: `user` received a message that had been stored offline. */
  | { kind: 'receipt'; id: string; user: string };
