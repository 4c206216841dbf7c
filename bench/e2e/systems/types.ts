/** What the end-to-end loop needs from a messaging system: nodes that send and receive. */
import type { PayloadFormat } from '../workloads.js';

export type RouteTable = Record<string, string[]>;

export interface Delivery {
  from: string;
  users: string[];
  message: unknown;
}

export interface BenchNode {
  /** Sends `message` to the users of each host; may return a promise (a report, an ack). */
  send(usersByHost: RouteTable, message: unknown): Promise<unknown> | void;
  /** This node's deliveries, for one `for await` consumer. */
  deliveries(): AsyncIterable<Delivery>;
  close(): Promise<void>;
}

export interface System {
  name: string;
  /**
   * Connects node `id`; `sends`/`receives` say which connections it needs,
   * `payload` what its messages are (a baseline frames bytes and JSON differently).
   */
  node(id: string, role: { sends: boolean; receives: boolean; payload: PayloadFormat }): Promise<BenchNode>;
  close(): Promise<void>;
}
