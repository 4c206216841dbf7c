/**
 * The limit: the same framing over one TCP connection with no relay. One
 * process writes pre-batched 100-byte frames as fast as the socket takes
 * them, another counts them by their length prefixes.
 */
import { Child } from '../lib/child.js';
import type { BenchConfig } from '../lib/config.js';
import type { CapacityRow } from '../lib/results.js';
import { otherCpuPercent, quietest, readCpu } from '../lib/interference.js';
import { sleep } from '../lib/time.js';
import { FRAME_BYTES } from './relay.js';

export async function runRawPipe(config: BenchConfig, log?: (line: string) => void): Promise<CapacityRow> {
  return quietest(() => once(config), config.retries, log);
}

async function once(config: BenchConfig): Promise<CapacityRow> {
  const c = config.capacity;
  const sender = new Child('pipe-sender', 'bench/capacity/sender.ts');
  const receiver = new Child('pipe-receiver', 'bench/capacity/receiver.ts');
  try {
    const listening = await receiver.request({ cmd: 'listen-raw' }, 'listening', 20_000);
    await sender.request({ cmd: 'connect-raw', port: listening.port }, 'connected', 20_000);
    const runMs = c.warmupMs + c.measureMs + 2_000;
    await sender.request(
      { cmd: 'run', raw: true, batchFrames: c.batchFrames, frameBytes: FRAME_BYTES, maxMs: runMs, maxFrames: c.maxFrames * 4 },
      'started',
      20_000,
    );
    await sleep(c.warmupMs);
    const a = await receiver.request({ cmd: 'counts' }, 'counts', 10_000);
    const machineA = readCpu();
    await sleep(c.measureMs);
    const b = await receiver.request({ cmd: 'counts' }, 'counts', 10_000);
    const machineB = readCpu();
    sender.send({ cmd: 'stop' });
    await sender.next('done', runMs + 20_000);
    const seconds = (Number(b.t) - Number(a.t)) / 1000;
    const frames = Number(b.deliver) - Number(a.deliver);
    const cpuA = a.cpu as { user: number; system: number };
    const cpuB = b.cpu as { user: number; system: number };
    const cpu = cpuB.user + cpuB.system - cpuA.user - cpuA.system;
    return {
      id: 'raw-pipe',
      label: '100-byte frames, no relay',
      system: 'raw TCP pipe (limit)',
      framesPerSecond: frames / seconds,
      cpuMicrosPerFrame: frames > 0 ? cpu / frames : undefined,
      cpuPercent: (cpu / 1e6 / seconds) * 100,
      frameBytes: FRAME_BYTES,
      frames,
      seconds,
      otherCpuPercent: otherCpuPercent(machineA, machineB),
      note: 'CPU is the counting side',
    };
  } finally {
    await sender.stop();
    await receiver.stop();
  }
}
