/**
 * ESLint (flat config) with typescript-eslint's type-aware rules over every TypeScript file of the
 * project: src, __tests__, __fixtures__, testing, scripts, bench, all in tsconfig.test.json.
 * Formatting is Prettier's job (`npm run format:check`): no stylistic rule is enabled here.
 */
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'node_modules/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' }
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      // TypeScript's convention (noUnusedParameters skips `_` names): `_what` marks a deliberately unused
      // parameter, caught error or array slot; a rest sibling omits a key from a copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true
        }
      ],
      // Type-only imports written as such: erased by the compiler and by ncc, so they never load a module
      // at run time (the push path must not load @kubernetes/client-node: __tests__/unit/sync-lazy.test.ts).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // A promise returned from a try block without await escapes its catch/finally (retry loops, cleanup).
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // Every member of a union handled by a switch on it (error codes, phases, watch event types).
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ['error', 'smart']
    }
  },
  {
    // Plain JavaScript run by Node (the configs, testing/kube/exec-credential.mjs): no type information.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node }
  }
)
