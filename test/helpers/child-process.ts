/**
 * Runs a helper script in its own Node process (through tsx, from the
 * repository root), for tests that kill a process with SIGKILL, and waits
 * until the script says it is ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A child process that is killed after the test if the test has not done so. */
export interface TrackedChild {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Sends SIGKILL and waits for the process to be gone. */
  kill(): Promise<void>;
}

export interface SpawnReadyOptions {
  /** Names the process in cleanup reports and errors, e.g. `relay process`. */
  label: string;
  /** What the script prints on stdout once it is ready. */
  ready: RegExp;
  timeoutMs: number;
}

/**
 * Spawns `node --import tsx <args>` and resolves once its stdout matches
 * `options.ready`, with the match (so that a script can report what it
 * bound). Rejects, with the stderr so far, if the process exits first or
 * is not ready within `options.timeoutMs`; it is still killed after the test.
 *
 * stdin stays open: the scripts exit when it closes, so none outlives the
 * test process.
 */
export async function spawnReady(args: readonly string[], options: SpawnReadyOptions): Promise<TrackedChild & { ready: RegExpExecArray }> {
  const { label, ready, timeoutMs } = options;
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
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
  track(`${label} (pid ${child.pid})`, kill);

  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${label} not ready within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    // Stays attached after the match, so the pipe keeps being drained.
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = ready.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  return { child, exited, kill, ready: match };
}
