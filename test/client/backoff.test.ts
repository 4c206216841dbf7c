import { afterEach, describe, expect, it, vi } from 'vitest';
import { RECONNECT_DEFAULTS } from '../../src/client/backoff.js';
import { ErrorCodes, RelayError, exponentialBackoff } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { EventLog, codeOf, settle, waitForEvent } from '../helpers/events.js';
import { createClient, freePort, urlFor, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

describe('exponentialBackoff', () => {
  it('with random() = 0 uses the full delay: initial * factor^(n-1), capped at maxDelayMs', () => {
    const next = exponentialBackoff({ initialDelayMs: 100, factor: 2, maxDelayMs: 1_000, jitter: 0.5 }, () => 0);
    expect([1, 2, 3, 4, 5, 6, 10, 100].map(next)).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('with random() = 1 takes the jitter share off every delay', () => {
    const next = exponentialBackoff({ initialDelayMs: 100, factor: 3, maxDelayMs: 2_000, jitter: 0.5 }, () => 1);
    expect([1, 2, 3, 4, 5].map(next)).toEqual([50, 150, 450, 1000, 1000]);
    const full = exponentialBackoff({ initialDelayMs: 100, jitter: 1 }, () => 1);
    expect([1, 2, 3].map(full)).toEqual([0, 0, 0]);
  });

  it('with no jitter the random source is irrelevant', () => {
    const next = exponentialBackoff({ initialDelayMs: 10, factor: 2, maxDelayMs: 50, jitter: 0 }, () => 0.37);
    expect([1, 2, 3, 4].map(next)).toEqual([10, 20, 40, 50]);
  });

  it('returns null once maxAttempts are used up', () => {
    const next = exponentialBackoff({ initialDelayMs: 10, maxAttempts: 3, jitter: 0 });
    expect([1, 2, 3, 4, 5].map(next)).toEqual([10, 20, 40, null, null]);
  });

  it('defaults: 100 ms, doubling, 10 s cap, half jitter, never gives up', () => {
    expect(RECONNECT_DEFAULTS).toMatchObject({ initialDelayMs: 100, maxDelayMs: 10_000, factor: 2, jitter: 0.5 });
    const next = exponentialBackoff({}, () => 0);
    expect([1, 2, 8, 1_000_000].map(next)).toEqual([100, 200, 10_000, 10_000]);
    const jittered = exponentialBackoff({}, () => 1);
    expect(next(1)).toBe(100);
    expect(jittered(1)).toBe(50);
  });

  it('stays within [delay * (1 - jitter), delay] for any random value', () => {
    for (let i = 0; i < 200; i++) {
      const r = Math.random();
      const d = exponentialBackoff({ initialDelayMs: 1000, jitter: 0.3 }, () => r)(1)!;
      expect(d).toBeGreaterThanOrEqual(700);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe('the client reconnect schedule (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the retry strategy for attempts 1, 2, 3 and reports each delay; null makes connect() reject for good', async () => {
    const port = await freePort();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const delays = [250, 1_000, 4_000];
    const asked: number[] = [];
    const client = createClient(urlFor(port), 'im-backoff', {
      // Longer than the schedule below: the strategy, not connect()'s deadline, ends it.
      connectTimeoutMs: 60_000,
      retryStrategy: (attempt) => {
        asked.push(attempt);
        return delays[attempt - 1] ?? null;
      },
    });
    const reconnecting = new EventLog<[{ attempt: number; delayMs: number; reason: RelayError | undefined }]>(client, 'reconnecting');
    const connecting = settle(client.connect());

    // Each refusal is real I/O; each delay is a faked timer, advanced by exactly its length.
    for (let n = 1; n <= 3; n++) {
      await waitForEvent(client, 'reconnecting', 3_000);
      expect(reconnecting.count).toBe(n);
      expect(asked).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const { attempt, delayMs, reason } = reconnecting.calls[n - 1]!.args[0];
      expect(attempt).toBe(n);
      expect(delayMs).toBe(delays[n - 1]);
      expect(reason).toBeInstanceOf(RelayError);
      // Not a moment early: one millisecond short of the delay, no new connection attempt has been made.
      vi.advanceTimersByTime(delayMs - 1);
      expect(asked).toHaveLength(n);
      vi.advanceTimersByTime(1);
    }

    const outcome = await connecting;
    expect(outcome.status).toBe('rejected');
    expect(asked).toEqual([1, 2, 3, 4]);
    expect(reconnecting.count).toBe(3);
    const failure = outcome.status === 'rejected' ? outcome.reason : undefined;
    expect(failure).toBeInstanceOf(RelayError);
    expect(codeOf(failure)).toBe(ErrorCodes.CONNECT);
    // The cause is the operating system's word for the last refusal.
    expect((failure as RelayError).cause).toMatchObject({ code: 'ECONNREFUSED' });

    // Failed for good: connect() and send() reject with the same error, and the delivery loop throws.
    await expect(client.connect()).rejects.toBe(failure);
    await expect(client.send({ other: ['u'] }, 'x')).rejects.toBe(failure);
    const collector = collect(client);
    await collector.waitForEnd();
    expect(collector.error).toBe(failure);
    expect(collector.ended).toBe(false);
  });

  it('with reconnect: false, the first refusal is final', async () => {
    const port = await freePort();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const client = createClient(urlFor(port), 'im-no-retry', { reconnect: false });
    const reconnecting = new EventLog(client, 'reconnecting');
    const errors = new EventLog<[RelayError]>(client, 'error');
    await expect(client.connect()).rejects.toMatchObject({ code: ErrorCodes.CONNECT, cause: { code: 'ECONNREFUSED' } });
    expect(reconnecting.count).toBe(0);
    expect(errors.count).toBe(1);
  });

  it('the default backoff grows and is capped (reconnect options, no jitter)', async () => {
    const port = await freePort();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const client = createClient(urlFor(port), 'im-grow', {
      reconnect: { initialDelayMs: 100, factor: 3, maxDelayMs: 500, jitter: 0, maxAttempts: 4 },
    });
    const reconnecting = new EventLog<[{ attempt: number; delayMs: number }]>(client, 'reconnecting');
    const connecting = settle(client.connect());
    for (let n = 1; n <= 4; n++) {
      await waitForEvent(client, 'reconnecting', 3_000);
      vi.advanceTimersByTime(reconnecting.calls[n - 1]!.args[0].delayMs);
    }
    expect((await connecting).status).toBe('rejected');
    expect(reconnecting.firsts.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 100],
      [2, 300],
      [3, 500],
      [4, 500],
    ]);
  });
});
