import type { ClientCounters } from './client-counters.js';
import { REASON_LABELS } from './client-counters.js';
import { ExpositionWriter, type Sample } from './exposition.js';

/** What a client's metrics are read from, at scrape time. */
export interface ClientMetricsSource {
  /** The node id (a legacy node's `ip:port`, empty until connected). */
  readonly nodeId: string;
  readonly connected: boolean;
  readonly counters: ClientCounters;
  /** Deliveries dropped as repeats of ones already received (effectively-once). */
  readonly duplicatesDropped: number;
  /** Deliveries waiting in the queue for the delivery loop. */
  readonly deliveriesQueued: number;
  /** Bytes of sends not yet written, in the socket's buffer, or kept until answered. */
  readonly bufferedBytes: number;
  /** Sends written and waiting for their answer. */
  readonly sendsInFlight: number;
  /** Sends waiting for a connection. */
  readonly sendsWaiting: number;
  /** Users this node announced as online. */
  readonly presenceUsers: number;
}

// Shown at 0 before they first happen, so that rate() sees them start.
const USUAL_FAILURES = ['ERR_TIMEOUT', 'ERR_SEND_FAILED', 'ERR_CONNECTION_LOST', 'ERR_BUFFER_FULL'];

/**
 * A client's metrics in the Prometheus text format, every series labelled
 * with the node id: names start with `imrelay_client_`, so they sit next to
 * an application's own metrics and a relay's without clashing.
 */
export function writeClientMetrics(source: ClientMetricsSource): string {
  const c = source.counters;
  const node = source.nodeId;
  const one = (value: number): Sample[] => [{ labels: { node }, value }];
  const outcomes: Sample[] = [
    { labels: { node, outcome: 'answered' }, value: c.answered },
    { labels: { node, outcome: 'written' }, value: c.written },
  ];
  const failures = new Map(USUAL_FAILURES.map((code) => [code, 0]));
  for (const [code, count] of c.failures) failures.set(code, count);
  for (const [code, count] of failures) outcomes.push({ labels: { node, outcome: outcomeLabel(code) }, value: count });
  const undelivered: Sample[] = [];
  for (let reason = 1; reason < REASON_LABELS.length; reason++) {
    undelivered.push({ labels: { node, reason: REASON_LABELS[reason]! }, value: c.undeliveredUsers[reason]! });
  }
  const disconnects: Sample[] = [...c.disconnects].map(([code, count]) => ({ labels: { node, code }, value: count }));
  return new ExpositionWriter()
    .gauge('imrelay_client_connected', '1 while the relay has welcomed this node, else 0.', one(source.connected ? 1 : 0))
    .counter(
      'imrelay_client_sends_total',
      'Sends settled, by outcome: answered by the relay, written (no report asked), or the error they were rejected with.',
      outcomes,
    )
    .counter(
      'imrelay_client_undelivered_users_total',
      "Users the relay reported not delivered in this node's sends, by reason.",
      undelivered,
    )
    .histogram('imrelay_client_report_latency_seconds', "Time from a send's write to the relay's answer.", [
      { labels: { node }, histogram: c.reportLatency },
    ])
    .counter(
      'imrelay_client_resends_total',
      'Sends written again after a reconnect, unanswered when the connection dropped.',
      one(c.resends),
    )
    .counter(
      'imrelay_client_reconnects_total',
      'Times the relay welcomed this node again after a connection dropped.',
      one(Math.max(0, c.welcomes - 1)),
    )
    .counter('imrelay_client_disconnects_total', 'Connections to the relay that dropped, by the code of the reason.', disconnects)
    .counter('imrelay_client_deliveries_total', 'Deliveries received for the delivery loop.', one(c.deliveries))
    .counter(
      'imrelay_client_duplicates_dropped_total',
      'Deliveries dropped as repeats of ones this node already had.',
      one(source.duplicatesDropped),
    )
    .gauge('imrelay_client_deliveries_queued', 'Deliveries waiting for the delivery loop.', one(source.deliveriesQueued))
    .gauge(
      'imrelay_client_buffered_bytes',
      'Bytes of sends not yet written, in the socket buffer, or kept until answered.',
      one(source.bufferedBytes),
    )
    .gauge('imrelay_client_sends_in_flight', 'Sends written and waiting for their answer.', one(source.sendsInFlight))
    .gauge('imrelay_client_sends_waiting', 'Sends waiting for a connection.', one(source.sendsWaiting))
    .gauge('imrelay_client_presence_users', 'Users this node announced as online.', one(source.presenceUsers))
    .toString();
}

/** `ERR_SEND_FAILED` as an outcome label: `send_failed`. */
function outcomeLabel(code: string): string {
  return code.replace(/^ERR_/, '').toLowerCase();
}
