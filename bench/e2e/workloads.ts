/** The end-to-end workloads: the same for every system. */
export interface Workload {
  name: string;
  label: string;
  senders: number;
  receivers: number;
  hostsPerMessage: number;
  usersPerHost: number;
  /** How a message travels: a JSON object, or raw bytes (see {@link messageFormat}). */
  payload: PayloadFormat;
  /** Size of one message as sent: its JSON text, or its bytes. */
  messageBytes: number;
  /** Closed loop: most messages a sender has in flight (sent, not yet in every target's consumer loop). */
  window: number;
}

export type PayloadFormat = 'json' | 'binary';

export const WORKLOADS: Workload[] = [
  {
    name: 'small',
    label: '1 host/msg, 5 users, ~100 B JSON',
    senders: 2,
    receivers: 4,
    hostsPerMessage: 1,
    usersPerHost: 5,
    payload: 'json',
    messageBytes: 100,
    window: 128,
  },
  {
    name: 'binary',
    label: '1 host/msg, 5 users, 128 B binary',
    senders: 2,
    receivers: 4,
    hostsPerMessage: 1,
    usersPerHost: 5,
    payload: 'binary',
    messageBytes: 128,
    window: 128,
  },
  {
    name: 'fanout',
    label: 'group: 10 hosts × 20 users, ~100 B',
    senders: 2,
    receivers: 10,
    hostsPerMessage: 10,
    usersPerHost: 20,
    payload: 'json',
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
    payload: 'json',
    messageBytes: 64 * 1024,
    window: 8,
  },
];

/** A JSON workload's message: `t` is the sender's performance.now() when it called send. */
export interface BenchMessage {
  id: number;
  t: number;
  text: string;
}

/** How a workload's messages are made and how a receiver reads the send time back. */
export interface MessageFormat {
  /** Bytes of one message as the sender hands it over (what MB/s counts). */
  bytes: number;
  make(id: number, t: number): unknown;
  /** The `t` that `make` was given, read from a delivered message. */
  sentAt(message: unknown): number;
}

/**
 * By the workload's payload, not stored on it: a Workload crosses the pipe to
 * the nodes process as JSON, which functions do not survive.
 */
export function messageFormat(w: Workload): MessageFormat {
  return w.payload === 'binary' ? binaryFormat(w.messageBytes) : jsonFormat(w.messageBytes);
}

function jsonFormat(bytes: number): MessageFormat {
  const text = textFor(bytes);
  const make = (id: number, t: number): BenchMessage => ({ id, t, text });
  return {
    bytes: JSON.stringify(make(1_000_000, performance.now())).length,
    make,
    sentAt: (message) => (message as BenchMessage).t,
  };
}

/** A binary message starts with `t` (Float64LE) and `id` (Uint32LE); the rest is filler. */
const T_OFFSET = 0;
const ID_OFFSET = 8;
const BINARY_HEADER_BYTES = 12;

function binaryFormat(bytes: number): MessageFormat {
  const size = Math.max(bytes, BINARY_HEADER_BYTES);
  const template = Buffer.alloc(size, 'x');
  return {
    bytes: size,
    make(id, t) {
      // A fresh buffer per message: the loop ceiling hands these very bytes to the consumers.
      const message = Buffer.from(template);
      message.writeDoubleLE(t, T_OFFSET);
      message.writeUInt32LE(id >>> 0, ID_OFFSET);
      return message;
    },
    sentAt: (message) => (message as Buffer).readDoubleLE(T_OFFSET),
  };
}

/** A text that makes `{id, t, text}` about `bytes` long as JSON. */
export function textFor(bytes: number): string {
  const overhead = JSON.stringify({ id: 1_000_000, t: 12345.678901234, text: '' }).length;
  return 'x'.repeat(Math.max(1, bytes - overhead));
}
