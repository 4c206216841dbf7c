/**
 * Builds imrelay the way a user receives it (an `npm pack` tarball) and sets
 * up throwaway projects that install it, for the package tests. Nothing is
 * written inside the repository: the working tree is copied to a temporary
 * directory and built there, so a test run never touches the shared `dist/`.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const tscBin = join(repoRoot, 'node_modules/typescript/bin/tsc');

/**
 * The strictest settings a user of the package may compile with, as tsconfig
 * JSON: the package's types and every documented snippet must pass them.
 */
export const STRICT_COMPILER_OPTIONS = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  target: 'ES2022',
  lib: ['ES2022'],
  types: ['node'],
} as const;

/** Generous: a cold build plus a pack, on two shared cores. */
export const PACKAGE_TEST_TIMEOUT_MS = 180_000;

export interface RunResult {
  status: number | null;
  /** stdout and stderr, in that order. */
  output: string;
  stdout: string;
}

export function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): RunResult {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  const stdout = r.stdout ?? '';
  const error = r.error ? `\n${String(r.error)}` : '';
  return { status: r.status, stdout, output: `${stdout}${r.stderr ?? ''}${error}`.trim() };
}

/** A fresh directory under the OS temp dir, far from any node_modules of this repo. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `imrelay-${prefix}-`));
  if (dir.startsWith(repoRoot + sep)) throw new Error(`temp dir ${dir} is inside the repository`);
  return dir;
}

export function removeDir(dir: string | undefined): void {
  if (dir && !process.env.IMRELAY_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
}

// Never copied: installed packages, git state, old build output, scratch.
const NOT_COPIED = new Set(['.git', 'dist', 'coverage', '.scratch', 'node_modules']);

/**
 * Copies the working tree into `workDir`, builds it and packs it. Lets npm run
 * the package's own `prepack`/`prepare` scripts when it has them (as
 * `npm publish` would); builds with `npm run build` first when it has neither.
 * Returns the tarball's path.
 */
export function packImrelay(workDir: string): string {
  const tree = join(workDir, 'tree');
  cpSync(repoRoot, tree, {
    recursive: true,
    filter: (from) => !NOT_COPIED.has(basename(from)) || relative(repoRoot, from) === '',
  });
  symlinkSync(join(repoRoot, 'node_modules'), join(tree, 'node_modules'), 'dir');

  const pkg = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const builtByPack = Boolean(pkg.scripts?.prepack ?? pkg.scripts?.prepare);
  if (!builtByPack) {
    const build = run('npm', ['run', 'build'], tree);
    if (build.status !== 0) throw new Error(`npm run build failed (${build.status}):\n${build.output}`);
  }
  const out = join(workDir, 'tarball');
  mkdirSync(out);
  const pack = run('npm', ['pack', '--pack-destination', out], tree);
  const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
  if (pack.status !== 0 || tarballs.length !== 1) {
    throw new Error(`npm pack failed (${pack.status}, tarballs: ${tarballs.join(', ') || 'none'}):\n${pack.output}`);
  }
  return join(out, tarballs[0]!);
}

/**
 * Creates a project at `dir` with `node_modules/imrelay` unpacked from the
 * tarball and only imrelay's runtime dependency and Node's types beside it
 * (as symlinks into this repo's node_modules). ioredis, an optional peer
 * dependency, is deliberately absent.
 */
export function makeProject(dir: string, tarball: string): void {
  const modules = join(dir, 'node_modules');
  const pkgDir = join(modules, 'imrelay');
  mkdirSync(pkgDir, { recursive: true });
  const untar = run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], dir);
  if (untar.status !== 0) throw new Error(`tar failed:\n${untar.output}`);
  mkdirSync(join(modules, '@types'));
  symlinkSync(join(repoRoot, 'node_modules/eventemitter3'), join(modules, 'eventemitter3'), 'dir');
  symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(modules, '@types/node'), 'dir');
}

/**
 * Where `specifier` would be found from `dir` by Node's lookup (which is also
 * how TypeScript looks for a package's types), or undefined: every
 * `node_modules` from `dir` up to the root.
 */
export function findPackageFrom(dir: string, specifier: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    for (const candidate of [join(d, 'node_modules', specifier), join(d, 'node_modules/@types', specifier)]) {
      if (existsSync(candidate)) return candidate;
    }
    if (dirname(d) === d) break;
  }
  try {
    return createRequire(join(dir, 'noop.js')).resolve(specifier);
  } catch {
    return undefined;
  }
}

/** One diagnostic of `tsc --pretty false`, its continuation lines joined. */
export interface TscDiagnostic {
  file: string;
  text: string;
}

/** Splits `tsc --pretty false` output into diagnostics, paths made relative to `root`. */
export function parseTscOutput(output: string, root: string): TscDiagnostic[] {
  const diagnostics: TscDiagnostic[] = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const last = diagnostics[diagnostics.length - 1];
    if (/^\s/.test(line) && last) {
      last.text += `\n${line}`;
      continue;
    }
    const m = /^(.+?)\(\d+,\d+\): /.exec(line);
    const file = m ? relative(root, resolve(root, m[1]!)) : '';
    diagnostics.push({ file, text: m ? line.replace(m[1]!, file) : line });
  }
  return diagnostics;
}
