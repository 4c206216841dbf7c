/**
 * Starts relays and clients on loopback and closes every one of them after
 * each test. Call {@link useRelayHarness} once at the top of a test file.
 */
import { afterEach } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { RelayClient, RelayServer, type ClientCommonOptions, type RelayServerOptions } from '../../src/index.js';

export const LOOPBACK = '127.0.0.1';

type Closer = { label: string; close: () => Promise<unknown> | unknown };

const closers: Closer[] = [];
const CLOSE_DEADLINE_MS = 5_000;

/** Registers something to close after the current test (last registered, first closed). */
export function track(label: string, close: () => Promise<unknown> | unknown): void {
  closers.push({ label, close });
}

/**
 * Closes everything tracked, newest first. A close that hangs fails the test:
 * that is a bug worth seeing, not something to wait out.
 */
export async function cleanup(): Promise<void> {
  const hung: string[] = [];
  while (closers.length > 0) {
    const { label, close } = closers.pop()!;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.resolve()
        .then(close)
        .then(
          () => 'ok',
          () => 'ok', // closing something already failed is fine
        ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('hung'), CLOSE_DEADLINE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'hung') hung.push(label);
  }
  if (hung.length > 0) throw new Error(`did not close within ${CLOSE_DEADLINE_MS} ms: ${hung.join(', ')}`);
}

/** Installs the after-each cleanup in the calling test file. */
export function useRelayHarness(): void {
  afterEach(cleanup);
}

export interface StartedServer {
  server: RelayServer;
  port: number;
  url: string;
}

/** Starts a tracked relay on loopback, port 0 unless `options.port` says otherwise. */
export async function startServer(options: RelayServerOptions = {}): Promise<StartedServer> {
  // A fresh relay that holds sends for nodes not connected yet is tested where a test asks for it.
  const server = new RelayServer({ host: LOOPBACK, port: 0, startupGraceMs: 0, ...options });
  track(`RelayServer(${options.port ?? 0})`, () => server.close());
  const { port } = await listenWithRetry(server);
  return { server, port, url: urlFor(port) };
}

/** `listen()`, retried briefly while the port is still held by a relay that just stopped. */
async function listenWithRetry(server: RelayServer): Promise<AddressInfo> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    try {
      return await server.listen();
    } catch (err) {
      const osCode = ((err as { cause?: NodeJS.ErrnoException }).cause ?? {}).code;
      if (osCode !== 'EADDRINUSE' || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export function urlFor(port: number): string {
  return `tcp://${LOOPBACK}:${port}`;
}

/** Short timeouts so that failures show quickly and cleanup is fast. */
export const FAST_CLIENT: Partial<ClientCommonOptions> = {
  reconnect: { initialDelayMs: 10, maxDelayMs: 100, jitter: 0 },
  connectTimeoutMs: 2_000,
  closeTimeoutMs: 500,
  reportTimeoutMs: 5_000,
};

/** A tracked client that has not connected yet. */
export function createClient<M = unknown>(url: string, nodeId: string, options: Partial<ClientCommonOptions> = {}): RelayClient<M> {
  const client = new RelayClient<M>({ ...FAST_CLIENT, ...options, url, nodeId });
  // A test that wants the error event listens itself; this keeps an unobserved
  // failure from being mistaken for a crash.
  client.on('error', () => {});
  track(`RelayClient(${nodeId})`, () => client.close());
  return client;
}

/** A tracked client, connected and welcomed. */
export async function connectClient<M = unknown>(
  url: string,
  nodeId: string,
  options: Partial<ClientCommonOptions> = {},
): Promise<RelayClient<M>> {
  const client = createClient<M>(url, nodeId, options);
  await client.connect();
  return client;
}

/** A port that nothing listens on right now (bound once on loopback, then released). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Cuts a client's connection the way a network failure or a crash does: the
 * socket is destroyed with no goodbye. The client notices and reconnects as
 * its options say.
 */
export function dropConnection<M>(client: RelayClient<M>): void {
  const conn = (client as unknown as { supervisor: { link?: { socket: { destroy(): void } } } }).supervisor.link;
  if (conn === undefined) throw new Error('dropConnection: the client has no connection');
  conn.socket.destroy();
}
