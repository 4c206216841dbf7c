/**
 * Every type a user meets in the package's public signatures must be
 * importable from `imrelay`: the built `dist/index.d.ts` of the packed
 * package, read with the TypeScript compiler API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findUnexportedTypes, type ExportReport } from './exported-types.js';
import { PACKAGE_TEST_TIMEOUT_MS, STRICT_COMPILER_OPTIONS, makeProject, makeTempDir, packImrelay, removeDir } from './pack.js';

function compilerOptions(dir: string): ts.CompilerOptions {
  const { options, errors } = ts.convertCompilerOptionsFromJson(STRICT_COMPILER_OPTIONS, dir);
  if (errors.length > 0) throw new Error(ts.formatDiagnostics(errors, ts.createCompilerHost({})));
  return options;
}

function describeUnexported(report: ExportReport): string[] {
  return report.unexported.map((t) => `${t.name} (${t.declaredAt}), used by ${t.usedBy.join(', ')}`);
}

describe('the check itself', () => {
  let dir: string | undefined;
  afterAll(() => removeDir(dir));

  it('finds unexported types in public signatures, and only there', () => {
    dir = makeTempDir('exports-self-test');
    mkdirSync(join(dir, 'pkg'));
    const entry = join(dir, 'pkg/index.d.ts');
    writeFileSync(
      entry,
      [
        'interface Hidden { a: Nested }',
        'interface Nested { b: number }',
        'type Shape = { c: Hidden } | Named;',
        'interface Named { d: string; kind: typeof Kinds.A }',
        'declare const Kinds: { readonly A: 1 };',
        'interface OnlyPrivate { e: number }',
        'interface OnlyProtected { f: number }',
        'declare class Widget<T extends Named = Named> { private x; protected p: OnlyProtected; #q; options: T; shape(s: Shape): Promise<Hidden>; }',
        'declare function make(): Widget;',
        'declare const table: Record<string, ReturnType<typeof make>>;',
        'interface Shimmed { g: number }',
        'type inner_Shimmed = Shimmed;',
        'declare namespace inner { export { Named, type inner_Shimmed as Shimmed } }',
        'declare function usesShimmed(): Shimmed;',
        'declare function internal(x: OnlyPrivate): void;',
        'export { Widget, make, table, inner, usesShimmed };',
      ].join('\n'),
    );
    const report = findUnexportedTypes(entry, join(dir, 'pkg'), compilerOptions(dir));
    expect(report.exported).toEqual(['Widget', 'inner', 'inner.Named', 'inner.Shimmed', 'inner.Shimmed', 'make', 'table', 'usesShimmed']);
    expect(describeUnexported(report)).toEqual([
      'Hidden (index.d.ts:1), used by Shape, Widget.shape',
      'Kinds (index.d.ts:5), used by inner.Named.kind',
      'Nested (index.d.ts:2), used by Hidden.a',
      'Shape (index.d.ts:3), used by Widget.shape',
    ]);
  });
});

describe('dist/index.d.ts of the packed package', () => {
  let work: string | undefined;
  let report: ExportReport;

  beforeAll(() => {
    work = makeTempDir('exports');
    const project = join(work, 'project');
    makeProject(project, packImrelay(work));
    const pkg = join(project, 'node_modules/imrelay');
    report = findUnexportedTypes(join(pkg, 'dist/index.d.ts'), pkg, compilerOptions(project));
  }, PACKAGE_TEST_TIMEOUT_MS);

  afterAll(() => removeDir(work));

  it('exports the main API', () => {
    expect(report.exported).toEqual(expect.arrayContaining(['RelayClient', 'RelayServer', 'RelayError', 'RelayClientOptions']));
  });

  it('exports every type used in the signature of an exported declaration', () => {
    const missing = describeUnexported(report);
    expect(missing, `\nNot exported from 'imrelay' but used in its public types:\n  ${missing.join('\n  ')}\n`).toEqual([]);
  });
});
