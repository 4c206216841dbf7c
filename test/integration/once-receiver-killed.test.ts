/**
 * "Delivered" means the receiving application took it: a receiving node
 * process killed with SIGKILL mid-stream. No send is reported delivered that
 * its application did not take; what it had not taken is reported offline
 * once its grace has passed. Nothing is left unsettled.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SendReport } from '../../src/index.js';
import { spawnReady } from '../helpers/child-process.js';
import { settle, withTimeout } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

const CONSUMER = fileURLToPath(new URL('../helpers/consumer-process.ts', import.meta.url));
const COUNT = 2_000;

describe('a receiving node killed mid-stream (SIGKILL)', () => {
  it('no send is reported delivered that its application did not take', async () => {
    const { url } = await startServer({ presenceGraceMs: 500 });
    const victim = await spawnReady([CONSUMER, url, 'victim', '1'], { label: 'consumer process', ready: /READY\n/, timeoutMs: 10_000 });
    let printed = '';
    victim.child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const sender = await connectClient<number>(url, 'sender', { reportTimeoutMs: 15_000 });

    const sends = Array.from({ length: COUNT }, (_, i) => settle(sender.send({ victim: ['u'] }, i)));
    // Kill it while it works through its window, a message a millisecond.
    await withTimeout(
      (async () => {
        while ((printed.match(/TOOK /g) ?? []).length < 50) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      10_000,
      'the victim taking 50 messages',
    );
    await victim.kill();
    const took = new Set(
      printed
        .split('\n')
        .filter((line) => line.startsWith('TOOK '))
        .map((line) => Number(line.slice(5))),
    );

    const outcomes = await withTimeout(Promise.all(sends), 20_000, 'every send');
    let delivered = 0;
    let offline = 0;
    outcomes.forEach((o, i) => {
      expect(o.status, `send ${i}`).toBe('fulfilled');
      const report = (o as { value: SendReport }).value;
      if (report.delivered.includes('victim')) {
        delivered++;
        expect(took.has(i), `send ${i} reported delivered`).toBe(true);
      } else {
        offline++;
        expect(report.offline).toEqual({ victim: ['u'] });
      }
    });
    expect(delivered).toBeGreaterThan(0);
    expect(offline).toBeGreaterThan(0);
    expect(delivered + offline).toBe(COUNT);
  }, 60_000);
});
