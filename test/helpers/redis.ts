/**
 * Real redis-server processes for tests: one standalone server, or a Redis
 * Cluster of three masters. Each listens on 127.0.0.1 on a free port, keeps
 * nothing on disk, and dies with the test process even if that process is
 * killed (a watchdog child kills it when our pipe to the watchdog closes).
 *
 * Nothing here skips: without redis-server on the PATH, starting throws and
 * says how to install it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { LOOPBACK, freePort } from './harness.js';

const START_DEADLINE_MS = 5_000;
const STOP_DEADLINE_MS = 3_000;

/** A standalone redis-server. */
export interface RedisProcess {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Shuts the server down (SIGTERM, then SIGKILL if it lingers) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would, and waits for it to exit. */
  kill(): Promise<void>;
  /** Stops the server if it runs, then starts a fresh one (empty) on the same port. */
  restart(): Promise<void>;
}

/** A Redis Cluster of three masters, with or without a replica each. */
export interface RedisClusterProcess {
  /** The masters the cluster was created with (a failover changes who is master). */
  readonly nodes: Array<{ host: string; port: number }>;
  /** The replicas, when started with some. */
  readonly replicas: Array<{ host: string; port: number }>;
  /**
   * Promotes a replica of the master on `masterPort` (CLUSTER FAILOVER, the
   * old master agreeing; forced with TAKEOVER when that has not happened
   * within 2 s) and resolves with the new master's port once every
   * node sees the cluster ok again. Throws when that master has no replica.
   */
  failover(masterPort: number): Promise<number>;
  /**
   * Reshards one slot, which must hold no keys, from the master that serves
   * it to the master on `toPort` (IMPORTING, MIGRATING, then SETSLOT NODE on
   * every master) and resolves once every master names `toPort` its owner.
   */
  moveSlot(slot: number, toPort: number): Promise<void>;
  /** The port of the master that serves `slot`, as the first master sees it. */
  ownerOf(slot: number): Promise<number>;
  /** Stops every node and removes the cluster's config files. */
  stop(): Promise<void>;
}

/** Servers not yet stopped, killed synchronously if the test process exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a standalone redis-server on a free loopback port. The caller stops it. */
export async function startRedis(): Promise<RedisProcess> {
  requireCommand('redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'imrelay-redis-'));
  let server = await spawnOnFreePort(dir, []);
  const { port } = server;
  let stopped = false;
  return {
    port,
    url: `redis://${LOOPBACK}:${port}`,
    async stop() {
      stopped = true;
      await server.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await server.stop('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await server.stop('SIGTERM');
      server = await spawnRedis(port, dir, []);
    },
  };
}

/**
 * Starts three cluster-enabled redis-servers (six with `replicas: 1`, a
 * replica for each master), joins them with `redis-cli --cluster create`,
 * and waits until every node reports `cluster_state:ok`. The caller stops it.
 */
export async function startRedisCluster(options: { replicas?: 0 | 1 } = {}): Promise<RedisClusterProcess> {
  const replicas = options.replicas ?? 0;
  requireCommand('redis-server');
  requireCommand('redis-cli');
  const dir = mkdtempSync(join(tmpdir(), 'imrelay-redis-cluster-'));
  const servers: Server[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop('SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 1; i <= 3 * (1 + replicas); i++) {
      // No diskless-sync delay: a replica is in sync at once instead of after 5 s.
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--repl-diskless-sync-delay', '0'];
      servers.push(await spawnOnFreePort(dir, args));
    }
    const addresses = servers.map((server) => `${LOOPBACK}:${server.port}`);
    const create = await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes']);
    if (create.code !== 0) throw new Error(`redis-cli --cluster create failed (${create.code}):\n${create.output}`);
    await Promise.all(servers.map((server) => waitForClusterOk(server.port)));
    // A replica is in sync before it can take over.
    for (const server of servers) await waitForReplicaSync(server.port);
  } catch (err) {
    await stop();
    throw err;
  }
  const roles = await Promise.all(
    servers.map(async (server) => ({ port: server.port, info: await redisCommand(server.port, ['INFO', 'replication']) })),
  );
  const masters = roles.filter((r) => r.info.includes('role:master')).map((r) => ({ host: LOOPBACK, port: r.port }));
  const replicaList = roles.filter((r) => r.info.includes('role:slave')).map((r) => ({ host: LOOPBACK, port: r.port }));
  return {
    nodes: masters,
    replicas: replicaList,
    async failover(masterPort) {
      const masterId = (await redisCommand(masterPort, ['CLUSTER', 'MYID'])).trim();
      let promoted: number | undefined;
      for (const replica of replicaList) {
        const info = await redisCommand(replica.port, ['INFO', 'replication']);
        if (info.includes('role:slave') && info.includes(`master_port:${masterPort}`)) promoted = replica.port;
      }
      if (promoted === undefined) throw new Error(`no replica of ${masterPort} (${masterId})`);
      // A manual failover (the master agreeing, the masters voting) that has
      // not happened within 2 s is forced: TAKEOVER needs no vote.
      const deadline = Date.now() + 3 * START_DEADLINE_MS;
      await redisCommand(promoted, ['CLUSTER', 'FAILOVER']);
      const askedAt = Date.now();
      let forced = false;
      while (!(await redisCommand(promoted, ['INFO', 'replication'])).includes('role:master')) {
        if (Date.now() > deadline) throw new Error(`replica ${promoted} not promoted within ${3 * START_DEADLINE_MS} ms`);
        if (!forced && Date.now() - askedAt > 2_000) {
          forced = true;
          await redisCommand(promoted, ['CLUSTER', 'FAILOVER', 'TAKEOVER']);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Every node learns of the new master by gossip: wait until all of them name it master.
      const promotedId = (await redisCommand(promoted, ['CLUSTER', 'MYID'])).trim();
      for (const server of servers) {
        for (;;) {
          const nodes = await redisCommand(server.port, ['CLUSTER', 'NODES']);
          const line = nodes.split('\n').find((l) => l.startsWith(promotedId));
          if (line?.split(' ')[2]?.split(',').includes('master')) break;
          if (Date.now() > deadline) throw new Error(`node ${server.port} does not see ${promoted} as master`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      await Promise.all(servers.map((server) => waitForClusterOk(server.port)));
      return promoted;
    },
    ownerOf: (slot) => slotOwner(masters[0]!.port, slot),
    async moveSlot(slot, toPort) {
      const ownerPort = await slotOwner(masters[0]!.port, slot);
      if (ownerPort === toPort) return;
      const [fromId, toId] = await Promise.all(
        [ownerPort, toPort].map(async (port) => (await redisCommand(port, ['CLUSTER', 'MYID'])).trim()),
      );
      await redisCommand(toPort, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId!]);
      await redisCommand(ownerPort, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId!]);
      // A channel is not a key: the slots moved here hold none, and moving keys is not this helper's job.
      const keys = Number(await redisCommand(ownerPort, ['CLUSTER', 'COUNTKEYSINSLOT', String(slot)]));
      if (keys !== 0) throw new Error(`slot ${slot} holds ${keys} keys: moveSlot moves empty slots only`);
      // The new owner first, so that no master names an owner that does not know it owns the slot.
      const order = [toPort, ownerPort, ...masters.map((m) => m.port).filter((port) => port !== toPort && port !== ownerPort)];
      for (const port of order) await redisCommand(port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId!]);
      const deadline = Date.now() + 3 * START_DEADLINE_MS;
      for (const master of masters) {
        while ((await slotOwner(master.port, slot)) !== toPort) {
          if (Date.now() > deadline) throw new Error(`master ${master.port} does not name ${toPort} the owner of slot ${slot}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
    stop,
  };
}

/** The port of the master that `port` says serves `slot`. */
async function slotOwner(port: number, slot: number): Promise<number> {
  // Lines of CLUSTER NODES: id, host:port@bus, flags, master, ping, pong, epoch, link, then slot ranges.
  for (const line of (await redisCommand(port, ['CLUSTER', 'NODES'])).split('\n')) {
    const fields = line.trim().split(' ');
    const serves = fields.slice(8).some((range) => {
      if (range.startsWith('[')) return false;
      const [from, to = from] = range.split('-').map(Number);
      return slot >= from! && slot <= to!;
    });
    if (serves) return Number(fields[1]!.split('@')[0]!.split(':').pop());
  }
  throw new Error(`no master of slot ${slot} in CLUSTER NODES of ${port}`);
}

/** Waits until a replica reports its link to its master up (a master returns at once). */
async function waitForReplicaSync(port: number): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const info = await redisCommand(port, ['INFO', 'replication']);
    if (!info.includes('role:slave') || info.includes('master_link_status:up')) return;
    if (Date.now() > deadline) throw new Error(`replica ${port} not in sync within ${START_DEADLINE_MS} ms:\n${info}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Server {
  port: number;
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/** Picks a free port; retries when another process took it before redis-server bound it. */
async function spawnOnFreePort(dir: string, extra: string[]): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await spawnRedis(port, dir, extra);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

async function spawnRedis(port: number, dir: string, extra: string[]): Promise<Server> {
  const args = ['--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no', '--dir', dir, ...extra];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const watchdog = startWatchdog(child.pid!, dir);

  const stop = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const lingered = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_DEADLINE_MS))),
      ]);
      clearTimeout(timer);
      if (lingered) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    // The server is gone: end the watchdog without letting it signal anything.
    watchdog.kill('SIGKILL');
  };

  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      watchdog.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} exited at start:\n${output}`);
    }
    const reply = await redisCommand(port, ['PING']).catch(() => undefined);
    if (reply === 'PONG') return { port, stop };
    if (Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within ${START_DEADLINE_MS} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A shell that waits for its stdin to close, then kills `pid` and removes
 * `dir`. Its stdin is a pipe from this process, which closes when this
 * process dies, however it dies.
 */
function startWatchdog(pid: number, dir: string): ChildProcess {
  const watchdog = spawn('sh', ['-c', 'read _; kill -9 "$0" 2>/dev/null; rm -rf "$1"', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Neither keeps the event loop alive: the pipe only has to exist.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  return watchdog;
}

async function waitForClusterOk(port: number): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    const info = await redisCommand(port, ['CLUSTER', 'INFO']).catch((err: unknown) => String(err));
    if (info.includes('cluster_state:ok')) return;
    if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok within ${START_DEADLINE_MS} ms:\n${info}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Sends one command over a fresh connection, without a client library, and
 * returns its reply: simple strings, integers and bulk strings as text, an
 * array of those as its items' text a line each; an error reply rejects.
 */
export function redisCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, LOOPBACK);
    let data = Buffer.alloc(0);
    const finish = (err: Error | undefined, reply?: string): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    socket.setTimeout(1_000, () => finish(new Error('timeout')));
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      try {
        const reply = parseReply(data, 0);
        if (reply !== undefined) finish(undefined, reply.text);
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}

/** The reply that starts at `at` of `data` and where it ends, or undefined while it is incomplete. */
function parseReply(data: Buffer, at: number): { text: string; end: number } | undefined {
  const eol = data.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const head = data.toString('utf8', at + 1, eol);
  switch (data[at]) {
    case 0x2b /* + */:
    case 0x3a /* : */:
      return { text: head, end: eol + 2 };
    case 0x2d /* - */:
      throw new Error(head);
    case 0x24 /* $ */: {
      const length = Number(head);
      if (length < 0) return { text: '', end: eol + 2 };
      if (data.length < eol + 2 + length + 2) return undefined;
      return { text: data.toString('utf8', eol + 2, eol + 2 + length), end: eol + 2 + length + 2 };
    }
    case 0x2a /* * */: {
      const items: string[] = [];
      let end = eol + 2;
      for (let i = 0; i < Number(head); i++) {
        const item = parseReply(data, end);
        if (item === undefined) return undefined;
        items.push(item.text);
        end = item.end;
      }
      return { text: items.join('\n'), end };
    }
    default:
      throw new Error(`unexpected reply ${JSON.stringify(data.toString())}`);
  }
}

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Throws, saying how to install it, when `name` is not an executable on the PATH. */
function requireCommand(name: string): void {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not on the PATH: run \`bash scripts/setup-system.sh\` to install the test dependencies`);
}
