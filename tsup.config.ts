import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

// No source maps: the bundles are not minified and keep their names, so a stack
// trace through dist/ already reads as the source does, and a map would point at
// src/ files the package does not ship (or carry them all as sourcesContent,
// which more than doubled the tarball). Tests, benches and the demo run the
// TypeScript sources through tsx, where stack traces are exact.
//
// keepNames: esbuild renames a class whose name collides in the bundle (errors
// printed as `_RelayError`); keepNames restores `RelayError.name` and the
// names in stack traces and `util.inspect`.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: false,
    keepNames: true,
    clean: true,
    target: 'node20',
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: false,
    keepNames: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    define: { __VERSION__: JSON.stringify(version) },
  },
]);
