import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { which } from '../bench/lib/which.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Alone it takes under a minute; beside the rest of the suite on two cores, up to twice that.
const LIMIT_MS = 120_000;

/** Runs the bench with tiny counts; SIGTERM (the bench then ends its own processes) at the time limit. */
function quickBench(): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--no-write'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

describe('bench --quick', () => {
  it(
    'runs every scenario and prints the results table',
    async () => {
      const { code, stdout, stderr, timedOut } = await quickBench();
      const context = `stderr:\n${stderr.slice(-3000)}`;
      expect(timedOut, context).toBe(false);
      expect(code, context).toBe(0);
      expect(stdout).toContain('| Scenario | System |');
      expect(stdout).toContain('| Case | System |');
      expect(stdout).toContain('imrelay mesh');
      expect(stdout).toContain('## Slow consumer');
      expect(stdout).toMatch(/ok: nothing dropped silently/);
      if (!which('redis-server')) expect(stdout + stderr).toContain('apt-get install -y redis-server');
      if (!which('nats-server')) expect(stdout + stderr).toContain('apt-get install -y nats-server');
    },
    LIMIT_MS + 15_000,
  );
});
