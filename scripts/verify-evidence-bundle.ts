// Offline verifier of a KMS evidence bundle (docs/audit-and-evidence.md).
// Usage: npx tsx scripts/verify-evidence-bundle.ts <bundle.tar | bundle-directory> <attestation-public-key.pem>
// Needs nothing but the bundle and the KMS's published attestation public key. Exit 0 when every check
// passes, 1 when one fails (the report names the file), 2 on a usage error.
import { formatBundleReport, readTar, verifyEvidenceBundle } from '@kms/ledger';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function readDirectory(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(root, path).split(sep).join('/'), readFileSync(path));
    }
  };
  walk(root);
  return files;
}

function main(argv: string[]): number {
  const [bundle, pemPath] = argv;
  if (!bundle || !pemPath) {
    process.stderr.write('usage: verify-evidence-bundle <bundle.tar | directory> <attestation-public-key.pem>\n');
    return 2;
  }
  let files: Map<string, Buffer>;
  let pem: string;
  try {
    files = statSync(bundle).isDirectory() ? readDirectory(bundle) : readTar(readFileSync(bundle));
    pem = readFileSync(pemPath, 'utf8');
  } catch (e) {
    process.stderr.write(`cannot read the bundle or the key: ${(e as Error).message}\n`);
    return 2;
  }
  const result = verifyEvidenceBundle(files, pem);
  process.stdout.write(`Evidence bundle ${bundle}\n${formatBundleReport(result)}`);
  return result.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
