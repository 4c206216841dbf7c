/**
 * Slow consumer: one receiving node reads at a tenth of the rate it is sent.
 * The relay must hold no more than its per-node limit for it (its RSS is
 * sampled over the run), refuse the rest with `overflow` in the sender's
 * reports, and drop nothing silently: for every host, what reached the
 * consumer loop plus what was reported undelivered equals what was sent.
 */
import { Child } from '../lib/child.js';
import type { BenchConfig } from '../lib/config.js';
import type { SlowConsumerResult } from '../lib/results.js';
import { startRelay } from '../lib/servers.js';
import { sleep } from '../lib/time.js';

interface HostTally {
  host: string;
  slow: boolean;
  sent: number;
  delivered: number;
  overflow: number;
  other: number;
  consumed: number;
}

export async function runSlowConsumer(config: BenchConfig, log: (line: string) => void = () => {}): Promise<SlowConsumerResult> {
  const s = config.slow;
  log(`slow consumer: ${s.rate} msg/s for ${s.durationMs} ms, one node of four reading a tenth of its share`);
  const relay = await startRelay({ maxOutboundBytes: s.maxOutboundBytes });
  const nodes = new Child('slow-nodes', 'bench/slow-consumer/nodes-process.ts');
  const samples: Array<[number, number]> = [];
  let sampling = true;
  try {
    const first = await relay.sample();
    const t0 = performance.now();
    samples.push([0, first.rss]);
    const sampler = (async () => {
      while (sampling) {
        await sleep(s.sampleMs);
        const x = await relay.sample().catch(() => undefined);
        if (x) samples.push([Math.round(performance.now() - t0), x.rss]);
      }
    })();
    nodes.send({ cmd: 'run', port: relay.port, rate: s.rate, durationMs: s.durationMs, messageBytes: s.messageBytes, drainMs: s.drainMs });
    const result = await nodes.next('result', s.durationMs + s.drainMs + 60_000);
    sampling = false;
    await sampler;
    const last = await relay.sample();

    const perHost = result.perHost as HostTally[];
    const sum = (f: (h: HostTally) => number): number => perHost.reduce((n, h) => n + f(h), 0);
    const sent = Number(result.sent);
    const rejected = Number(result.rejected);
    const reportedDelivered = sum((h) => h.delivered);
    const reportedOverflow = sum((h) => h.overflow);
    const reportedOther = sum((h) => h.other);
    const consumed = sum((h) => h.consumed);
    const unaccounted = sent - consumed - reportedOverflow - reportedOther - rejected;
    const problems: string[] = [];
    if (unaccounted !== 0) problems.push(`${unaccounted} messages neither consumed nor reported undelivered`);
    for (const h of perHost) {
      if (h.consumed !== h.delivered)
        problems.push(`${h.host}: reports said ${h.delivered} delivered, ${h.consumed} reached the consumer loop`);
      if (h.delivered + h.overflow + h.other > h.sent) problems.push(`${h.host}: more reports than sends`);
    }
    if (Number(result.settled) !== sent) problems.push(`${sent - Number(result.settled)} sends never settled`);
    if (!result.drained) problems.push('the slow consumer did not catch up in time');
    const relayOverflows = last.stats!.overflows - first.stats!.overflows;
    if (relayOverflows !== reportedOverflow) problems.push(`relay counted ${relayOverflows} overflows, reports said ${reportedOverflow}`);
    const rss = samples.map(([, r]) => r);
    return {
      ok: problems.length === 0,
      rate: s.rate,
      seconds: Number(result.seconds),
      messageBytes: s.messageBytes,
      maxOutboundBytes: s.maxOutboundBytes,
      sent,
      reportedDelivered,
      reportedOverflow,
      reportedOther,
      rejected,
      rejections: result.rejections as Record<string, number>,
      consumed,
      unaccounted,
      perHost: perHost.map(({ host, slow, sent, delivered, overflow, consumed }) => ({ host, slow, sent, delivered, overflow, consumed })),
      relayOverflows,
      rss: { startBytes: first.rss, peakBytes: Math.max(last.peakRss, ...rss), endBytes: last.rss, samples },
      problems,
    };
  } finally {
    sampling = false;
    await nodes.stop();
    await relay.stop();
  }
}
