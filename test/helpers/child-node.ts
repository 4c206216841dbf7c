/** Starts {@link ./node-process.ts} as a child process: a node with online users that a test can SIGKILL. */
import { fileURLToPath } from 'node:url';
import { spawnReady, type TrackedChild } from './child-process.js';

const SCRIPT = fileURLToPath(new URL('./node-process.ts', import.meta.url));

/**
 * A node process. Its `kill()` sends SIGKILL (no goodbye, no FIN from a
 * clean close) and waits for the process to be gone.
 */
export type ChildNode = TrackedChild;

/**
 * Spawns a node `nodeId` connected to `url` with `users` online, and resolves
 * once the relay has applied its announcement.
 */
export async function spawnNode(url: string, nodeId: string, users: readonly string[], timeoutMs = 10_000): Promise<ChildNode> {
  const { child, exited, kill } = await spawnReady([SCRIPT, url, nodeId, users.join(',')], {
    label: `node process ${nodeId}`,
    ready: /READY\n/,
    timeoutMs,
  });
  return { child, exited, kill };
}
