import type { EventEmitter } from 'eventemitter3';
import type { RelayError } from '../errors.js';
import type { RelayClientEvents } from '../client/types.js';
import type { Logger } from './logger.js';
import { LogRateLimiter } from './log-rate-limiter.js';

/** Error lines let through per minute; the rest are summed up in one line. */
export const CLIENT_ERROR_LINES_PER_MINUTE = 20;

/**
 * Logs a client's connection life: welcomed, dropped (with the reason's
 * code), each reconnection attempt (debug), and errors (rate-limited: a
 * peer sending undecodable messages must not flood the log). `describe`
 * names the node and the transport, for every line. Fields carry codes and
 * messages, never the secret or a message's contents.
 */
export function logClientEvents(
  events: EventEmitter<RelayClientEvents>,
  logger: Logger,
  describe: () => { node: string; relay: string },
): void {
  const errors = new LogRateLimiter({
    max: CLIENT_ERROR_LINES_PER_MINUTE,
    intervalMs: 60_000,
    onSuppressed: (count, intervalMs) =>
      logger.warn(
        { event: 'client_error', ...describe(), suppressed: count },
        `${count} more client errors not logged in the last ${intervalMs / 1000} s`,
      ),
  });
  events.on('connect', () => {
    const where = describe();
    logger.info({ event: 'relay_connected', ...where }, `node ${where.node} connected to ${where.relay}`);
  });
  events.on('disconnect', (reason) => {
    const where = describe();
    logger.warn(
      { event: 'relay_disconnected', ...where, ...errorFields(reason) },
      `node ${where.node} lost ${where.relay}${because(reason)}`,
    );
  });
  events.on('reconnecting', ({ attempt, delayMs, reason }) => {
    const where = describe();
    logger.debug(
      { event: 'relay_reconnecting', ...where, attempt, delayMs, ...errorFields(reason) },
      `node ${where.node} reconnecting to ${where.relay} in ${delayMs} ms (attempt ${attempt})${because(reason)}`,
    );
  });
  events.on('error', (error) => {
    if (!errors.admit()) return;
    const where = describe();
    logger.error({ event: 'client_error', ...where, ...errorFields(error) }, `node ${where.node}: ${error.code}: ${error.message}`);
  });
}

function errorFields(err: RelayError | undefined): { code?: string; reason?: string } {
  return err === undefined ? {} : { code: err.code, reason: err.message };
}

function because(err: RelayError | undefined): string {
  return err === undefined ? '' : ` (${err.code}: ${err.message})`;
}
