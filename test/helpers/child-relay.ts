/** Starts {@link ./relay-process.ts} as a child process and kills it on demand or after the test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './harness.js';

const SCRIPT = fileURLToPath(new URL('./relay-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildRelay {
  child: ChildProcess;
  port: number;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Sends SIGKILL and waits for the process to be gone. */
  kill(): Promise<void>;
}

/** Spawns a relay process listening on `port` (0 for any) and resolves once it printed its port. */
export async function spawnRelay(port = 0, timeoutMs = 10_000): Promise<ChildRelay> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, String(port)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  track(`relay process ${child.pid}`, kill);

  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const bound = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`relay process printed no port within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`relay process exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  return { child, port: bound, exited, kill };
}
