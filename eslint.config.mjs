import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.vscode-test/**', 'testFixtures/models/**', 'artifacts/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-console': 'error',
    },
  },
  {
    // The core is plain logic shared by the editor and the CLI: it must not depend on VS Code.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'src/core must not import vscode; put VS Code glue in src/extension.' }],
          // The protocol is built on core types, never the other way round.
          patterns: [{ group: ['**/shared/*'], message: 'src/core must not import src/shared; src/shared imports the core.' }],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Users' custom scorers are CommonJS files.
    files: ['testFixtures/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
);
