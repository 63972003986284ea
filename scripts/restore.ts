// `scripts/restore.sh <backup dir> --database URL --attestation-pem FILE` (docs/backup-and-drills.md): verifies the
// backup, then restores its dump into an empty staging database. KMS_ADDRESS and KMS_TOKEN: the backup workload
// (DECRYPT on kms-backup), which unwraps the data key. The attestation public key comes from
// `kms get-key-origin-statement --get attestation_public_key_pem`.
import { verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createKmsClient } from '@kms/contracts';
import { BackupJobError } from '../apps/key-service/src/backup/backup.job';
import { restoreIntoStaging } from '../apps/key-service/src/backup/restore.job';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { database: { type: 'string' }, 'attestation-pem': { type: 'string' } } });
  const archive = positionals[0];
  if (!archive) throw new BackupJobError('give the backup directory to restore', 'archive');
  if (!values.database) throw new BackupJobError('give the staging database URL (--database)', 'database');
  if (!values['attestation-pem']) throw new BackupJobError('give the attestation public key PEM (--attestation-pem)', 'attestation-pem');
  const token = process.env.KMS_TOKEN;
  if (!token) throw new BackupJobError('the backup workload token is required (kms issue-token)', 'KMS_TOKEN');
  const publicKeyPem = readFileSync(values['attestation-pem'], 'utf8');
  const client = createKmsClient(process.env.KMS_ADDRESS ?? '127.0.0.1:50051');
  try {
    await restoreIntoStaging(archive, values.database, {
      verify: async (data, sig) => verify('sha256', data, publicKeyPem, sig),
      unwrap: async (w) => (await client.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: Buffer.from(w.ciphertext, 'base64') }, { token })).plaintext,
      stdout: (s) => process.stdout.write(s),
    });
    return 0;
  } finally {
    client.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`restore refused: ${e instanceof BackupJobError ? `${e.field}: ` : ''}${(e as Error).message}\n`);
    process.exit(1);
  },
);
