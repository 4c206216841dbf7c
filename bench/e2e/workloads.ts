/** The end-to-end workloads: the same for every system. */
export interface Workload {
  name: string;
  label: string;
  senders: number;
  receivers: number;
  hostsPerMessage: number;
  usersPerHost: number;
  /** Size of the JSON message, bytes. */
  messageBytes: number;
  /** Closed loop: most messages a sender has in flight (sent, not yet in every target's consumer loop). */
  window: number;
}

export const WORKLOADS: Workload[] = [
  {
    name: 'small',
    label: '1 host/msg, 5 users, ~100 B JSON',
    senders: 2,
    receivers: 4,
    hostsPerMessage: 1,
    usersPerHost: 5,
    messageBytes: 100,
    window: 128,
  },
  {
    name: 'fanout',
    label: 'group: 10 hosts × 20 users, ~100 B',
    senders: 2,
    receivers: 10,
    hostsPerMessage: 10,
    usersPerHost: 20,
    messageBytes: 100,
    window: 32,
  },
  {
    name: 'large',
    label: '1 host/msg, 5 users, 64 KiB JSON',
    senders: 2,
    receivers: 4,
    hostsPerMessage: 1,
    usersPerHost: 5,
    messageBytes: 64 * 1024,
    window: 8,
  },
];

/** The message every system carries: `t` is the sender's performance.now() when it called send. */
export interface BenchMessage {
  id: number;
  t: number;
  text: string;
}

/** A text that makes `{id, t, text}` about `bytes` long as JSON. */
export function textFor(bytes: number): string {
  const overhead = JSON.stringify({ id: 1_000_000, t: 12345.678901234, text: '' }).length;
  return 'x'.repeat(Math.max(1, bytes - overhead));
}
