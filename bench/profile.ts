/**
 * Where the time goes: runs one process of a scenario under `node
 * --cpu-prof` and sums the profile's self time per function and per file,
 * counting only the samples taken inside the measuring window.
 *
 *   node --import tsx bench/profile.ts [--case=relay-1h] [--quick]
 *       the relay process during a capacity run (cases: relay-1h,
 *       relay-1h-report, relay-10h, relay-10h-report)
 *   node --import tsx bench/profile.ts --nodes [--workload=small] [--system=imrelay-redis] [--quick]
 *       the RelayClient node process during an end-to-end peak run
 *
 * The profile is kept in bench/results/profile/ (git-ignored); the summary
 * is printed and written to bench/results/profile-<what>.md.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELAY_CASES, runRelayCapacity } from './capacity/relay.js';
import { runEndToEnd } from './e2e/scenario.js';
import { benchConfig } from './lib/config.js';
import { summarizeProfile } from './lib/cpuprofile.js';
import { dec, int } from './lib/format.js';
import { describeMachine, machineInfo } from './lib/machine.js';
import { RESULTS_DIR } from './lib/paths.js';

const argv = process.argv.slice(2);
const value = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = argv.includes('--quick');
const nodes = argv.includes('--nodes');
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const dir = join(RESULTS_DIR, 'profile');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const profileFlags = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'];
const config = benchConfig(quick);
if (!quick) {
  config.capacity.measureMs = 5_000;
  config.e2e.measureMs = 5_000;
}

let title: string;
let figures: string;
let window: { fromMicros: number; toMicros: number } | undefined;
let name: string;
if (nodes) {
  const workload = value('workload') ?? 'small';
  const system = value('system') ?? 'imrelay';
  const { rows, errors } = await runEndToEnd(config, {
    log,
    systems: [system],
    workloads: [workload],
    modes: ['peak'],
    nodesExecArgv: profileFlags,
  });
  const row = rows[0];
  if (!row || errors.length > 0 || row.skipped) {
    log(`the run failed: ${errors.join('; ') || row?.skipped}`);
    process.exit(1);
  }
  name = system === 'imrelay' ? `nodes-${workload}` : `nodes-${system}-${workload}`;
  title = `RelayClient node process, end to end: ${row.workloadLabel}, peak`;
  figures =
    `During the run: ${int(row.messagesPerSecond)} msg/s, ${dec(row.nodeCpuMicrosPerMessage)} µs of node-process CPU per message ` +
    `(2 senders and ${row.workload === 'fanout' ? 10 : 4} receivers in the process; the profiler itself costs some).`;
  window = row.window;
} else {
  const kase = value('case') ?? 'relay-1h';
  const spec = RELAY_CASES.find((c) => c.id === kase);
  if (!spec) {
    log(`unknown case ${kase}; one of ${RELAY_CASES.map((c) => c.id).join(', ')}`);
    process.exit(2);
  }
  const [row] = await runRelayCapacity(config, { only: [kase], relayExecArgv: profileFlags, log });
  if (!row) process.exit(1);
  name = kase;
  title = `Relay process, capacity run: ${spec.label}`;
  figures = `During the run: ${int(row.framesPerSecond)} frames/s, ${dec(row.cpuMicrosPerFrame)} µs of relay CPU per frame (the profiler itself costs some).`;
  window = row.window;
}

// Each thread of the process writes a profile (tsx's loader runs in a worker): take the busiest.
const profiles = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => ({ file: f, summary: summarizeProfile(join(dir, f), 25, window) }))
  .sort((a, b) => b.summary.busyMicros - a.summary.busyMicros);
if (profiles.length === 0) {
  log('no profile was written');
  process.exit(1);
}
const { file, summary } = profiles[0]!;
const lines: string[] = [
  `# CPU profile: ${title}`,
  '',
  `${describeMachine(machineInfo())}. ${figures}`,
  summary.windowed
    ? `Samples from the measuring window only: busy ${dec(summary.busyMicros / 1000)} ms, idle ${dec(summary.idleMicros / 1000)} ms.`
    : `Busy ${dec(summary.busyMicros / 1000)} ms, idle ${dec(summary.idleMicros / 1000)} ms, over the process's whole life (start-up included).`,
  '',
  '## Self time by function',
  '',
  '| self % | self ms | function | where |',
  '| --- | --- | --- | --- |',
  ...summary.functions.map((f) => `| ${dec(f.percent)} | ${dec(f.micros / 1000)} | ${f.name} | ${f.where} |`),
  '',
  '## Self time by file',
  '',
  '| self % | self ms | file |',
  '| --- | --- | --- |',
  ...summary.files.map((f) => `| ${dec(f.percent)} | ${dec(f.micros / 1000)} | ${f.name} |`),
  '',
  `Profile: bench/results/profile/${file}`,
  '',
];
process.stdout.write(lines.join('\n'));
writeFileSync(join(RESULTS_DIR, `profile-${name}.md`), lines.join('\n'));
