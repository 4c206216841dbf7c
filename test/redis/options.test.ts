/** The Redis transport's new options: defaults, and coded errors for values a timer cannot keep. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/index.js';
import { resolveTransport } from '../../src/transport/factory.js';
import { REDIS_DEFAULTS } from '../../src/transport/redis/options.js';
import { codeOf } from '../helpers/events.js';

const resolve = (redisOptions: object): unknown => resolveTransport({ url: 'redis://127.0.0.1:6379', redisOptions }, 'binary', undefined);

describe('redisOptions.probeIntervalMs and maxClockSkewMs', () => {
  it('default to 1000 ms and 5000 ms', () => {
    expect(REDIS_DEFAULTS.probeIntervalMs).toBe(1000);
    expect(REDIS_DEFAULTS.maxClockSkewMs).toBe(5000);
    expect(resolve({})).toMatchObject({ kind: 'redis', redis: { probeIntervalMs: 1000, maxClockSkewMs: 5000 } });
    expect(resolve({ probeIntervalMs: 250, maxClockSkewMs: 0 })).toMatchObject({ redis: { probeIntervalMs: 250, maxClockSkewMs: 0 } });
  });

  it.each([0, -1, 0.5, 2 ** 31, Infinity, NaN, '100'])('probeIntervalMs %s is refused with ERR_INVALID_ARGUMENT', (value) => {
    let error: unknown;
    try {
      resolve({ probeIntervalMs: value });
    } catch (err) {
      error = err;
    }
    expect(codeOf(error)).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it.each([-1, Infinity, NaN, '5'])('maxClockSkewMs %s is refused with ERR_INVALID_ARGUMENT', (value) => {
    let error: unknown;
    try {
      resolve({ maxClockSkewMs: value });
    } catch (err) {
      error = err;
    }
    expect(codeOf(error)).toBe(ErrorCodes.INVALID_ARGUMENT);
  });
});
