// `scripts/backup.sh [--target DIR]... [--include-master-key]`: the nightly backup (docs/backup-and-drills.md).
// Configuration is the KMS's own (libs/config: KMS_DATABASE_URL, KMS_DATABASE_SCHEMA, KMS_STATE_DIR, the HSM,
// the master key), plus KMS_ADDRESS, KMS_BACKUP_KEY_ID (or --key-id: the kms-backup key) and KMS_TOKEN: the backup workload's token (GENERATE_DATA_KEY on kms-backup),
// or KMS_BACKUP_CLIENT_ID and KMS_BACKUP_CLIENT_SECRET, exchanged for one with IssueToken (the Kubernetes CronJob).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AttestationSigner } from '@kms/application';
import { SoftwareAttestationSigner } from '@kms/audit-projector';
import { loadConfig } from '@kms/config';
import { createKmsClient, type KmsClient } from '@kms/contracts';
import { createPkcs11Hsm, historySealKeys } from '@kms/key-backend-pkcs11';
import { loadMasterKey } from '@kms/key-backend-software';
import { AuditSealer, createPgPool, PostgresAuditLog } from '@kms/persistence-postgres';
import { BackupJobError, runBackup } from '../apps/key-service/src/backup/backup.job';

/** The backup workload's token: KMS_BACKUP_CLIENT_ID and KMS_BACKUP_CLIENT_SECRET exchanged with IssueToken. */
async function workloadToken(client: KmsClient): Promise<string> {
  const clientId = process.env.KMS_BACKUP_CLIENT_ID;
  const clientSecret = process.env.KMS_BACKUP_CLIENT_SECRET;
  if (!clientId || !clientSecret) throw new BackupJobError('the backup workload token is required (kms issue-token), or KMS_BACKUP_CLIENT_ID and KMS_BACKUP_CLIENT_SECRET', 'KMS_TOKEN');
  return (await client.call<{ access_token: string }>('IssueToken', { client_id: clientId, client_secret: clientSecret })).access_token;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { target: { type: 'string', multiple: true, default: [] }, 'include-master-key': { type: 'boolean', default: false }, 'key-id': { type: 'string' }, config: { type: 'string', multiple: true, default: [] } },
  });
  const config = loadConfig(process.env);
  const client = createKmsClient(process.env.KMS_ADDRESS ?? `${config.grpc.host}:${config.grpc.port}`);
  let token: string;
  try {
    token = process.env.KMS_TOKEN ?? (await workloadToken(client));
  } catch (e) {
    client.close();
    throw e;
  }
  const masterKey = await loadMasterKey(config.masterKey);
  const hsm = config.hsm.enabled ? createPkcs11Hsm(config.hsm) : undefined;
  await hsm?.pool.connect();
  const pool = createPgPool(config.postgres, { max: 2, application_name: 'kms-backup' });
  try {
    // The attestation key signs the manifest: the HSM's in production, else derived from the master key.
    const signer: AttestationSigner = hsm?.attestationSigner ?? SoftwareAttestationSigner.fromSeed(masterKey.derive('audit-attestation-v1'));
    const sealKeys = await historySealKeys(hsm?.pool, masterKey, { createRoot: false });
    const audit = new PostgresAuditLog(pool, new AuditSealer(sealKeys.audit), { maxBatch: 1 });
    const artifacts = [
      ...(config.hsm.enabled ? [{ archivePath: 'state/hsm', source: resolve(config.stateDir, 'hsm') }] : []),
      ...(values.config ?? []).map((c) => ({ archivePath: `config/${c.split('/').pop() ?? c}`, source: c })),
      ...(values['include-master-key'] && config.masterKey.kind === 'file' ? [{ archivePath: 'state/master.key', source: config.masterKey.path }] : []),
    ];
    try {
      await runBackup(
        { targets: values.target ?? [], backupKeyId: values['key-id'] ?? process.env.KMS_BACKUP_KEY_ID ?? '', database: { url: config.postgres.migrationUrl ?? config.postgres.url, schema: config.postgres.schema }, artifacts, now: new Date() },
        { client, token, signer, anchor: (r) => audit.append(r), stdout: (s) => process.stdout.write(s) },
      );
    } finally {
      await audit.close();
    }
    return 0;
  } finally {
    client.close();
    await pool.end();
    await hsm?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`backup failed: ${e instanceof BackupJobError ? `${e.field}: ` : ''}${(e as Error).message}\n`);
    process.exit(1);
  },
);
