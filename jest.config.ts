/* One jest run over every project. Tiers by suffix (STYLE.md 11):
 *   *.spec.ts      pure and fast
 *   *.int-spec.ts  real PostgreSQL / Redis / SoftHSM2 / Kafka test broker on this machine
 *   *.e2e-spec.ts  a running service driven over gRPC/HTTP by a real client
 * Select a tier with KMS_TEST_TIER=unit|int|e2e.
 */
import type { Config } from 'jest';
import { readFileSync } from 'node:fs';

const tsconfig = JSON.parse(readFileSync(`${__dirname}/tsconfig.base.json`, 'utf8'));
const paths: Record<string, string[]> = tsconfig.compilerOptions.paths;
const moduleNameMapper = Object.fromEntries(
  Object.entries(paths).map(([alias, [target]]) => [`^${alias.replace('/', '\\/')}$`, `<rootDir>/${target}`]),
);

const tiers: Record<string, string[]> = {
  unit: ['**/*.spec.ts'],
  int: ['**/*.int-spec.ts'],
  e2e: ['**/*.e2e-spec.ts'],
};
const tier = process.env.KMS_TEST_TIER;

const config: Config = {
  rootDir: __dirname,
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/infra'],
  testEnvironment: 'node',
  testMatch: tier ? tiers[tier] : [...tiers.unit, ...tiers.int, ...tiers.e2e],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
    // otplib's default plugins (@scure/base, @noble/hashes) ship as ES modules only: compiled to
    // CommonJS for jest, as Node itself loads them with require(esm).
    '^.+/node_modules/(@scure|@noble)/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['^(?!.*/node_modules/(@scure|@noble)/).*/node_modules/'],
  moduleNameMapper,
  testTimeout: 60_000,
  // The summary reporter writes counts for scripts/test.sh when KMS_JEST_SUMMARY is set.
  reporters: ['default', '<rootDir>/scripts/jest-summary.reporter.js'],
  // Integration tests share one PostgreSQL; each test file uses its own schema.
  maxWorkers: 2,
};

export default config;
