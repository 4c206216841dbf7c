/**
 * Replays a batch saved by a failing fuzz run against a fresh relay process,
 * with the fuzz's two honest nodes exchanging messages on it, to find the
 * session that breaks it:
 *
 *   node --import tsx test/fuzz/replay.ts /tmp/imrelay-fuzz-<seed>-<n>.json [--one-by-one] [--only i,j,...] [--skip-earlier]
 *
 * The batches saved before the failing one run first, as the fuzz ran them
 * (unless `--skip-earlier`). Then the failing batch: by default twenty
 * sessions at a time, as the fuzz ran it; with `--one-by-one`, each alone,
 * the relay checked after each; `--only` picks sessions by index. Prints each
 * session's violations, the relay's memory, and its stderr if it died.
 */
import { readFileSync } from 'node:fs';
import { RelayClient } from '../../src/index.js';
import { sessionFromJson, describeSession, type Session } from './frames.js';
import { mib, spawnFuzzRelay } from './fuzz-relay.js';
import { pool, runSession, type RunContext } from './session-runner.js';

const [file, ...flags] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: replay.ts <saved batch.json> [--one-by-one] [--only i,j,...] [--skip-earlier]');
  process.exit(2);
}
const saved = JSON.parse(readFileSync(file, 'utf8')) as {
  relayOptions: Record<string, unknown> & { maxFrameBytes: number };
  secret: string;
  /** The batches that ran before the failing one, oldest first. */
  earlier?: unknown[][];
  sessions: unknown[];
};
const onlyAt = flags.indexOf('--only');
const only = onlyAt >= 0 ? new Set(flags[onlyAt + 1]!.split(',').map(Number)) : undefined;
const sessions: Array<[number, Session]> = saved.sessions
  .map((j, i) => [i, sessionFromJson(j as Parameters<typeof sessionFromJson>[0])] as [number, Session])
  .filter(([i]) => only === undefined || only.has(i));

const relay = await spawnFuzzRelay(saved.relayOptions);
const legacy = (saved.relayOptions.legacy as { allow?: string[] } | undefined)?.allow?.[0] ?? '127.0.0.2';
const ctx: RunContext = { port: relay.port, secret: saved.secret, limits: saved.relayOptions, legacyAddress: legacy };
// The honest nodes of the fuzz, with the same users online, exchanging messages all along.
const honest = ['honest-a', 'honest-b'].map(
  (nodeId) =>
    new RelayClient<number>({
      url: `tcp://127.0.0.1:${relay.port}`,
      nodeId,
      secret: saved.secret,
      reconnect: { initialDelayMs: 10, maxDelayMs: 100, jitter: 0 },
    }),
);
await Promise.all(honest.map((c) => c.connect()));
honest[0]!.online(['u1', 'u2', 'u3']);
honest[1]!.online(['u3', 'u4']);
let honestFailures = 0;
let honestSent = 0;
let stopHonest = false;
for (const c of honest) {
  c.on('error', () => {});
  c.on('disconnect', (reason) => console.log(`honest ${c.nodeId} disconnected: ${reason?.code ?? 'clean'}`));
  void (async () => {
    for await (const _ of c) if (stopHonest) break;
  })();
}
const honestLoop = (async () => {
  while (!stopHonest) {
    await Promise.all(
      honest.map((c, i) =>
        c.send({ [honest[1 - i]!.nodeId]: ['u'] }, honestSent++).then(
          (r) => void (r && r.delivered.length !== 1 && honestFailures++),
          () => void honestFailures++,
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
})();
const baseline = relay.memory().rss;
relay.resetPeaks();
console.log(`relay pid ${relay.pid} on port ${relay.port}, baseline ${mib(baseline)}`);

const report = (i: number, s: Session, o: Awaited<ReturnType<typeof runSession>>): void => {
  const m = relay.memory();
  console.log(
    `#${i} ${describeSession(s).slice(0, 200)}\n   -> ${o.errorCode ?? 'no error'}, ${o.received} frames back, peak ${mib(m.peak)}${o.violations.length ? `\n   VIOLATIONS: ${o.violations.join(' | ')}` : ''}${relay.alive ? '' : '\n   RELAY DIED'}`,
  );
};
try {
  // The batches before the failing one, as the fuzz ran them: the relay's state comes from them.
  if (!flags.includes('--skip-earlier')) {
    for (const [n, batch] of (saved.earlier ?? []).entries()) {
      const outcomes = await pool(
        batch.map((j) => sessionFromJson(j as Parameters<typeof sessionFromJson>[0])),
        20,
        (s) => runSession(ctx, s),
      );
      const violations = outcomes.flatMap((o) => o.violations);
      console.log(
        `earlier batch ${n}: ${batch.length} sessions, ${violations.length} violations${violations.length ? `: ${violations.slice(0, 3).join(' | ')}` : ''}; relay ${relay.alive ? 'alive' : 'DEAD'}`,
      );
    }
  }
  if (flags.includes('--one-by-one')) {
    for (const [i, s] of sessions) {
      report(i, s, await runSession(ctx, s));
      if (!relay.alive) break;
    }
  } else {
    await pool(sessions, 20, async ([i, s]) => report(i, s, await runSession(ctx, s)));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const silent = relay.silentMs;
  console.log(
    `relay ${relay.alive ? (silent > 2_000 ? `STUCK (no STAT for ${silent} ms)` : 'alive') : 'DEAD'}; peak ${mib(relay.memory().peak)}; longest stall ${relay.lagMaxMs} ms; honest sends ${honestSent}, failed ${honestFailures}`,
  );
  if (!relay.alive) console.log(`relay stderr:\n${relay.stderrTail()}`);
} finally {
  stopHonest = true;
  await Promise.race([honestLoop, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  await relay.kill();
}
process.exit(0);
