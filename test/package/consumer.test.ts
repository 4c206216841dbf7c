/**
 * The package as a user gets it: `npm pack`ed, unpacked into a fresh project
 * that has no ioredis (an optional peer dependency), compiled with the
 * strictest settings a user may have, then run under Node.
 *
 * The consumer sources are test/package/consumer/*.txt (an ESM and a CommonJS
 * file following the README, with `@ts-expect-error` lines for mistakes the
 * types must catch).
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PACKAGE_TEST_TIMEOUT_MS,
  STRICT_COMPILER_OPTIONS,
  findPackageFrom,
  makeProject,
  makeTempDir,
  packImrelay,
  parseTscOutput,
  removeDir,
  repoRoot,
  run,
  tscBin,
  type RunResult,
  type TscDiagnostic,
} from './pack.js';

const SECRETS = ['s3cret-value', 'older-secret'];

let work: string | undefined;
let project = '';
let compile: RunResult | undefined;
let diagnostics: TscDiagnostic[] = [];

beforeAll(() => {
  work = makeTempDir('consumer');
  const tarball = packImrelay(work);
  project = join(work, 'project');
  makeProject(project, tarball);
  mkdirSync(join(project, 'src'));
  copyFileSync(join(repoRoot, 'test/package/consumer/esm.mts.txt'), join(project, 'src/esm.mts'));
  copyFileSync(join(repoRoot, 'test/package/consumer/cjs.cts.txt'), join(project, 'src/cjs.cts'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'imrelay-consumer', private: true }, null, 2));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...STRICT_COMPILER_OPTIONS, rootDir: 'src', outDir: 'out' }, include: ['src'] }, null, 2),
  );
  compile = run(process.execPath, [tscBin, '-p', 'tsconfig.json', '--pretty', 'false'], project);
  diagnostics = parseTscOutput(compile.stdout, project);
}, PACKAGE_TEST_TIMEOUT_MS);

afterAll(() => removeDir(work));

/** The diagnostics whose file passes `which`, as text. */
function diagnosticsOf(which: (file: string) => boolean): string[] {
  return diagnostics.filter((d) => which(d.file)).map((d) => d.text);
}

/** Asserts that `which` files have no diagnostics, printing them readably when they do. */
function expectClean(which: (file: string) => boolean): void {
  const found = diagnosticsOf(which);
  expect(found, `\n${found.join('\n')}\n`).toEqual([]);
}

function tscOutput(): string {
  return `\ntsc output:\n${compile?.output ?? '(tsc did not run)'}\n`;
}

describe('a strict TypeScript project without ioredis', () => {
  it('has no ioredis within reach', () => {
    expect(findPackageFrom(project, 'ioredis'), 'ioredis must not be resolvable from the consumer').toBeUndefined();
    expect(findPackageFrom(join(project, 'node_modules/imrelay/dist'), 'ioredis')).toBeUndefined();
  });

  it('installs the packed package with its types for import and require', () => {
    for (const file of ['package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      expect(existsSync(join(project, 'node_modules/imrelay', file)), `tarball lacks ${file}`).toBe(true);
    }
  });

  it("compiles imrelay's published declarations (skipLibCheck: false)", () => {
    expectClean((f) => f.startsWith('node_modules/imrelay/'));
  });

  it('compiles the ESM consumer (src/esm.mts)', () => {
    expectClean((f) => f === 'src/esm.mts');
  });

  it('compiles the CommonJS consumer (src/cjs.cts)', () => {
    expectClean((f) => f === 'src/cjs.cts');
  });

  it('reports nothing anywhere else', () => {
    const elsewhere = diagnosticsOf((f) => !f.startsWith('node_modules/imrelay/') && f !== 'src/esm.mts' && f !== 'src/cjs.cts');
    expect(elsewhere, tscOutput()).toEqual([]);
    if (diagnostics.length === 0) expect(compile?.status, tscOutput()).toBe(0);
  });
});

describe('the compiled consumers, run', () => {
  // tsc emits despite type errors, so these run (and say what they say) even
  // while the compile tests above fail.
  const runs = new Map<'esm' | 'cjs', { result: RunResult; facts: Record<string, unknown> | undefined }>();

  beforeAll(() => {
    for (const [kind, file] of [
      ['esm', 'out/esm.mjs'],
      ['cjs', 'out/cjs.cjs'],
    ] as const) {
      const result = existsSync(join(project, file))
        ? run(process.execPath, [file], project, 60_000)
        : { status: null, stdout: '', output: `${file} was not emitted${tscOutput()}` };
      const last = result.stdout.trim().split('\n').pop() ?? '';
      let facts: Record<string, unknown> | undefined;
      try {
        facts = JSON.parse(last) as Record<string, unknown>;
      } catch {
        facts = undefined;
      }
      runs.set(kind, { result, facts });
    }
  }, 150_000);

  for (const kind of ['esm', 'cjs'] as const) {
    describe(kind === 'esm' ? 'ESM (out/esm.mjs)' : 'CommonJS (out/cjs.cjs)', () => {
      const facts = (): Record<string, unknown> => {
        const r = runs.get(kind)!;
        expect(r.result.status, `node exited with ${r.result.status}:\n${r.result.output}`).toBe(0);
        expect(r.facts, `no JSON facts on the last line:\n${r.result.output}`).toBeDefined();
        return r.facts!;
      };

      it('runs to the end', () => {
        facts();
      });

      it('prints errors with their class name (util.inspect)', () => {
        const f = facts();
        const firstLines = Object.fromEntries(
          Object.entries(f)
            .filter(([k]) => k.startsWith('inspect'))
            .map(([k, v]) => [k, String(v).split('\n')[0]]),
        );
        expect(firstLines.inspectRelayError).toMatch(/^RelayError\b/);
        expect(firstLines.inspectTimeoutError).toMatch(/^TimeoutError\b/);
        if (kind === 'esm') expect(firstLines.inspectCjsRelayError).toMatch(/^RelayError\b/);
      });

      it('matches errors with instanceof across the ESM and CommonJS builds', () => {
        const cross = facts().crossBuild as Record<string, boolean>;
        expect(Object.keys(cross).length).toBeGreaterThan(0);
        expect(cross).toEqual(Object.fromEntries(Object.keys(cross).map((k) => [k, true])));
      });

      it('never shows a secret in util.inspect or JSON.stringify', () => {
        const f = facts();
        const shown = Object.entries(f).filter(([k]) => /Inspect|Json/.test(k));
        expect(shown.length).toBeGreaterThanOrEqual(3);
        const leaks = shown.flatMap(([k, v]) => SECRETS.flatMap((s) => secretLeaks(k, String(v), s)));
        expect(leaks).toEqual([]);
      });
    });
  }
});

/**
 * Every way `secret` may show in `text`: as text, or its bytes as hex (a
 * Buffer's inspect), base64, or decimals (a Buffer's JSON, a Uint8Array's
 * inspect). Each leak is described with the text around it.
 */
function secretLeaks(label: string, text: string, secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const squeezed = text.replace(/\s+/g, '');
  const forms: Array<[form: string, haystack: string, needle: string]> = [
    ['text', text, secret],
    ['hex bytes', squeezed.toLowerCase(), bytes.toString('hex')],
    ['base64', squeezed, bytes.toString('base64').replace(/=+$/, '')],
    ['decimal bytes', squeezed, Array.from(bytes).join(',')],
  ];
  const leaks: string[] = [];
  for (const [form, haystack, needle] of forms) {
    const at = haystack.indexOf(needle);
    if (at < 0) continue;
    const around = haystack.slice(Math.max(0, at - 60), at + needle.length + 20);
    leaks.push(`${label} shows ${JSON.stringify(secret)} as ${form}: …${around}…`);
  }
  return leaks;
}
