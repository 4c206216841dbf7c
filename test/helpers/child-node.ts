/** Starts {@link ./node-process.ts} as a child process: a node with online users that a test can SIGKILL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './harness.js';

const SCRIPT = fileURLToPath(new URL('./node-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildNode {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Sends SIGKILL (no goodbye, no FIN from a clean close) and waits for the process to be gone. */
  kill(): Promise<void>;
}

/**
 * Spawns a node `nodeId` connected to `url` with `users` online, and resolves
 * once the relay has applied its announcement.
 */
export async function spawnNode(url: string, nodeId: string, users: readonly string[], timeoutMs = 10_000): Promise<ChildNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, url, nodeId, users.join(',')], {
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
  track(`node process ${nodeId} (${child.pid})`, kill);

  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`node process ${nodeId} not ready within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('READY\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node process ${nodeId} exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  return { child, exited, kill };
}
