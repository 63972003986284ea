/**
 * Rotation policy check for CI/CD gates: `npx tsx scripts/policy-check.ts [--now <ISO time>] [--grace-hours <n>] [--json]`.
 * Reads every key from the event store (KMS_DATABASE_URL, KMS_DATABASE_SCHEMA) and lists keys overdue
 * for rotation, with a rotation period longer than their purpose allows, with retired versions kept
 * beyond retention, or with destructions past due. Exit 0: no violation (a summary is printed);
 * 1: violations (listed); 2: the check could not run. See docs/rotation-scheduler.md.
 */
import { PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool } from '@kms/persistence-postgres';
import { checkRotationPolicy, formatPolicyReport, readAllKeys } from '@kms/rotation-scheduler';

class UsageError extends Error {}

interface Options {
  now: Date;
  graceMs: number;
  json: boolean;
}

function parseArgs(args: string[]): Options {
  const options: Options = { now: new Date(), graceMs: 0, json: false };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=', 2);
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--now') {
      const t = Date.parse(value());
      if (!Number.isFinite(t)) throw new UsageError('--now must be an ISO-8601 time');
      options.now = new Date(t);
    } else if (flag === '--grace-hours') {
      const h = Number(value());
      if (!Number.isFinite(h) || h < 0) throw new UsageError('--grace-hours must be a number of hours, at least 0');
      options.graceMs = h * 3_600_000;
    } else if (flag === '--json') options.json = true;
    else throw new UsageError(`unknown option ${args[i]}`);
  }
  return options;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`policy-check: ${e.message}\nusage: policy-check [--now <ISO time>] [--grace-hours <n>] [--json]`);
    return 2;
  }
  const url = process.env['KMS_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/kms';
  const schema = process.env['KMS_DATABASE_SCHEMA'] ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    console.error('policy-check: KMS_DATABASE_SCHEMA must be a lower-case SQL identifier');
    return 2;
  }
  const pool = createPgPool({ url, schema }, { max: 2, application_name: 'kms-policy-check' });
  const store = new PostgresEventStore(pool);
  try {
    // Read-only (a CI role may not create tables): a store never written to has no keys.
    const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('events')::text AS t");
    const keys = exists.rows[0]?.t ? await readAllKeys(store) : [];
    const report = checkRotationPolicy(keys, options.now, { graceMs: options.graceMs });
    console.log(options.json ? JSON.stringify(report, null, 2) : formatPolicyReport(report));
    return report.violations.length === 0 ? 0 : 1;
  } finally {
    await store.close();
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Never echo the database URL: it may carry a password.
    const message = (e instanceof Error ? e.message : String(e)).replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]');
    console.error(`policy-check: could not read the event store: ${message}`);
    process.exit(2);
  },
);
