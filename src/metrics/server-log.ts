import type { EventEmitter } from 'eventemitter3';
import { ErrorCodes, type RelayError } from '../errors.js';
import type { NodeInfo, RelayServerEvents } from '../server/hub.js';
import type { Logger } from './logger.js';
import { LogRateLimiter } from './log-rate-limiter.js';

/** Lines of one kind of peer misbehaviour let through per minute; the rest are summed up. */
export const PEER_ERROR_LINES_PER_MINUTE = 20;

// A peer that breaks the protocol: its lines are rate-limited.
const PROTOCOL_CODES: ReadonlySet<string> = new Set([ErrorCodes.PROTOCOL, ErrorCodes.FRAME_TOO_LARGE, ErrorCodes.VERSION]);
// A peer refused before it became a node (so no node-down line follows).
const REFUSAL_CODES: ReadonlySet<string> = new Set([ErrorCodes.TIMEOUT, ErrorCodes.TOO_MANY_NODES, ErrorCodes.DUPLICATE_NODE]);
// How a node may leave without anything being wrong.
const ORDERLY_CODES: ReadonlySet<string> = new Set([ErrorCodes.CLOSED, ErrorCodes.SHUTDOWN]);

/**
 * Logs a relay's events: one line per node up and down, and per peer that
 * failed its handshake or broke the protocol (those rate-limited, per kind).
 * Fields carry node ids, addresses and error codes: never secrets, options
 * or message contents.
 */
export function logServerEvents(events: EventEmitter<RelayServerEvents>, logger: Logger): void {
  const limiter = (event: string, what: string): LogRateLimiter =>
    new LogRateLimiter({
      max: PEER_ERROR_LINES_PER_MINUTE,
      intervalMs: 60_000,
      onSuppressed: (count, intervalMs) =>
        logger.warn({ event, suppressed: count }, `${count} more ${what} not logged in the last ${intervalMs / 1000} s`),
    });
  const auth = limiter('auth_failure', 'auth failures');
  const protocol = limiter('protocol_error', 'protocol errors');
  const refused = limiter('peer_refused', 'refused connections');

  const up = (node: NodeInfo): void => {
    logger.info(
      { event: 'node_up', node: node.nodeId, dialect: node.dialect, remoteAddress: node.remoteAddress },
      `node up ${node.nodeId} from ${node.remoteAddress}`,
    );
  };
  const down = (node: NodeInfo, reason: RelayError | undefined): void => {
    const fields = { event: 'node_down', node: node.nodeId, remoteAddress: node.remoteAddress, ...errorFields(reason) };
    const message = `node down ${node.nodeId}${reason ? ` (${reason.code}: ${reason.message})` : ''}`;
    if (reason === undefined || ORDERLY_CODES.has(reason.code)) logger.info(fields, message);
    else logger.warn(fields, message);
  };
  const error = (err: RelayError, peer?: { remoteAddress: string; nodeId?: string }): void => {
    if (peer === undefined) {
      logger.error({ event: 'relay_error', ...errorFields(err) }, `relay error ${err.code}: ${err.message}`);
      return;
    }
    const from = `from ${peer.remoteAddress}${peer.nodeId ? ` (node ${peer.nodeId})` : ''}`;
    const fields = { remoteAddress: peer.remoteAddress, ...(peer.nodeId ? { node: peer.nodeId } : {}), ...errorFields(err) };
    if (err.code === ErrorCodes.AUTH) {
      if (auth.admit()) logger.warn({ event: 'auth_failure', ...fields }, `auth failure ${from}: ${err.message}`);
    } else if (PROTOCOL_CODES.has(err.code)) {
      if (protocol.admit()) logger.warn({ event: 'protocol_error', ...fields }, `protocol error ${from}: ${err.code}: ${err.message}`);
    } else if (REFUSAL_CODES.has(err.code)) {
      if (refused.admit()) logger.warn({ event: 'peer_refused', ...fields }, `refused ${from}: ${err.code}: ${err.message}`);
    } else {
      // A node closed for silence or replaced: its node-down line says so.
      logger.debug({ event: 'peer_closed', ...fields }, `closing ${from}: ${err.code}: ${err.message}`);
    }
  };

  events.on('node:up', up);
  events.on('node:down', down);
  events.on('error', error);
}

function errorFields(err: RelayError | undefined): { code?: string; reason?: string } {
  return err === undefined ? {} : { code: err.code, reason: err.message };
}
