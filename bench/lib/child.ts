/**
 * The bench side of the line protocol (see worker.ts): starts a TypeScript
 * child under tsx, sends it commands, and waits for its events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT, repoPath } from './paths.js';
import { ended, track } from './processes.js';

export interface ChildEvent {
  event: string;
  [key: string]: unknown;
}

interface Waiter {
  event: string;
  resolve: (e: ChildEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface SpawnOptions {
  /** Extra node flags, e.g. `--cpu-prof`. */
  execArgv?: string[];
  /** Pin the process to these CPUs with taskset (e.g. "1"). */
  cpus?: string;
}

export class Child {
  readonly proc: ChildProcess;
  private queue: ChildEvent[] = [];
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  private stderrTail = '';

  constructor(
    readonly name: string,
    script: string,
    args: string[] = [],
    options: SpawnOptions = {},
  ) {
    const extra = process.env.BENCH_CHILD_FLAGS ? process.env.BENCH_CHILD_FLAGS.split(' ') : [];
    const nodeArgs = ['--import', 'tsx', ...extra, ...(options.execArgv ?? []), repoPath(script), ...args];
    this.proc = options.cpus
      ? spawn('taskset', ['-c', options.cpus, process.execPath, ...nodeArgs], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    track(this.proc);
    createInterface({ input: this.proc.stdout! }).on('line', (line) => this.onLine(line));
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      if (process.env.BENCH_TRACE === '1') process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    this.proc.stdin!.on('error', () => {
      // the child is gone; its exit is reported below
    });
    this.proc.once('exit', (code, signal) => {
      const tail = this.stderrTail.trim();
      this.fail(new Error(`${name} exited (${code ?? signal})${tail ? `:\n${tail}` : ''}`));
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** Sends one command line. */
  send(command: object): void {
    if (this.proc.stdin!.writable) this.proc.stdin!.write(JSON.stringify(command) + '\n');
  }

  /** The next event named `event` (queued or future); rejects on time-out, a child error, or exit. */
  next(event: string, timeoutMs: number): Promise<ChildEvent> {
    const i = this.queue.findIndex((e) => e.event === event);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        event,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`${this.name}: no '${event}' within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends `command` and waits for `event`. */
  request(command: object, event: string, timeoutMs: number): Promise<ChildEvent> {
    const reply = this.next(event, timeoutMs);
    this.send(command);
    return reply;
  }

  /** Asks the child to quit; kills it if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.send({ cmd: 'quit' });
    await ended(this.proc, timeoutMs);
  }

  private onLine(line: string): void {
    let event: ChildEvent;
    try {
      event = JSON.parse(line) as ChildEvent;
    } catch {
      process.stderr.write(`[${this.name}] ${line}\n`);
      return;
    }
    if (event.event === 'error') {
      this.fail(new Error(`${this.name}: ${String(event.message)}`));
      return;
    }
    const i = this.waiters.findIndex((w) => w.event === event.event);
    if (i < 0) {
      this.queue.push(event);
      return;
    }
    const waiter = this.waiters.splice(i, 1)[0]!;
    clearTimeout(waiter.timer);
    waiter.resolve(event);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
  }
}
