// Lint: TypeScript rules plus Nx module boundaries (see shared STYLE.md, "Boundaries").
import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/node_modules', '**/dist', '.nx', '.kms-state', 'coverage', 'libs/contracts/src/generated'] },
  {
    // Type-aware rules: a promise nobody awaits loses its error (and, here, can lose an audit record),
    // a promise spread into an object answers {} instead of its fields, and a switch over a union
    // must name every member. The console's .tsx files find their own
    // tsconfig (apps/console/tsconfig.json: DOM, JSX).
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-spread': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          // Standalone mode runs every service's composition in one process, and test harnesses boot
          // the real key service: apps expose their compose through these entry points only (STYLE.md 19).
          allow: ['@kms/key-service-app', '@kms/rotation-scheduler-app', '@kms/audit-projector-app', '@kms/anomaly-detector-app'],
          depConstraints: [
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:util'] },
            { sourceTag: 'type:application', onlyDependOnLibsWithTags: ['type:application', 'type:domain', 'type:util'] },
            {
              sourceTag: 'type:infrastructure',
              onlyDependOnLibsWithTags: ['type:infrastructure', 'type:application', 'type:domain', 'type:util'],
            },
            {
              sourceTag: 'type:feature',
              onlyDependOnLibsWithTags: ['type:feature', 'type:infrastructure', 'type:application', 'type:domain', 'type:util'],
            },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:feature', 'type:infrastructure', 'type:application', 'type:domain', 'type:util'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain is pure: no I/O, no clock, no framework (STYLE.md 1).
    files: ['libs/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['@nestjs/*', 'pg', 'node:fs', 'fs', 'node:net', 'net', '@grpc/*', 'typeorm'] },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Time comes in on the command (metadata.now).' },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Time comes in on the command.' },
      ],
    },
  },
];
