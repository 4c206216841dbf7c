/**
 * `imrelay serve` as operators run it: a real process with `--metrics-port`
 * and JSON logs, scraped over HTTP while real nodes send, then drained with
 * SIGTERM the way a supervisor or Kubernetes stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serveSettings, UsageError } from '../../src/cli/serve-config.js';
import { ErrorCodes } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { codeOf, settle, waitForEvent } from '../helpers/events.js';
import { connectClient, createClient, useRelayHarness } from '../helpers/harness.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { promtoolCheck, sample } from '../metrics/exposition-text.js';

useRelayHarness();

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SECRET = 'ops-process-secret-7c2e91';
const GRACE_MS = 1_500;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

interface LogLine {
  time: string;
  level: string;
  msg: string;
  event?: string;
  [field: string]: unknown;
}

/** `imrelay serve` in a child process, its stdout read as JSON lines. */
class RelayProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exit: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(this.child);
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      const complete = this.stdout.split('\n');
      const done = complete.slice(this.lines.length, -1);
      for (const line of done) this.lines.push(JSON.parse(line) as LogLine);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exit = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  /** The first log line with `event` (and `fields`), waiting for it as output arrives. */
  async line(event: string, fields: Record<string, unknown> = {}): Promise<LogLine> {
    for (;;) {
      const found = this.lines.find((l) => l.event === event && Object.entries(fields).every(([k, v]) => l[k] === v));
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`exited before a ${event} line:\n${this.stdout}${this.stderr}`);
      await Promise.race([once(this.child.stdout!, 'data'), once(this.child, 'exit')]);
    }
  }
}

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('imrelay serve --metrics-port (a real process)', () => {
  it('serves /metrics and /healthz, logs JSON lines, and drains on SIGTERM: 503, goodbye to every node, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imrelay-ops-'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    const relay = new RelayProcess([
      ...['--port', '0', '--metrics-port', '0', '--log-format', 'json'],
      ...['--secret-file', secretFile, '--drain-grace-ms', String(GRACE_MS)],
      // Sends to a node not connected are reported at once, not held for it as after a restart.
      ...['--startup-grace-ms', '0'],
    ]);

    const start = await relay.line('start');
    expect(start).toMatchObject({ level: 'info', secretRequired: true });
    const metricsUrl = String(start.metrics);
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const base = metricsUrl.replace(/\/metrics$/, '');
    const url = `tcp://${String(start.address)}`;
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'serving\n' });

    // Real traffic: counters must move with it.
    const idle = await get(metricsUrl);
    expect(idle.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(idle.body, 'imrelay_routes_total')).toBe(0);
    const a = await connectClient(url, 'a', { secret: SECRET });
    const b = await connectClient(url, 'b', { secret: SECRET });
    const inbox = collect(b);
    for (let i = 0; i < 20; i++) await a.send({ b: ['bob'] }, { i });
    expect((await a.send({ b: ['bob'], away: ['x', 'y', 'z'] }, 'partly')).reasons).toEqual({ away: 'offline' });
    await inbox.waitFor(21);
    const intruder = createClient(url, 'intruder', { secret: 'not-the-secret' });
    const refused = await settle(intruder.connect());
    expect(refused.status === 'rejected' && codeOf(refused.reason)).toBe(ErrorCodes.AUTH);
    await relay.line('auth_failure');

    const busy = await get(metricsUrl);
    expect(busy.status).toBe(200);
    expect(promtoolCheck(busy.body)).toEqual({ status: 0, output: '' });
    expect(sample(busy.body, 'imrelay_nodes_connected')).toBe(2);
    expect(sample(busy.body, 'imrelay_routes_total')).toBe(21);
    expect(sample(busy.body, 'imrelay_deliveries_total')).toBe(21);
    expect(sample(busy.body, 'imrelay_undelivered_users_total', { reason: 'offline' })).toBe(3);
    expect(sample(busy.body, 'imrelay_auth_failures_total')).toBe(1);
    expect(sample(busy.body, 'imrelay_bytes_received_total')).toBeGreaterThan(sample(idle.body, 'imrelay_bytes_received_total'));
    expect(sample(busy.body, 'imrelay_bytes_sent_total')).toBeGreaterThan(sample(idle.body, 'imrelay_bytes_sent_total'));
    expect(sample(busy.body, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // A node that never hangs up keeps the drain going until the grace ends.
    const stubborn = await RawPeer.connect(Number(String(start.address).split(':').pop()));
    await stubborn.handshake('stubborn', SECRET);
    await relay.line('node_up', { node: 'stubborn' });
    stubborn.stopReading();

    const goodbye = waitForEvent(b, 'disconnect', 5_000);
    relay.child.kill('SIGTERM');
    const drain = await relay.line('drain');
    expect(drain).toMatchObject({ signal: 'SIGTERM', nodes: 3, graceMs: GRACE_MS });
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 503, body: 'draining\n' });
    expect((await get(metricsUrl)).status).toBe(200);
    const [reason] = await goodbye;
    expect(codeOf(reason)).toBe(ErrorCodes.SHUTDOWN);

    expect(await relay.exit).toBe(0);
    const closed = await relay.line('closed');
    expect(closed).toMatchObject({ routes: 21, deliveries: 21 });
    expect(Number(closed.drainMs)).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(relay.stderr).toBe('');

    // Every line is a JSON object with a time, a level and a message; none holds the secret.
    for (const line of relay.lines) {
      expect(Number.isNaN(Date.parse(line.time))).toBe(false);
      expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
      expect(typeof line.msg).toBe('string');
    }
    const ups = relay.lines.filter((l) => l.event === 'node_up').map((l) => l.node);
    expect(ups).toEqual(['a', 'b', 'stubborn']);
    expect(relay.lines.find((l) => l.event === 'auth_failure')).toMatchObject({ level: 'warn', node: 'intruder', code: ErrorCodes.AUTH });
    expect(relay.lines.filter((l) => l.event === 'node_down').map((l) => l.node)).toEqual(expect.arrayContaining(['a', 'b', 'stubborn']));
    expect(relay.stdout).not.toContain(SECRET);
  });

  it('a metrics port already taken: exits 1 with ERR_LISTEN, and the relay port is let go', async () => {
    const first = new RelayProcess(['--port', '0', '--metrics-port', '0', '--log-format', 'json']);
    const metricsPort = new URL(String((await first.line('start')).metrics)).port;
    const second = new RelayProcess(['--port', '0', '--metrics-port', metricsPort, '--log-format', 'json']);
    expect(await second.exit).toBe(1);
    expect(second.stderr).toContain(`imrelay: ERR_LISTEN: cannot listen for metrics on 127.0.0.1:${metricsPort}`);
    expect(second.stderr).toContain('EADDRINUSE');
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
  });

  it('refuses a bad --log-format with a usage error', async () => {
    const relay = new RelayProcess(['--log-format', 'xml']);
    expect(await relay.exit).toBe(2);
    expect(relay.stderr).toContain("--log-format must be 'text' or 'json'");
  });
});

describe('imrelay serve: monitoring and shutdown flags', () => {
  it('reads --metrics-port, --metrics-host, --log-format and --drain-grace-ms, or their IMRELAY_* variables, apart from the relay options', () => {
    expect(
      serveSettings(['--port', '9000', '--metrics-port', '9464', '--log-format', 'json'], { IMRELAY_DRAIN_GRACE_MS: '30000' }),
    ).toEqual({
      options: { port: 9000 },
      ops: { metricsPort: 9464, metricsHost: '127.0.0.1', logFormat: 'json', drainGraceMs: 30_000 },
    });
    expect(serveSettings([], { IMRELAY_METRICS_HOST: '0.0.0.0' }).ops).toEqual({
      metricsPort: undefined,
      metricsHost: '0.0.0.0',
      logFormat: 'text',
      drainGraceMs: 10_000,
    });
    expect(() => serveSettings(['--drain-grace-ms', '0'], {})).toThrow(UsageError);
    expect(() => serveSettings(['--metrics-port', 'x'], {})).toThrow(UsageError);
  });
});
