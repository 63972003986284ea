import { writeFileSync } from 'node:fs';
import { BUNDLE_FILES, readTar } from '@kms/ledger';
import { CliUsageError } from '../request/cli-usage.error';
import { progressBar, type ProgressSink } from './progress';

export interface ExportEvidenceOptions {
  from?: string;
  to?: string;
  out?: string;
  keyOut?: string;
  progress: 'auto' | 'on' | 'off';
}

/**
 * `kms export-evidence <key_id>`: a key's evidence bundle from the compliance API
 * (GET /v1/evidence/keys/{id}, a compliance-officer or security-engineering token), downloaded with a
 * progress bar and written as the ustar archive an auditor verifies offline
 * (`npx tsx scripts/verify-evidence-bundle.ts bundle.tar attestation.pem`). Returns the exit code.
 */
export async function exportEvidence(
  httpUrl: string,
  token: string | undefined,
  keyId: string,
  options: ExportEvidenceOptions,
  io: { stdout: (s: string) => void; stderr: (s: string) => void; progressStream: ProgressSink },
): Promise<number> {
  if (!token) throw new CliUsageError('export-evidence needs a token: set KMS_TOKEN or --token (a compliance-officer or security-engineering person)', 'token');
  for (const [name, v] of [
    ['from', options.from],
    ['to', options.to],
  ] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) throw new CliUsageError(`--${name} must be an RFC 3339 time, got "${v}"`, name);
  }
  const query = new URLSearchParams();
  if (options.from) query.set('from', options.from);
  if (options.to) query.set('to', options.to);
  const url = `${httpUrl}/v1/evidence/keys/${encodeURIComponent(keyId)}${query.size > 0 ? `?${query}` : ''}`;
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 || !res.body) {
    io.stderr(`export refused: HTTP ${res.status} ${await res.text()}\n`);
    return 1;
  }
  const total = Number(res.headers.get('content-length') ?? 0);
  const bar = progressBar(io.progressStream, options.progress, total > 0 ? 'evidence [{bar}] {value}/{total} bytes | ETA {eta}s' : 'evidence {value} bytes');
  bar?.start(total > 0 ? total : 0, 0);
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      received += chunk.length;
      if (total === 0) bar?.setTotal(received);
      bar?.update(received);
    }
  } finally {
    bar?.stop();
  }
  const tar = Buffer.concat(chunks);
  const out = options.out ?? `evidence-${keyId}.tar`;
  writeFileSync(out, tar);
  // The bundled key is a convenience: an auditor verifies with the key the KMS publishes
  // (GetKeyOriginStatement's attestation_public_key_pem), not with this copy.
  if (options.keyOut) writeFileSync(options.keyOut, readTar(tar).get(BUNDLE_FILES.attestationKey) ?? '');
  io.stdout(`wrote ${out} (${tar.length} bytes)${options.keyOut ? ` and ${options.keyOut}` : ''}\n`);
  return 0;
}
