/** Third-party programs (redis-server, nats-server, redis-benchmark...) started by the bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { ended, track } from './processes.js';

export class External {
  readonly proc: ChildProcess;
  private tail = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { keepOutput?: boolean } = {},
  ) {
    const keep = options.keepOutput !== false;
    this.proc = spawn(command, args, { stdio: ['ignore', keep ? 'pipe' : 'ignore', 'pipe'] });
    track(this.proc);
    const collect = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-64 * 1024);
    };
    this.proc.stdout?.on('data', collect);
    this.proc.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code) => resolve(code));
      this.proc.once('error', () => resolve(-1));
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last 64 KiB of what the program printed. */
  output(): string {
    return this.tail;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 3000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    await ended(this.proc, timeoutMs);
  }
}
