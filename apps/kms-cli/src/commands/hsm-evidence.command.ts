import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CliUsageError } from '../request/cli-usage.error';

export interface HsmEvidenceOptions {
  id: string;
  /** Where the PDF goes (default hsm-<id>-attestation.pdf); the canonical JSON goes to <out>.json. */
  out?: string;
}

/**
 * `kms hsm-evidence --id`: one HSM instance's attestation bundle (GET /v1/evidence/hsms/{id}) as PDF and
 * as canonical JSON, each checked against the SHA-256 the server announced and anchored in the ledger
 * (the record id to ask GET /v1/ledger/events/inclusion for is printed). Returns the exit code.
 */
export async function hsmEvidence(
  httpUrl: string,
  token: string | undefined,
  options: HsmEvidenceOptions,
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
): Promise<number> {
  if (!token) throw new CliUsageError('hsm-evidence needs a token: set KMS_TOKEN or --token (a compliance-officer or security-engineering person)', 'token');
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.id)) throw new CliUsageError(`--id must be an HSM instance id (lowercase letters, digits and "-"), got "${options.id}"`, 'id');
  const out = options.out ?? `hsm-${options.id}-attestation.pdf`;
  for (const [format, file] of [
    ['pdf', out],
    ['json', `${out}.json`],
  ] as const) {
    const res = await fetch(`${httpUrl}/v1/evidence/hsms/${options.id}?format=${format}`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) {
      io.stderr(`hsm-evidence refused: HTTP ${res.status} ${await res.text()}\n`);
      return 1;
    }
    const body = Buffer.from(await res.arrayBuffer());
    const sha256 = createHash('sha256').update(body).digest('hex');
    // The PDF's hash is the one anchored; the JSON carries the same facts and statement hash.
    if (format === 'pdf' && res.headers.get('x-kms-bundle-sha256') !== sha256) {
      io.stderr('the PDF received does not match the SHA-256 the server anchored: download it again\n');
      return 1;
    }
    writeFileSync(file, body);
    io.stdout(`wrote ${file} (${body.length} bytes, SHA-256 ${sha256}; statement SHA-256 ${res.headers.get('x-kms-statement-sha256') ?? '?'}; ledger record ${res.headers.get('x-kms-ledger-record-id') ?? '?'})\n`);
  }
  return 0;
}
