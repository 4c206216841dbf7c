// @ts-check
// ESLint flat config: @eslint/js recommended + typescript-eslint recommended
// (syntax only, no type information: fast enough for every commit; `tsc`
// already checks types). Formatting is prettier's job: eslint-config-prettier
// comes last and turns off every rule that would fight it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig([
  // Build output, generated and captured files: nothing here is written by hand.
  globalIgnores(['dist/', 'coverage/', 'bench/results/', '.scratch/', 'test/**/fixtures/']),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: globals.node,
    },
    linterOptions: {
      // A disable comment that no longer disables anything is stale: report it.
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // `_`-prefixed names mark a parameter, binding or caught error that is
      // deliberately unused (a callback's fixed signature, a skipped tuple slot).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `(...args: any[]) => void` is the one listener type that accepts every
      // typed listener: with strictFunctionTypes, `unknown[]` rejects
      // `(code: number) => void`. Any other `any` is still reported.
      '@typescript-eslint/no-explicit-any': ['error', { ignoreRestArgs: true }],
    },
  },

  // The chat demo's page runs in the browser.
  {
    files: ['examples/chat/public/**/*.js'],
    languageOptions: { globals: globals.browser },
  },

  prettier,
]);
