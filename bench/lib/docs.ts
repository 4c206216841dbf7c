/** Puts the latest results into docs/performance.md, between its result markers. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { renderMarkdown } from './markdown.js';
import { repoPath } from './paths.js';
import type { Results } from './results.js';

export const DOC = repoPath('docs', 'performance.md');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

/** Rewrites the results block; returns false when the doc or its markers are missing. */
export function updateDoc(r: Results): boolean {
  if (!existsSync(DOC)) return false;
  const text = readFileSync(DOC, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return false;
  const body = renderMarkdown(r, { title: false }).replace(/^## /gm, '### ').trim();
  const block = [START, '', body, '', '![Throughput and p99 per system and scenario](../bench/results/latest.svg)', '', END].join('\n');
  writeFileSync(DOC, text.slice(0, a) + block + text.slice(b + END.length));
  return true;
}
