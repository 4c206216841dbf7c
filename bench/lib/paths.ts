import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (two levels above this file). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where result files are written. */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** An absolute path inside the repository. */
export function repoPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}
