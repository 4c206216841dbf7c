/**
 * The `imrelay` command as a real process, run from the sources: its output
 * collected, waited on line by line, and killed after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const children: ChildProcess[] = [];

/** Kills, after each test of the calling file, every process {@link imrelay} started. */
export function useCliProcesses(): void {
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
}

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output: () => string;
  exit: Promise<number | null>;
}

/** Runs `imrelay ...args` (stdout and stderr piped) and collects its output. */
export function imrelay(args: string[]): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exit };
}

/** Waits for `pattern` in the output; throws if the process exits first. */
export async function waitForLine(output: () => string, pattern: RegExp, child: ChildProcess): Promise<RegExpMatchArray> {
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match;
    if (child.exitCode !== null) throw new Error(`exited early:\n${output()}`);
    await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')]);
  }
}
