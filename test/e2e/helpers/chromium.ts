// Debian's chromium, driven by playwright-core with a fresh profile.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The path of the system's chromium; throws, saying how to install it, when there is none. */
export function chromiumPath(): string {
  try {
    const path = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    if (path) return path;
  } catch {
    // `which` exits 1 when there is no such command.
  }
  throw new Error('chromium is not installed, and the browser tests need it: run `bash scripts/setup-system.sh`');
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches chromium with a profile of its own, removed on close. */
export async function launchChromium(viewport = { width: 1200, height: 800 }): Promise<Browser> {
  const executablePath = chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), 'imrelay-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: ARGS, viewport });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}
