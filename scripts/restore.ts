// `scripts/restore.sh <backup dir> --database URL --attestation-pem FILE (--jwks FILE... | --jwks-url URL)`
// (docs/backup-and-drills.md): the monthly restore drill. Verifies the backup, restores its dump into an
// empty staging database, re-runs the migrations, replays the event store, checks the ledger against its
// signed checkpoints, runs verifyChain on each tenant's recent RPTs and prints the drill report.
// Configuration is the KMS's own (libs/config: the master key or HSM, whose history seal key checks the
// restored events), plus KMS_ADDRESS and KMS_TOKEN: the backup workload (DECRYPT on kms-backup), which
// unwraps the data key. The attestation public key comes from
// `kms get-key-origin-statement --get attestation_public_key_pem`.
import { verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '@kms/config';
import { createKmsClient } from '@kms/contracts';
import type { JwkSetFile } from '@kms/evidence';
import { EventSealer } from '@kms/event-store';
import { createPkcs11Hsm, historySealKeys } from '@kms/key-backend-pkcs11';
import { loadMasterKey } from '@kms/key-backend-software';
import { basename } from 'node:path';
import { recordDrillRequest } from '../apps/kms-cli/src/commands/drill.command';
import { BackupJobError } from '../apps/key-service/src/backup/backup.job';
import { DEFAULT_RPT_WINDOW, runRestoreDrill } from '../apps/key-service/src/backup/restore.job';

/** Restoring over a live database needs a second person's approval, which this script cannot obtain (docs). */
const OVER_LIVE_REFUSED =
  'restoring over a live database is not done by this script: it needs a second person\'s approval (DualAuthorization), which a script cannot obtain yet; restore into a staging database and switch the services over to it by configuration';

/** The JWK Set of a tenant: from the files given (all their keys, by kid) or fetched from the URL with {tenant}. */
function jwksSource(files: string[], urlTemplate: string | undefined): (tenant: string) => Promise<JwkSetFile> {
  if (files.length > 0) {
    const keys = files.flatMap((f) => {
      const parsed = JSON.parse(readFileSync(f, 'utf8')) as JwkSetFile;
      if (!Array.isArray(parsed.keys)) throw new BackupJobError(`${f} is not a JWK Set ({"keys": [...]})`, 'jwks');
      return parsed.keys;
    });
    return async () => ({ keys });
  }
  if (!urlTemplate) throw new BackupJobError('give the JWK Set of the tenants\' root keys (--jwks FILE, or --jwks-url with {tenant})', 'jwks');
  return async (tenant) => {
    const res = await fetch(urlTemplate.replace('{tenant}', encodeURIComponent(tenant)));
    if (!res.ok) throw new Error(`${tenant}: the JWK Set could not be fetched (HTTP ${res.status})`);
    return (await res.json()) as JwkSetFile;
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      database: { type: 'string' },
      'attestation-pem': { type: 'string' },
      jwks: { type: 'string', multiple: true, default: [] },
      'jwks-url': { type: 'string' },
      'rpt-window': { type: 'string' },
      'over-live': { type: 'boolean', default: false },
      'record-drill': { type: 'boolean', default: false },
      participants: { type: 'string', multiple: true, default: [] },
      'follow-up': { type: 'string', multiple: true, default: [] },
    },
  });
  if (values['over-live']) throw new BackupJobError(OVER_LIVE_REFUSED, 'over-live');
  const archive = positionals[0];
  if (!archive) throw new BackupJobError('give the backup directory to restore', 'archive');
  if (!values.database) throw new BackupJobError('give the staging database URL (--database)', 'database');
  if (!values['attestation-pem']) throw new BackupJobError('give the attestation public key PEM (--attestation-pem)', 'attestation-pem');
  const rptWindow = values['rpt-window'] === undefined ? DEFAULT_RPT_WINDOW : Number(values['rpt-window']);
  if (!Number.isSafeInteger(rptWindow) || rptWindow < 1) throw new BackupJobError('must be a positive whole number of tokens', 'rpt-window');
  const jwksFor = jwksSource(values.jwks ?? [], values['jwks-url']);
  const token = process.env.KMS_TOKEN;
  if (!token) throw new BackupJobError('the backup workload token is required (kms issue-token)', 'KMS_TOKEN');
  // The drill record is a person's act (RecordDrill is for people): their token, from kms login.
  const drillToken = process.env.KMS_DRILL_TOKEN;
  if (values['record-drill'] && !drillToken) throw new BackupJobError('--record-drill needs the token of a person who took part (kms login)', 'KMS_DRILL_TOKEN');
  if (values['record-drill'] && (values.participants ?? []).length === 0) throw new BackupJobError('--record-drill needs the participants (--participants)', 'participants');
  const config = loadConfig(process.env);
  const publicKeyPem = readFileSync(values['attestation-pem'], 'utf8');
  const masterKey = await loadMasterKey(config.masterKey);
  const hsm = config.hsm.enabled ? createPkcs11Hsm(config.hsm) : undefined;
  await hsm?.pool.connect();
  const client = createKmsClient(process.env.KMS_ADDRESS ?? `${config.grpc.host}:${config.grpc.port}`);
  try {
    const sealKeys = await historySealKeys(hsm?.pool, masterKey, { createRoot: false });
    const report = await runRestoreDrill(
      archive,
      values.database,
      { config, sealer: new EventSealer(sealKeys.events), attestationPublicKeyPem: publicKeyPem, ledgerOrigin: config.auditProjector.ledgerOrigin, jwksFor, rptWindow, now: () => new Date() },
      {
        verify: async (data, sig) => verify('sha256', data, publicKeyPem, sig),
        unwrap: async (w) => (await client.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: Buffer.from(w.ciphertext, 'base64') }, { token })).plaintext,
        stdout: (s) => process.stdout.write(s),
      },
    );
    if (values['record-drill'] && drillToken) {
      const request = recordDrillRequest({
        date: report.startedAt.slice(0, 10),
        participants: values.participants ?? [],
        archive: basename(archive),
        outcome: report.outcome === 'passed' ? 'PASSED' : 'FAILED',
        followUp: values['follow-up'] ?? [],
      });
      const r = await client.call<{ recorded?: { drill_id: string; follow_ups: Array<{ follow_up_id: number; owner: string; due_date: string }> } }>('RecordDrill', request, { token: drillToken });
      process.stdout.write(`drill recorded\t${r.recorded?.drill_id ?? ''}\n`);
      for (const f of r.recorded?.follow_ups ?? []) process.stdout.write(`follow-up\t${f.follow_up_id}\t${f.owner}\tdue ${f.due_date}\n`);
    }
    return report.outcome === 'passed' ? 0 : 2;
  } finally {
    client.close();
    await hsm?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`restore refused: ${e instanceof BackupJobError ? `${e.field}: ` : ''}${(e as Error).message}\n`);
    process.exit(1);
  },
);
