import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CliUsageError } from '../request/cli-usage.error';

export interface ExportAuditOptions {
  from: string;
  to: string;
  /** Where the JSON lines go (default audit-<from>-<to>.ocsf.jsonl). */
  out?: string;
  /** Where the manifest goes (default <out>.manifest.json). */
  manifestOut?: string;
}

/**
 * `kms export-audit --from --to`: the audit records of a window as OCSF JSON lines
 * (GET /v1/audit/export?format=ocsf) and their manifest (GET /v1/audit/export/manifest), written to two
 * files; refuses when the extract's SHA-256 is not the manifest's. Returns the exit code.
 */
export async function exportAudit(
  httpUrl: string,
  token: string | undefined,
  options: ExportAuditOptions,
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
): Promise<number> {
  if (!token) throw new CliUsageError('export-audit needs a token: set KMS_TOKEN or --token (a compliance-officer or security-engineering person)', 'token');
  for (const [name, v] of [
    ['from', options.from],
    ['to', options.to],
  ] as const) {
    if (v === undefined || Number.isNaN(Date.parse(v))) throw new CliUsageError(`--${name} must be an RFC 3339 time, got "${String(v)}"`, name);
  }
  const query = new URLSearchParams({ from: options.from, to: options.to, format: 'ocsf' });
  const headers = { authorization: `Bearer ${token}` };
  const extractRes = await fetch(`${httpUrl}/v1/audit/export?${query}`, { headers });
  if (extractRes.status !== 200) {
    io.stderr(`export refused: HTTP ${extractRes.status} ${await extractRes.text()}\n`);
    return 1;
  }
  const extract = Buffer.from(await extractRes.arrayBuffer());
  const manifestRes = await fetch(`${httpUrl}/v1/audit/export/manifest?${query}`, { headers });
  if (manifestRes.status !== 200) {
    io.stderr(`manifest refused: HTTP ${manifestRes.status} ${await manifestRes.text()}\n`);
    return 1;
  }
  const manifest = Buffer.from(await manifestRes.arrayBuffer());
  const sha256 = createHash('sha256').update(extract).digest('hex');
  if ((JSON.parse(manifest.toString('utf8')) as { sha256?: string }).sha256 !== sha256) {
    io.stderr('the extract does not match its manifest (records were added to the window between the two requests?): export again\n');
    return 1;
  }
  const out = options.out ?? `audit-${options.from}-${options.to}.ocsf.jsonl`.replace(/:/g, '');
  const manifestOut = options.manifestOut ?? `${out}.manifest.json`;
  writeFileSync(out, extract);
  writeFileSync(manifestOut, manifest);
  io.stdout(`wrote ${out} (${extract.length} bytes, SHA-256 ${sha256}) and ${manifestOut}\n`);
  return 0;
}
