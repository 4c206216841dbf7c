/** The performance targets, checked against one run's figures. */
import { dec, int } from './format.js';
import type { Results, TargetRow } from './results.js';

export const TARGETS = {
  relayFramesPerSecond: 1_000_000,
  ceilingShare: 0.9,
  redisFactor: 1.5,
  p99Ms: 5,
  /** imrelay over Redis against hand-rolled pub/sub on the same Redis (issue 14). */
  overRedisFactor: 1.5,
  overRedisP99Ms: 10,
};

/** imrelay over Redis, and the hand-rolled baseline it is held against, per Redis setup. */
const OVER_REDIS = [
  { system: 'imrelay-redis', baseline: 'redis', setup: 'Redis' },
  { system: 'imrelay-redis-cluster', baseline: 'redis-cluster', setup: 'Redis Cluster' },
];

export function evaluateTargets(r: Results): TargetRow[] {
  const rows: TargetRow[] = [];
  const cap = (id: string) => r.capacity.find((c) => c.id === id && !c.skipped);
  const oneHost = cap('relay-1h');
  rows.push({
    target: `Relay capacity, 1 host/msg, no reports: ≥ ${int(TARGETS.relayFramesPerSecond)} frames/s`,
    measured: oneHost ? `${int(oneHost.framesPerSecond)} frames/s` : 'not measured',
    met: oneHost ? oneHost.framesPerSecond! >= TARGETS.relayFramesPerSecond : undefined,
  });
  // RelayClient reads ACK frames: every send is answered, runs of delivered
  // ones by one frame. A node that reads only REPORTs gets one frame per send.
  const withAcks = cap('relay-1h-ack');
  const perFrame = cap('relay-1h-report');
  const withReports = withAcks ?? perFrame;
  const redis = cap('redis-publish');
  const how = withAcks
    ? ` (ACK runs, as RelayClient is answered${perFrame ? `; a REPORT frame per send: ${int(perFrame.framesPerSecond)}` : ''})`
    : '';
  rows.push({
    target: 'Relay capacity, 1 host/msg with a report per send: above redis-server PUBLISH (pipelined)',
    measured:
      withReports && redis
        ? `${int(withReports.framesPerSecond)}${how} vs ${int(redis.framesPerSecond)} frames/s`
        : withReports
          ? `${int(withReports.framesPerSecond)}${how} frames/s; Redis not measured`
          : 'not measured',
    met: withReports && redis ? withReports.framesPerSecond! > redis.framesPerSecond! : undefined,
  });

  const workloads = [...new Set(r.e2e.map((e) => e.workload))];
  for (const w of workloads) {
    const row = (system: string, mode = 'peak') =>
      r.e2e.find((e) => e.workload === w && e.system === system && e.mode === mode && !e.skipped);
    const im = row('imrelay');
    const label = r.e2e.find((e) => e.workload === w)!.workloadLabel;
    const loop = row('loop');
    rows.push({
      target: `End to end (${label}): ≥ ${TARGETS.ceilingShare * 100}% of the loop ceiling`,
      measured:
        im && loop
          ? `${Math.round((im.messagesPerSecond! / loop.messagesPerSecond!) * 100)}% (${int(im.messagesPerSecond)} of ${int(loop.messagesPerSecond)} msg/s)`
          : 'not measured',
      met: im && loop ? im.messagesPerSecond! >= TARGETS.ceilingShare * loop.messagesPerSecond! : undefined,
    });
    const nats = row('nats');
    rows.push({
      target: `End to end (${label}): ahead of NATS`,
      measured: im && nats ? `${int(im.messagesPerSecond)} vs ${int(nats.messagesPerSecond)} msg/s` : 'not measured',
      met: im && nats ? im.messagesPerSecond! > nats.messagesPerSecond! : undefined,
    });
    const redisRow = row('redis');
    rows.push({
      target: `End to end (${label}): ≥ ${TARGETS.redisFactor}× Redis`,
      measured:
        im && redisRow
          ? `${dec(im.messagesPerSecond! / redisRow.messagesPerSecond!)}× (${int(im.messagesPerSecond)} vs ${int(redisRow.messagesPerSecond)} msg/s)`
          : 'not measured',
      met: im && redisRow ? im.messagesPerSecond! >= TARGETS.redisFactor * redisRow.messagesPerSecond! : undefined,
    });
    for (const { system, baseline, setup } of OVER_REDIS) {
      const ours = row(system);
      const theirs = row(baseline);
      if (!ours && !theirs) continue;
      rows.push({
        target: `Over ${setup} (${label}): ≥ ${TARGETS.overRedisFactor}× hand-rolled pub/sub`,
        measured:
          ours && theirs
            ? `${dec(ours.messagesPerSecond! / theirs.messagesPerSecond!)}× (${int(ours.messagesPerSecond)} vs ${int(theirs.messagesPerSecond)} msg/s)`
            : 'not measured',
        met: ours && theirs ? ours.messagesPerSecond! >= TARGETS.overRedisFactor * theirs.messagesPerSecond! : undefined,
      });
      const oursHalf = row(system, 'half-peak');
      rows.push({
        target: `Over ${setup} (${label}): p99 < ${TARGETS.overRedisP99Ms} ms at half of its peak`,
        measured: oursHalf?.latencyMs ? `p99 ${dec(oursHalf.latencyMs.p99)} ms at ${int(oursHalf.targetRate)} msg/s` : 'not measured',
        met: oursHalf?.latencyMs ? oursHalf.latencyMs.p99 < TARGETS.overRedisP99Ms : undefined,
      });
      const cpu = (r: typeof ours): number | undefined => r?.nodeCpuMicrosPerMessage;
      rows.push({
        target: `Over ${setup} (${label}): node CPU per message below hand-rolled`,
        measured:
          cpu(ours) !== undefined && cpu(theirs) !== undefined
            ? `${dec(cpu(ours)!)} vs ${dec(cpu(theirs)!)} µs/msg at peak`
            : 'not measured',
        met: cpu(ours) !== undefined && cpu(theirs) !== undefined ? cpu(ours)! < cpu(theirs)! : undefined,
      });
    }
    const half = row('imrelay', 'half-peak');
    rows.push({
      target: `End to end (${label}): p99 < ${TARGETS.p99Ms} ms at half of peak`,
      measured: half?.latencyMs ? `p99 ${dec(half.latencyMs.p99)} ms at ${int(half.targetRate)} msg/s` : 'not measured',
      met: half?.latencyMs ? half.latencyMs.p99 < TARGETS.p99Ms : undefined,
    });
  }
  if (r.slowConsumer && !r.slowConsumer.skipped) {
    rows.push({
      target: 'Slow consumer: nothing dropped silently (consumed + reported undelivered + rejected = sent)',
      measured: `${int(r.slowConsumer.sent)} sent, ${int(r.slowConsumer.unaccounted)} unaccounted`,
      met: r.slowConsumer.ok,
    });
  }
  return rows;
}
