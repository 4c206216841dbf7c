import type { Logger } from '../metrics/logger.js';
import type { LogFormat } from './ops-config.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A {@link Logger} writing one line per call: in `text`, the time, the
 * level and the message, for a terminal; in `json`, one object per line
 * (`time`, `level`, the fields, `msg`) for a log pipeline. Lines below
 * `minLevel` are dropped.
 */
export function lineLogger(format: LogFormat, write: (line: string) => void, minLevel: Level = 'info', now = () => new Date()): Logger {
  const line =
    format === 'json'
      ? (level: Level, fields: object, message: string): string =>
          `${JSON.stringify({ time: now().toISOString(), level, ...fields, msg: message }, jsonSafe)}\n`
      : (level: Level, _fields: object, message: string): string => `${now().toISOString()} ${level.padEnd(5)} ${message}\n`;
  const at =
    (level: Level) =>
    (fields: object, message = ''): void => {
      if (RANK[level] >= RANK[minLevel]) write(line(level, fields, message));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// A log line must never throw: bigints as decimal strings, errors as their code and message.
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, code: (value as { code?: unknown }).code, message: value.message };
  return value;
}
