/**
 * Every ```ts / ```typescript block in README.md, docs/*.md and
 * examples/**\/README.md compiles against the package's types under the
 * strictest settings a user may have (test/package/pack.ts).
 *
 * Each block is one module of a single in-memory program (`imrelay` mapped to
 * src/index.ts). It gets the names of snippet-prelude.ts it does not declare
 * itself (`secret`, `sockets`, `message`, `storeOffline`), plus whatever a
 * hidden comment right before the block declares:
 *
 *     <!-- snippet-context: import { RelayClient } from 'imrelay'; declare const relay: RelayClient; -->
 *     ```ts
 *
 * A block marked ```ts nocompile is skipped; reserve that for deliberately
 * partial shapes (an interface excerpt) and list it in NOT_COMPILED below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { STRICT_COMPILER_OPTIONS, repoRoot } from '../package/pack.js';

/** The blocks allowed to be marked `nocompile`: file, and the start of their code. */
const NOT_COMPILED: ReadonlyArray<{ file: string; startsWith: string }> = [];

const PRELUDE = join(repoRoot, 'test/docs/snippet-prelude.ts');
const SNIPPET_DIR = join(repoRoot, 'test/docs/__snippets__');
/** A module with a known mistake, to prove the snippets are really checked. */
const CONTROL = join(SNIPPET_DIR, 'control.mts');

interface Snippet {
  /** Relative to the repository, e.g. `docs/legacy.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Columns of indentation removed from every line (blocks inside list items). */
  indent: number;
  code: string;
  nocompile: boolean;
  /** From a `<!-- snippet-context: ... -->` comment right before the block. */
  context?: { code: string; line: number };
}

function markdownFiles(): string[] {
  const files = ['README.md'];
  for (const f of readdirSync(join(repoRoot, 'docs')).sort()) if (f.endsWith('.md')) files.push(`docs/${f}`);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name === 'README.md') files.push(path);
    }
  };
  walk('examples');
  return files;
}

/** The TypeScript blocks of one markdown file. */
function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', lang = '', rest = ''] = open;
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^ *${fence[0]}{${fence.length},}\\s*$`).test(lines[end]!)) end++;
    if (lang === 'ts' || lang === 'typescript') {
      const code = lines
        .slice(i + 1, end)
        .map((l) => l.replace(new RegExp(`^ {0,${indent.length}}`), ''))
        .join('\n');
      snippets.push({
        file,
        line: i + 1,
        indent: indent.length,
        code,
        nocompile: /\bnocompile\b/.test(rest),
        context: contextBefore(lines, i),
      });
    }
    i = end;
  }
  return snippets;
}

/** A `<!-- snippet-context: ... -->` comment ending on the last non-blank line before `fenceIndex`. */
function contextBefore(lines: string[], fenceIndex: number): Snippet['context'] {
  let last = fenceIndex - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  if (last < 0 || !lines[last]!.trim().endsWith('-->')) return undefined;
  let first = last;
  while (first >= 0 && !lines[first]!.includes('<!--')) first--;
  if (first < 0) return undefined;
  const comment = lines
    .slice(first, last + 1)
    .join('\n')
    .replace(/^\s*<!--/, '')
    .replace(/-->\s*$/, '');
  const m = /^\s*snippet-context:([\s\S]*)$/.exec(comment);
  return m ? { code: m[1]!.trim(), line: first + 1 } : undefined;
}

/** Names declared at the top level of `code` (which a prelude import would clash with). */
function declaredNames(code: string): Set<string> {
  const sf = ts.createSourceFile('x.mts', code, ts.ScriptTarget.ES2022, false);
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => bind(d.name));
    else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) names.add(st.name.text);
    else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isModuleDeclaration(st)) names.add(st.name.getText(sf));
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const { name, namedBindings } = st.importClause;
      if (name) names.add(name.text);
      if (namedBindings && ts.isNamespaceImport(namedBindings)) names.add(namedBindings.name.text);
      else namedBindings?.elements.forEach((e) => names.add(e.name.text));
    }
  }
  return names;
}

const PRELUDE_NAMES = ['secret', 'sockets', 'message', 'storeOffline'];

/** The module compiled for a snippet, and how to map its lines back to the markdown. */
function snippetModule(s: Snippet): { path: string; text: string; headerLines: number } {
  const context = s.context?.code ?? '';
  const own = declaredNames(`${context}\n${s.code}`);
  const wanted = PRELUDE_NAMES.filter((n) => !own.has(n));
  const importLine = wanted.length > 0 ? `import { ${wanted.join(', ')} } from '../snippet-prelude.js';` : '';
  const header = [importLine, ...(context ? context.split('\n') : [])];
  const path = join(SNIPPET_DIR, `${s.file.replace(/[^\w]+/g, '_')}_${s.line}.mts`);
  return { path, text: `${header.join('\n')}\n${s.code}\n`, headerLines: header.length };
}

const snippets = markdownFiles().flatMap((f) => extractSnippets(f, readFileSync(join(repoRoot, f), 'utf8')));
const compiled = snippets.filter((s) => !s.nocompile);
const modules = new Map(compiled.map((s) => [s, snippetModule(s)]));

let program: ts.Program;

beforeAll(() => {
  const { options, errors } = ts.convertCompilerOptionsFromJson(STRICT_COMPILER_OPTIONS, repoRoot);
  if (errors.length > 0) throw new Error(errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('\n'));
  Object.assign(options, {
    noEmit: true,
    moduleDetection: ts.ModuleDetectionKind.Force,
    typeRoots: [join(repoRoot, 'node_modules/@types')],
    paths: { imrelay: [join(repoRoot, 'src/index.ts')] },
  } satisfies ts.CompilerOptions);

  const virtual = new Map([...modules.values()].map((m) => [m.path, m.text]));
  virtual.set(CONTROL, "import { RelayServer } from 'imrelay';\nnew RelayServer({ prot: 8333 });\n");
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, language, onError, create) => {
    const text = virtual.get(f);
    return text === undefined ? getSourceFile.call(host, f, language, onError, create) : ts.createSourceFile(f, text, language, true);
  };
  program = ts.createProgram({ rootNames: [PRELUDE, ...virtual.keys()], options, host });
}, 120_000);

/** A diagnostic as `file:line:col TSnnnn message`, located in the markdown when it is in a snippet. */
function format(d: ts.Diagnostic, s?: Snippet, headerLines = 0): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
  if (!d.file || d.start === undefined) return `TS${d.code} ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  if (!s) return `${relative(repoRoot, d.file.fileName)}:${line + 1}:${character + 1} TS${d.code} ${message}`;
  if (line >= headerLines) return `${s.file}:${s.line + 1 + line - headerLines}:${character + 1 + s.indent} TS${d.code} ${message}`;
  const where = s.context ? `${s.file}:${s.context.line} (snippet-context)` : `${s.file}:${s.line} (prelude import)`;
  return `${where} TS${d.code} ${message}`;
}

describe('documentation snippets', () => {
  it('are found', () => {
    expect(compiled.length).toBeGreaterThan(5);
    expect(snippets.map((s) => s.file)).toContain('README.md');
  });

  it('compile with a sound prelude and settings', () => {
    const found = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...program.getSyntacticDiagnostics(program.getSourceFile(PRELUDE)),
      ...program.getSemanticDiagnostics(program.getSourceFile(PRELUDE)),
    ].map((d) => format(d));
    expect(found, `\n${found.join('\n')}\n`).toEqual([]);
  });

  it('are really type-checked against imrelay (a misspelled option fails)', () => {
    const found = program.getSemanticDiagnostics(program.getSourceFile(CONTROL)).map((d) => format(d));
    expect(found).toEqual([expect.stringMatching(/control\.mts:2:\d+ TS2353 .*'prot'/)]);
  });

  it('skip compiling only the listed exceptions', () => {
    const skipped = snippets.filter((s) => s.nocompile);
    const unlisted = skipped
      .filter((s) => !NOT_COMPILED.some((n) => n.file === s.file && s.code.trimStart().startsWith(n.startsWith)))
      .map((s) => `${s.file}:${s.line}`);
    expect(unlisted, 'mark a block `nocompile` only for a deliberately partial shape, and list it in NOT_COMPILED').toEqual([]);
    const stale = NOT_COMPILED.filter((n) => !skipped.some((s) => s.file === n.file && s.code.trimStart().startsWith(n.startsWith)));
    expect(stale, 'NOT_COMPILED lists a block that is gone or compiled again').toEqual([]);
  });

  for (const s of compiled) {
    it(`${s.file}:${s.line}`, () => {
      const m = modules.get(s)!;
      const sf = program.getSourceFile(m.path);
      expect(sf, `${m.path} is not in the program`).toBeDefined();
      const found = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map((d) => format(d, s, m.headerLines));
      expect(found, `\n${found.join('\n')}\n\nas compiled:\n${m.text}`).toEqual([]);
    });
  }
});
