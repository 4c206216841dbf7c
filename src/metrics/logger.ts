/**
 * Where the relay and the client write their log lines: any object with
 * pino's method shape, so a `pino()` logger (or a child of one) is passed as
 * it is; `console` fits too. Each call gets an object of fields first, then
 * a human-readable message.
 *
 * The fields hold node ids, addresses, error codes and counts; never a
 * secret, an option object, or message contents.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const server = new RelayServer({ logger: pino().child({ component: 'relay' }) });
 * ```
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

function ignore(): void {}

/** The logger that writes nothing: the default of both the relay and the client. */
export const noopLogger: Logger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore });
