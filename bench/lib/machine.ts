import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, arch, platform, release, totalmem, loadavg } from 'node:os';
import { repoPath } from './paths.js';
import type { Machine } from './results.js';
import { which } from './which.js';

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function packageVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(repoPath('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** What the figures were measured on. */
export function machineInfo(): Machine {
  const list = cpus();
  const redis = which('redis-server');
  const nats = which('nats-server');
  const redisVersion = redis ? /v=(\S+)/.exec(run(redis, ['--version']) ?? '')?.[1] : undefined;
  const natsVersion = nats ? /v(\S+)/.exec(run(nats, ['--version']) ?? '')?.[1] : undefined;
  const ioredis = packageVersion('ioredis');
  const natsClient = packageVersion('nats');
  const head = run('git', ['-C', repoPath(), 'rev-parse', '--short', 'HEAD']);
  // Uncommitted changes under src/ are part of what was measured: say so.
  const dirty = head ? (run('git', ['-C', repoPath(), 'status', '--porcelain', '--', 'src']) ?? '') !== '' : false;
  const commit = head && dirty ? `${head} + uncommitted changes in src/` : head;
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${platform()} ${arch()}`,
    kernel: release(),
    ...(redisVersion ? { redisServer: redisVersion } : {}),
    ...(natsVersion ? { natsServer: natsVersion } : {}),
    ...(ioredis ? { ioredis } : {}),
    ...(natsClient ? { natsClient } : {}),
    ...(commit ? { commit } : {}),
  };
}

/** One line: "Intel Xeon ..., 2 cores, 24 GiB, Node v20..., linux x64". */
export function describeMachine(m: Machine): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform} ${m.kernel}`;
}

interface CpuTimes {
  busy: number;
  steal: number;
  own: number;
}

function readTimes(): CpuTimes | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    const self = readFileSync('/proc/self/stat', 'utf8');
    const f = self
      .slice(self.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // utime, stime, and the CPU of children already reaped (cutime, cstime).
    const own = f[11]! + f[12]! + f[13]! + f[14]!;
    return { busy: user + nice + system + irq + softirq, steal, own };
  } catch {
    return undefined;
  }
}

/**
 * Measures how much CPU processes other than the bench and its children used
 * while a section ran (the bench's children must have exited by `stop`).
 */
export function cpuWatch(): { stop(): { otherCpuPercent: number; stealPercent: number } | undefined } {
  const start = readTimes();
  const t0 = performance.now();
  return {
    stop() {
      const end = readTimes();
      if (!start || !end) return undefined;
      const seconds = (performance.now() - t0) / 1000;
      // Jiffies are 1/100 s on Linux's /proc/stat and /proc/<pid>/stat alike.
      const other = end.busy - start.busy - (end.own - start.own);
      return {
        otherCpuPercent: Math.max(0, other / seconds),
        stealPercent: (end.steal - start.steal) / seconds,
      };
    },
  };
}

export { loadavg };
