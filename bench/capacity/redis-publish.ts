/**
 * Anchor: redis-server's own PUBLISH rate to a channel with one subscriber,
 * driven by redis-benchmark with pipelining
 * (`redis-benchmark -n N -P 64 -q publish ch x`, 50 connections), with a
 * `redis-cli subscribe ch` attached. PUBLISH answers each request with the
 * number of receivers, the nearest thing Redis has to a delivery report.
 */
import { execFileSync } from 'node:child_process';
import type { BenchConfig } from '../lib/config.js';
import { External } from '../lib/external.js';
import type { CapacityRow } from '../lib/results.js';
import { missing, startRedis } from '../lib/servers.js';
import { otherCpuPercent, quietest, readCpu } from '../lib/interference.js';
import { waitUntil, withTimeout } from '../lib/time.js';
import { which } from '../lib/which.js';

const ID = 'redis-publish';
const LABEL = 'PUBLISH, 1 subscriber, -P 64';

function subscribers(cli: string, port: number): number {
  try {
    const out = execFileSync(cli, ['-h', '127.0.0.1', '-p', String(port), 'pubsub', 'numsub', 'ch'], { encoding: 'utf8' });
    return Number(out.trim().split('\n').pop());
  } catch {
    return -1;
  }
}

export async function runRedisPublish(config: BenchConfig, log?: (line: string) => void): Promise<CapacityRow> {
  const skipped = missing('redis-server', 'redis-cli', 'redis-benchmark');
  if (skipped) return { id: ID, label: LABEL, system: 'redis-server', skipped };
  return quietest(() => once(config), config.retries, log);
}

async function once(config: BenchConfig): Promise<CapacityRow> {
  const cli = which('redis-cli')!;
  const requests = config.capacity.redisRequests;
  const redis = await startRedis();
  const subscriber = new External('redis-cli subscribe', cli, ['-h', '127.0.0.1', '-p', String(redis.port), 'subscribe', 'ch'], {
    keepOutput: false,
  });
  try {
    if (!(await waitUntil(() => subscribers(cli, redis.port) === 1, 10_000, 20))) {
      throw new Error('redis-cli did not subscribe');
    }
    await redis.resetPeak();
    const a = await redis.sample();
    const cpuA = readCpu();
    const bench = new External('redis-benchmark', which('redis-benchmark')!, [
      '-h',
      '127.0.0.1',
      '-p',
      String(redis.port),
      '-n',
      String(requests),
      '-P',
      '64',
      '-q',
      'publish',
      'ch',
      'x',
    ]);
    const code = await withTimeout(bench.exited, config.quick ? 30_000 : 180_000, 'redis-benchmark').catch(async (err) => {
      await bench.stop();
      throw err;
    });
    const b = await redis.sample();
    const cpuB = readCpu();
    const output = bench.output();
    const rates = [...output.matchAll(/([\d.]+) requests per second/g)];
    const rate = rates.length > 0 ? Number(rates[rates.length - 1]![1]) : NaN;
    if (code !== 0 || !Number.isFinite(rate)) throw new Error(`redis-benchmark failed (${code}): ${output.slice(-500)}`);
    const problems: string[] = [];
    const after = subscribers(cli, redis.port);
    if (after !== 1) problems.push(`${after} subscribers after the run`);
    const cpu = b.cpuMicros - a.cpuMicros;
    return {
      id: ID,
      label: LABEL,
      system: 'redis-server',
      framesPerSecond: rate,
      cpuMicrosPerFrame: cpu / requests,
      cpuPercent: (cpu / 1e6 / ((b.t - a.t) / 1000)) * 100,
      peakRssBytes: b.peakRss,
      frames: requests,
      seconds: requests / rate,
      otherCpuPercent: otherCpuPercent(cpuA, cpuB),
      note: `redis ${redis.version}; rate as printed by redis-benchmark`,
      ...(problems.length ? { problems } : {}),
    };
  } finally {
    await subscriber.stop();
    await redis.stop();
  }
}
