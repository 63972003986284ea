// Export a key's evidence bundle from the compliance API (GET /v1/evidence/keys/{id}), as an auditor would.
// Usage: KMS_TOKEN=<compliance-officer token> npx tsx scripts/export-evidence.ts <key-id> [--url http://127.0.0.1:8080]
//          [--from ISO] [--to ISO] [--out file.tar] [--key-out attestation.pem]
// The call is authenticated and audited like any other; the bundle is written as a ustar archive.
import { BUNDLE_FILES, readTar } from '@kms/ledger';
import { writeFileSync } from 'node:fs';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<number> {
  const keyId = args[0];
  const token = process.env['KMS_TOKEN'];
  if (!keyId || keyId.startsWith('--') || !token) {
    process.stderr.write('usage: KMS_TOKEN=<token> export-evidence <key-id> [--url URL] [--from ISO] [--to ISO] [--out FILE] [--key-out PEM]\n');
    return 2;
  }
  const base = option(args, '--url') ?? 'http://127.0.0.1:8080';
  const query = new URLSearchParams();
  for (const name of ['from', 'to']) {
    const v = option(args, `--${name}`);
    if (v) query.set(name, v);
  }
  const res = await fetch(`${base}/v1/evidence/keys/${encodeURIComponent(keyId)}${query.size > 0 ? `?${query}` : ''}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) {
    process.stderr.write(`export refused: HTTP ${res.status} ${await res.text()}\n`);
    return 1;
  }
  const tar = Buffer.from(await res.arrayBuffer());
  const out = option(args, '--out') ?? `evidence-${keyId}.tar`;
  writeFileSync(out, tar);
  const keyOut = option(args, '--key-out');
  // The bundled key is a convenience: an auditor verifies with the key the KMS publishes, not this copy.
  if (keyOut) writeFileSync(keyOut, readTar(tar).get(BUNDLE_FILES.attestationKey) ?? '');
  process.stdout.write(`wrote ${out} (${tar.length} bytes)\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`export failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
