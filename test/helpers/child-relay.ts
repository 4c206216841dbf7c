/** Starts {@link ./relay-process.ts} as a child process and kills it on demand or after the test. */
import { fileURLToPath } from 'node:url';
import { spawnReady, type TrackedChild } from './child-process.js';

const SCRIPT = fileURLToPath(new URL('./relay-process.ts', import.meta.url));

/** A relay process. Its `kill()` sends SIGKILL and waits for the process to be gone. */
export interface ChildRelay extends TrackedChild {
  port: number;
}

/** Spawns a relay process listening on `port` (0 for any) and resolves once it printed its port. */
export async function spawnRelay(port = 0, timeoutMs = 10_000): Promise<ChildRelay> {
  const { child, exited, kill, ready } = await spawnReady([SCRIPT, String(port)], {
    label: 'relay process',
    ready: /PORT (\d+)/,
    timeoutMs,
  });
  return { child, port: Number(ready[1]), exited, kill };
}
