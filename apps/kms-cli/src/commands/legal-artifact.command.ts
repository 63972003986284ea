import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { CliUsageError } from '../request/cli-usage.error';

type Io = { stdout: (s: string) => void; stderr: (s: string) => void };

export interface LegalArtifactRegisterOptions {
  jurisdiction: string;
  kind: string;
  title: string;
  owner: string;
  retentionLocation: string;
  /** Upload this file (its SHA-256 is computed by the server, and checked here against the answer). */
  file?: string;
  /** Its media type (default from the extension: .pdf application/pdf, else application/octet-stream). */
  mediaType?: string;
  /** Or reference a document by https URL, with the SHA-256 you state for it. */
  url?: string;
  sha256?: string;
  supersedes?: string;
}

/** The largest upload the server accepts (10 MiB): refused here before sending. */
const MAX_UPLOAD = 10 * 1024 * 1024;

function mediaTypeOf(file: string): string {
  const ext = extname(file).toLowerCase();
  return ext === '.pdf' ? 'application/pdf' : ext === '.txt' ? 'text/plain' : ext === '.docx' ? 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' : 'application/octet-stream';
}

async function answer(res: Response, io: Io, expectedSha256?: string): Promise<number> {
  const text = await res.text();
  if (res.status !== 201) {
    io.stderr(`legal-artifact refused: HTTP ${res.status} ${text}\n`);
    return 1;
  }
  const { artifact, ledgerRecordId } = JSON.parse(text) as { artifact: { artifactId: string; jurisdiction: string; kind: string; sha256: string; hashOrigin: string }; ledgerRecordId: string };
  if (expectedSha256 && artifact.sha256 !== expectedSha256) {
    io.stderr(`the server recorded SHA-256 ${artifact.sha256}, not the file's ${expectedSha256}: the upload was altered on the way\n`);
    return 1;
  }
  io.stdout(
    `registered ${artifact.kind} ${artifact.artifactId} in ${artifact.jurisdiction}: SHA-256 ${artifact.sha256} (${artifact.hashOrigin}); ledger record ${ledgerRecordId} ` +
      `(GET /v1/ledger/events/inclusion?recordId=${ledgerRecordId} once a checkpoint covers it)\n`,
  );
  return 0;
}

/**
 * `kms legal-artifact register`: a legal appendix document of a jurisdiction (docs/jurisdictions.md),
 * uploaded (`--file`, POST /v1/legal-artifacts/uploads) or referenced (`--url` and `--sha256`,
 * POST /v1/legal-artifacts). Returns the exit code.
 */
export async function legalArtifactRegister(httpUrl: string, token: string | undefined, options: LegalArtifactRegisterOptions, io: Io): Promise<number> {
  if (!token) throw new CliUsageError('legal-artifact needs a token: set KMS_TOKEN or --token (a compliance-officer or security-engineering person)', 'token');
  if ((options.file === undefined) === (options.url === undefined)) throw new CliUsageError('give either --file (upload the document) or --url with --sha256 (reference it)', 'file');
  const fields = { jurisdiction: options.jurisdiction, kind: options.kind, title: options.title, owner: options.owner, retentionLocation: options.retentionLocation, ...(options.supersedes ? { supersedes: options.supersedes } : {}) };
  const auth = { authorization: `Bearer ${token}` };
  if (options.file !== undefined) {
    const size = statSync(options.file).size;
    if (size > MAX_UPLOAD) throw new CliUsageError(`--file: ${options.file} is ${size} bytes; uploads are at most ${MAX_UPLOAD} bytes (10 MiB): register it by --url and --sha256`, 'file');
    const content = readFileSync(options.file);
    const query = new URLSearchParams({ ...fields, fileName: basename(options.file) });
    const res = await fetch(`${httpUrl}/v1/legal-artifacts/uploads?${query.toString()}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': options.mediaType ?? mediaTypeOf(options.file) },
      body: content,
    });
    return answer(res, io, createHash('sha256').update(content).digest('hex'));
  }
  if (!options.sha256) throw new CliUsageError('--url needs --sha256: the SHA-256 of the referenced document (the KMS fetches nothing)', 'sha256');
  const res = await fetch(`${httpUrl}/v1/legal-artifacts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...fields, url: options.url, sha256: options.sha256 }) });
  return answer(res, io);
}

/** `kms legal-artifact withdraw <id> --reason`: the artifact stays listed, WITHDRAWN. */
export async function legalArtifactWithdraw(httpUrl: string, token: string | undefined, id: string, reason: string, io: Io): Promise<number> {
  if (!token) throw new CliUsageError('legal-artifact needs a token: set KMS_TOKEN or --token', 'token');
  const res = await fetch(`${httpUrl}/v1/legal-artifacts/${encodeURIComponent(id)}/withdrawal`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason }) });
  const text = await res.text();
  if (res.status !== 200) {
    io.stderr(`withdrawal refused: HTTP ${res.status} ${text}\n`);
    return 1;
  }
  const { ledgerRecordId } = JSON.parse(text) as { ledgerRecordId: string };
  io.stdout(`withdrew ${id}; ledger record ${ledgerRecordId}\n`);
  return 0;
}

/** `kms legal-artifact list [--jurisdiction] [--status] [--json]`: the legal appendix per jurisdiction. */
export async function legalArtifactList(httpUrl: string, token: string | undefined, options: { jurisdiction?: string; status?: string; json?: boolean }, io: Io): Promise<number> {
  if (!token) throw new CliUsageError('legal-artifact needs a token: set KMS_TOKEN or --token', 'token');
  const query = new URLSearchParams({ ...(options.jurisdiction ? { jurisdiction: options.jurisdiction } : {}), ...(options.status ? { status: options.status } : {}) });
  const res = await fetch(`${httpUrl}/v1/legal-artifacts${query.size > 0 ? `?${query.toString()}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) {
    io.stderr(`legal-artifact list refused: HTTP ${res.status} ${text}\n`);
    return 1;
  }
  if (options.json) {
    io.stdout(`${text}\n`);
    return 0;
  }
  const body = JSON.parse(text) as { jurisdictions: Array<{ jurisdiction: string; artifacts: Array<{ artifactId: string; kind: string; status: string; title: string; sha256: string; owner: string; retentionLocation: string }> }> };
  for (const j of body.jurisdictions) {
    io.stdout(`${j.jurisdiction}: ${j.artifacts.length} artifact(s)\n`);
    for (const a of j.artifacts) io.stdout(`  ${a.artifactId}  ${a.kind}  ${a.status}  "${a.title}"  owner ${a.owner}  kept at ${a.retentionLocation}  sha256 ${a.sha256}\n`);
  }
  return 0;
}
