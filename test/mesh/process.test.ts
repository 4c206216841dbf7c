import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnReady, type TrackedChild } from '../helpers/child-process.js';
import { waitForEvent } from '../helpers/events.js';
import { LOOPBACK, freePort, useRelayHarness } from '../helpers/harness.js';
import { FAST_MESH, linkedTo, meshNode } from '../helpers/mesh.js';

useRelayHarness();

const SCRIPT = fileURLToPath(new URL('../helpers/mesh-node-process.ts', import.meta.url));

/** A mesh node process `nodeId` on `port`, linked to `peers`. */
async function spawnMeshNode(nodeId: string, port: number, peers: Record<string, string>, users: string[] = []): Promise<TrackedChild> {
  const { child, exited, kill } = await spawnReady([SCRIPT, nodeId, String(port), JSON.stringify(peers), users.join(',')], {
    label: `mesh node process ${nodeId}`,
    ready: /READY\n/,
    timeoutMs: 15_000,
  });
  return { child, exited, kill };
}

/** The heartbeat bound: a peer silent for twice the interval is gone (plus one sweep tick, and slack for a loaded machine). */
const HEARTBEAT_BOUND_MS = 2 * FAST_MESH.heartbeatIntervalMs! + 100;

describe('mesh node processes', () => {
  it('a node killed with SIGKILL: peers drop its link and users, report it offline within the grace, and link again when it returns', async () => {
    const a = meshNode('im-1');
    await a.connect();
    const port = await freePort();
    const url = `tcp://${LOOPBACK}:${port}`;
    a.mesh!.setPeers({ 'im-2': url });
    const first = await spawnMeshNode('im-2', port, { 'im-1': a.mesh!.address! }, ['bob']);
    await linkedTo(a, ['im-2'], 10_000);
    expect((await a.send({ 'im-2': ['bob'] }, 'before')).delivered).toEqual(['im-2']);

    const down = waitForEvent(a.mesh!, 'peer:down', 3_000);
    const killedAt = Date.now();
    await first.kill();
    await down;
    expect(Date.now() - killedAt).toBeLessThan(HEARTBEAT_BOUND_MS + 1_000);
    const report = await a.send({ 'im-2': ['bob'] }, 'while dead');
    expect(report.reasons).toEqual({ 'im-2': 'offline' });
    // Within the presence grace (400 ms) of the kill, with slack: never longer than the grace plus a sweep.
    expect(Date.now() - killedAt).toBeLessThan(FAST_MESH.presenceGraceMs! + 1_500);
    expect(await a.locate(['bob'])).toEqual(new Map([['bob', []]]));

    const second = await spawnMeshNode('im-2', port, { 'im-1': a.mesh!.address! }, ['bob']);
    await linkedTo(a, ['im-2'], 10_000);
    const got = new Promise<string>((resolve) => {
      let out = '';
      second.child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('GOT "after"')) resolve(out);
      });
    });
    expect((await a.send({ 'im-2': ['bob'] }, 'after')).delivered).toEqual(['im-2']);
    await got;
  });

  it('a frozen node (SIGSTOP) is cut off with ERR_HEARTBEAT within the heartbeat bound', async () => {
    const a = meshNode('im-1');
    await a.connect();
    const port = await freePort();
    a.mesh!.setPeers({ 'im-2': `tcp://${LOOPBACK}:${port}` });
    const frozen = await spawnMeshNode('im-2', port, { 'im-1': a.mesh!.address! });
    await linkedTo(a, ['im-2'], 10_000);

    const down = waitForEvent<[string, { code: string } | undefined]>(a.mesh!, 'peer:down', 5_000);
    const stoppedAt = Date.now();
    frozen.child.kill('SIGSTOP');
    try {
      const [id, error] = await down;
      expect(id).toBe('im-2');
      expect(error?.code).toBe('ERR_HEARTBEAT');
      expect(Date.now() - stoppedAt).toBeLessThan(HEARTBEAT_BOUND_MS + 1_000);
    } finally {
      frozen.child.kill('SIGCONT');
    }
  });
});
