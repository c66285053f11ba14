// Lint rules for src/, test/, bench/ and examples/ (typescript-eslint's recommended set); formatting is prettier's job.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'src/wasm/', 'bench/wasm/', 'results/', 'models/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  // the examples are plain Node.js scripts
  { files: ['examples/**/*.mjs'], languageOptions: { globals: { console: 'readonly', process: 'readonly' } } },
);
