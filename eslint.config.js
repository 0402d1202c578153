// ESLint (typescript-eslint) for the whole repository, and the layering rule of the codebase's layout:
// core imports nothing of ours; model only core; worker only model and core; ui and element never model.
// test/unit/layering.test.ts checks the same from the import graph; this rule says it in the editor.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ours = (...dirs) => dirs.flatMap((d) => [`**/${d}/*`, `**/${d}/**`, `../${d}/*`, `../../${d}/*`]);
const layer = (files, forbidden, why) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message: why }] }] },
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'test-results/**',
      'playwright-report/**',
      'test/fixtures/generated/**',
      '.cache/**',
      'training/**',
      'public/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Non-null assertions mark indices the code has just checked; the type checker cannot see that.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  layer(
    ['src/core/**/*.ts'],
    [...ours('model', 'worker', 'ui', 'element', 'test', 'scripts'), '@tensorflow/*', 'comlink'],
    'src/core is pure TypeScript: it imports nothing of ours outside core, and no tfjs.',
  ),
  layer(
    ['src/model/**/*.ts'],
    ours('worker', 'ui', 'element', 'test', 'scripts'),
    'src/model imports only src/core (and tfjs).',
  ),
  layer(
    ['src/worker/**/*.ts'],
    ours('ui', 'element', 'test', 'scripts'),
    'src/worker imports only src/model and src/core.',
  ),
  layer(
    ['src/ui/**/*.ts', 'src/element/**/*.ts', 'src/main.ts'],
    [...ours('model', 'test', 'scripts'), '@tensorflow/*'],
    'The page and the element reach the model only through the worker client.',
  ),
);
