/**
 * The nodes of the slow-consumer run: one sender (RelayClient, reports on)
 * offering a fixed rate, one host per message in turn over four receivers,
 * one of which consumes at a tenth of the rate it is sent. Every send's
 * report is tallied: delivered, or undelivered with its reason. When the
 * sending time is up, the slow consumer speeds up so that everything the
 * relay accepted can be counted as it reaches the consumer loop.
 *
 * Command: run {port, rate, durationMs, messageBytes, drainMs}. Events:
 * sending-done, result.
 */
import { RelayClient, type SendReport } from '../../src/index.js';
import { textFor } from '../e2e/workloads.js';
import { sleep, waitUntil } from '../lib/time.js';
import { emit, serve } from '../lib/worker.js';

interface SlowRun {
  port: number;
  rate: number;
  durationMs: number;
  messageBytes: number;
  drainMs: number;
}

const RECEIVERS = 4;
const SLOW = 3;
const FACTOR = 10;
const USERS = 5;

async function run(cfg: SlowRun): Promise<object> {
  const url = `tcp://127.0.0.1:${cfg.port}`;
  const hosts = Array.from({ length: RECEIVERS }, (_, i) => `r${i}`);
  const receivers = hosts.map((id) => new RelayClient({ url, nodeId: id, reconnect: false }));
  const sender = new RelayClient({ url, nodeId: 's0', reconnect: false, reportTimeoutMs: 30_000 });
  await Promise.all([...receivers, sender].map((c) => c.connect()));

  const perHost = hosts.map((host, i) => ({ host, slow: i === SLOW, sent: 0, delivered: 0, overflow: 0, other: 0, consumed: 0 }));
  let rejected = 0;
  const rejections = new Map<string, number>();
  let settled = 0;
  let sent = 0;

  // The slow node reads a tenth of what it is sent: (rate / hosts) / 10 per second, until told to hurry.
  const slowRate = cfg.rate / RECEIVERS / FACTOR / 1000;
  let hurry = false;
  const start = performance.now();
  const loops = receivers.map(async (client, i) => {
    const stats = perHost[i]!;
    for await (const _ of client) {
      stats.consumed++;
      if (i === SLOW && !hurry) {
        const ahead = stats.consumed - slowRate * (performance.now() - start);
        if (ahead > 0) await sleep(Math.ceil(ahead / slowRate));
      }
    }
  });

  const text = textFor(cfg.messageBytes);
  const users = hosts.map((h) => Array.from({ length: USERS }, (_, k) => `${h}-u${k}`));
  const tally =
    (i: number) =>
    (report: SendReport): void => {
      settled++;
      const stats = perHost[i]!;
      if (report.delivered.length > 0) stats.delivered++;
      for (const host of Object.keys(report.offline)) {
        if (report.reasons?.[host] === 'overflow') stats.overflow++;
        else stats.other++;
      }
    };
  const fail = (err: unknown): void => {
    settled++;
    rejected++;
    const code = (err as { code?: string }).code ?? String(err);
    rejections.set(code, (rejections.get(code) ?? 0) + 1);
  };
  const tallies = hosts.map((_, i) => tally(i));

  const pacer = setInterval(() => {
    const due = Math.floor((cfg.rate * (performance.now() - start)) / 1000);
    while (sent < due && sent - settled < 20_000) {
      const i = sent % RECEIVERS;
      perHost[i]!.sent++;
      sent++;
      sender.send({ [hosts[i]!]: users[i]! }, { id: sent, t: performance.now(), text }).then(tallies[i], fail);
    }
  }, 1);
  await sleep(cfg.durationMs);
  clearInterval(pacer);
  const sendSeconds = (performance.now() - start) / 1000;
  await waitUntil(() => settled === sent, 35_000, 10);
  emit('sending-done', { sent, settled });

  hurry = true;
  const drained = await waitUntil(() => perHost.every((h) => h.consumed >= h.delivered), cfg.drainMs, 10);
  await sleep(100); // anything beyond what the reports promised would show up now
  await sender.close();
  for (const r of receivers) await r.close();
  await Promise.race([Promise.all(loops), sleep(5000)]);

  return {
    seconds: sendSeconds,
    sent,
    settled,
    drained,
    rejected,
    rejections: Object.fromEntries(rejections),
    perHost,
  };
}

serve(async (command) => {
  if (command.cmd === 'run') emit('result', await run(command as unknown as SlowRun));
  else emit('error', { message: `unknown command ${command.cmd}` });
});
