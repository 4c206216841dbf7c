/**
 * The servers a scenario talks to, each in its own process: the imrelay
 * relay (bench/relay-process.ts), redis-server and nats-server. All listen on
 * 127.0.0.1 only, on a free port, with no persistence, and are stopped after.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RelayStats } from '../../src/server/stats.js';
import { Child, type ChildEvent } from './child.js';
import { External } from './external.js';
import { freePort, waitForPort } from './ports.js';
import { procCpuMicros, procMemory, resetPeakRss } from './proc.js';
import { sleep } from './time.js';
import { which } from './which.js';

/** A server's CPU and memory at one moment. */
export interface ServerSample {
  /** Milliseconds, on the clock of whoever read the counters (only differences matter). */
  t: number;
  /** User plus system CPU time so far, µs. */
  cpuMicros: number;
  rss: number;
  /** Highest RSS since the last resetPeak(). */
  peakRss: number;
  /** The relay's monotonic clock (process.hrtime), µs: the clock of its --cpu-prof samples. */
  hrMicros?: number;
  /** The relay's own counters (imrelay only). */
  stats?: RelayStats;
}

export interface ServerHandle {
  name: string;
  port: number;
  pid: number;
  version: string;
  sample(): Promise<ServerSample>;
  resetPeak(): Promise<void>;
  stop(): Promise<void>;
}

/** The Debian package of each server binary the baselines use. */
export const DEBIAN_PACKAGE: Record<string, string> = {
  'redis-server': 'redis-server',
  'redis-benchmark': 'redis-tools',
  'redis-cli': 'redis-tools',
  'nats-server': 'nats-server',
};

/** A line saying a baseline was skipped and how to get its binaries, or undefined when all are there. */
export function missing(...binaries: string[]): string | undefined {
  const absent = binaries.filter((b) => which(b) === undefined);
  if (absent.length === 0) return undefined;
  const packages = [...new Set(absent.map((b) => DEBIAN_PACKAGE[b] ?? b))];
  return `skipped: ${absent.join(', ')} not installed (install with: apt-get install -y ${packages.join(' ')})`;
}

/** The bench's relay process: a RelayServer alone in its own process. */
export async function startRelay(
  options: { maxOutboundBytes?: number; execArgv?: string[]; cpus?: string } = {},
): Promise<ServerHandle & { child: Child; stats(): Promise<ChildEvent> }> {
  const args = options.maxOutboundBytes !== undefined ? ['--max-outbound-bytes', String(options.maxOutboundBytes)] : [];
  const child = new Child('relay', 'bench/relay-process.ts', args, {
    ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    ...(options.cpus ? { cpus: options.cpus } : {}),
  });
  const listening = await child.next('listening', 20_000);
  const stats = (): Promise<ChildEvent> => child.request({ cmd: 'stats' }, 'stats', 10_000);
  return {
    name: 'imrelay',
    port: Number(listening.port),
    pid: Number(listening.pid),
    version: 'src',
    child,
    stats,
    async sample() {
      const s = await stats();
      const cpu = s.cpu as { user: number; system: number };
      return {
        // The relay's own clock, read with its counters: the bench's would add the reply's delay.
        t: Number(s.t),
        hrMicros: Number(s.hr),
        cpuMicros: cpu.user + cpu.system,
        rss: Number(s.rss),
        peakRss: Number(s.peakRss),
        stats: s.stats as RelayStats,
      };
    },
    async resetPeak() {
      await child.request({ cmd: 'reset-peak' }, 'reset', 10_000);
    },
    stop: () => child.stop(10_000),
  };
}

function externalHandle(name: string, port: number, ext: External, version: string): ServerHandle {
  return {
    name,
    port,
    pid: ext.pid,
    version,
    sample() {
      const mem = procMemory(ext.pid);
      return Promise.resolve({ t: performance.now(), cpuMicros: procCpuMicros(ext.pid), ...mem });
    },
    resetPeak() {
      resetPeakRss(ext.pid);
      return Promise.resolve();
    },
    stop: () => ext.stop(),
  };
}

function versionOf(binary: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(out)?.[1] ?? out.trim();
  } catch {
    return 'unknown';
  }
}

/** redis-server on a free loopback port: no RDB, no AOF, no pub/sub output limit. */
export async function startRedis(): Promise<ServerHandle> {
  const binary = which('redis-server');
  if (!binary) throw new Error(missing('redis-server'));
  const port = await freePort();
  const ext = new External('redis-server', binary, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'yes',
    '--client-output-buffer-limit',
    'pubsub 0 0 0',
    '--loglevel',
    'warning',
  ]);
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await ext.stop();
    throw new Error(`redis-server did not start: ${(err as Error).message}\n${ext.output()}`);
  }
  return externalHandle('redis', port, ext, versionOf(binary, ['--version'], /v=(\S+)/));
}

/**
 * A Redis Cluster of three masters (no replicas) on free loopback ports, with
 * the same settings as {@link startRedis}; `port` is the first master's (a
 * Cluster client finds the others from it). CPU and memory are the three
 * processes' sums.
 */
export async function startRedisCluster(): Promise<ServerHandle> {
  const binary = which('redis-server');
  const cli = which('redis-cli');
  if (!binary || !cli) throw new Error(missing('redis-server', 'redis-cli'));
  const dir = mkdtempSync(join(tmpdir(), 'imrelay-bench-cluster-'));
  const servers: Array<{ port: number; ext: External }> = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.ext.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`));
      args.push('--client-output-buffer-limit', 'pubsub 0 0 0', '--loglevel', 'warning');
      servers.push({ port, ext: new External(`redis-cluster-${i}`, binary, args) });
    }
    await Promise.all(servers.map((s) => waitForPort(s.port, 10_000)));
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    execFileSync(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    for (const s of servers) await waitForClusterOk(cli, s.port);
  } catch (err) {
    await stop();
    throw new Error(`redis cluster did not start: ${(err as Error).message}`);
  }
  const pids = servers.map((s) => s.ext.pid);
  return {
    name: 'redis-cluster',
    port: servers[0]!.port,
    pid: pids[0]!,
    version: versionOf(binary, ['--version'], /v=(\S+)/),
    sample() {
      let cpuMicros = 0;
      let rss = 0;
      let peakRss = 0;
      for (const pid of pids) {
        const mem = procMemory(pid);
        cpuMicros += procCpuMicros(pid);
        rss += mem.rss;
        peakRss += mem.peakRss;
      }
      return Promise.resolve({ t: performance.now(), cpuMicros, rss, peakRss });
    },
    resetPeak() {
      for (const pid of pids) resetPeakRss(pid);
      return Promise.resolve();
    },
    stop,
  };
}

async function waitForClusterOk(cli: string, port: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const info = execFileSync(cli, ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
    if (info.includes('cluster_state:ok')) return;
    if (performance.now() > deadline) throw new Error(`cluster node ${port} not ok within 10 s`);
    await sleep(50);
  }
}

/** nats-server on a free loopback port (core NATS: no JetStream, nothing persisted). */
export async function startNats(): Promise<ServerHandle> {
  const binary = which('nats-server');
  if (!binary) throw new Error(missing('nats-server'));
  const port = await freePort();
  const ext = new External('nats-server', binary, ['-a', '127.0.0.1', '-p', String(port)]);
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await ext.stop();
    throw new Error(`nats-server did not start: ${(err as Error).message}\n${ext.output()}`);
  }
  return externalHandle('nats', port, ext, versionOf(binary, ['--version'], /v(\S+)/));
}
