/** What the end-to-end loop needs from a messaging system: nodes that send and receive. */

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
  /** Connects node `id`; `sends`/`receives` say which connections it needs. */
  node(id: string, role: { sends: boolean; receives: boolean }): Promise<BenchNode>;
  close(): Promise<void>;
}
