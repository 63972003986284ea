import {
  canonicalJson,
  DESTRUCTION_DECLARATION_TYPE,
  generateCustodianKeys,
  openShare,
  packageFingerprint,
  sealSubmission,
  signCanonicalEd25519,
  type CustodianPrivateKeys,
  type DestructionDeclaration,
  type SealedBox,
} from '@kms/evidence';
import { Command } from 'commander';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CliUsageError } from '../request/cli-usage.error';

/** A sealed package as the KMS hands it to its custodian (EscrowService.seal). */
interface PackageFile {
  ceremonyId: string;
  keyId: string;
  version: number;
  custodianId: string;
  shareIndex: number;
  packageFingerprint: string;
  box: SealedBox;
}

interface KeysFile extends CustodianPrivateKeys {
  custodianId: string;
}

const PRIVATE_MODE = 0o600;

function readJson<T>(path: string, what: string, field: string): T {
  if (!existsSync(path)) throw new CliUsageError(`${field}: no ${what} at ${path}`, field);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    throw new CliUsageError(`${field}: ${path} is not a ${what} (not JSON)`, field);
  }
}

function readKeys(path: string): KeysFile {
  // The private keys must stay the custodian's: a file others can read is refused, as kms login's token is.
  if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) throw new CliUsageError(`keys: ${path} is readable by others; chmod 600 it`, 'keys');
  const keys = readJson<KeysFile>(path, 'custodian key file', 'keys');
  if (!keys.encryptionPrivateKey || !keys.signingPrivateKey || !keys.custodianId) throw new CliUsageError(`keys: ${path} lacks custodianId, encryptionPrivateKey or signingPrivateKey`, 'keys');
  return keys;
}

function readPackage(path: string, keys: KeysFile): PackageFile {
  const pkg = readJson<PackageFile>(path, 'sealed package', 'package');
  if (!pkg.box || !pkg.ceremonyId || typeof pkg.shareIndex !== 'number') throw new CliUsageError(`package: ${path} is not a sealed package`, 'package');
  if (pkg.custodianId !== keys.custodianId) throw new CliUsageError(`package: ${path} is sealed to ${pkg.custodianId}, not to ${keys.custodianId}`, 'package');
  if (packageFingerprint(pkg.box) !== pkg.packageFingerprint) throw new CliUsageError(`package: ${path} does not match its fingerprint (altered or damaged)`, 'package');
  return pkg;
}

function writePrivate(path: string, text: string): void {
  if (existsSync(path)) throw new CliUsageError(`out: ${path} exists; refusing to overwrite it`, 'out');
  writeFileSync(path, text, { mode: PRIVATE_MODE, flag: 'wx' });
}

/**
 * `kms custodian enrol | open-package | counter-sign | submit-share | declare-destroyed`: what a
 * break-glass escrow custodian does on their own machine. Nothing here talks to the KMS; the
 * private keys never leave the 0600 key file.
 */
export function custodianCommand(io: { stdout: (s: string) => void; stderr: (s: string) => void }): Command {
  const cmd = new Command('custodian').description('Break-glass escrow custodian: keys, packages, shares and declarations (offline; see docs/break-glass.md).');
  cmd
    .command('enrol')
    .description('Generate your X25519 (receiving shares) and Ed25519 (signing) key pairs; keep the private keys in a 0600 file; print the public keys to register.')
    .requiredOption('--custodian <id>', 'your identity id in the KMS')
    .requiredOption('--out <file>', 'where to keep your private keys (created with mode 0600, never overwritten)')
    .action((o: { custodian: string; out: string }) => {
      const { publicKeys, privateKeys } = generateCustodianKeys();
      writePrivate(o.out, JSON.stringify({ custodianId: o.custodian, ...privateKeys }, null, 2));
      io.stderr(`private keys written to ${o.out} (mode 0600). Keep them offline; whoever holds them holds your share.\n`);
      io.stdout(`${JSON.stringify({ identityId: o.custodian, ...publicKeys }, null, 2)}\n`);
    });
  cmd
    .command('open-package')
    .description('Decrypt your sealed package and keep the share in a 0600 file (to submit it later); checks the package fingerprint first.')
    .requiredOption('--keys <file>', 'your private key file (kms custodian enrol)')
    .requiredOption('--package <file>', 'the sealed package the KMS handed you')
    .requiredOption('--out <file>', 'where to keep the decrypted share (mode 0600)')
    .action((o: { keys: string; package: string; out: string }) => {
      const keys = readKeys(o.keys);
      const pkg = readPackage(o.package, keys);
      let share: Buffer;
      try {
        share = openShare(keys.encryptionPrivateKey, pkg.box, pkg);
      } catch {
        throw new CliUsageError(`package: ${o.package} does not open with the keys in ${o.keys} (another custodian's package, or altered)`, 'package');
      }
      writePrivate(o.out, share.toString('base64'));
      share.fill(0);
      io.stdout(`share ${pkg.shareIndex} of ceremony ${pkg.ceremonyId} (key ${pkg.keyId} version ${pkg.version}) written to ${o.out}\n`);
    });
  cmd
    .command('counter-sign')
    .description("Counter-sign a sealing transcript with your Ed25519 key: prints the signature to hand to the KMS.")
    .requiredOption('--keys <file>', 'your private key file')
    .requiredOption('--transcript <file>', 'the sealing transcript (JSON)')
    .action((o: { keys: string; transcript: string }) => {
      const keys = readKeys(o.keys);
      const doc = readJson<{ transcript?: unknown }>(o.transcript, 'sealing transcript', 'transcript');
      const transcript = doc.transcript ?? doc;
      io.stdout(`${JSON.stringify({ custodianId: keys.custodianId, signature: signCanonicalEd25519(transcript, keys.signingPrivateKey) })}\n`);
    });
  cmd
    .command('submit-share')
    .description('Encrypt your decrypted share to the ceremony key of a reconstruction (drill or unseal): prints the submission for the KMS.')
    .requiredOption('--keys <file>', 'your private key file')
    .requiredOption('--share <file>', 'the share file written by open-package')
    .requiredOption('--reconstruction-id <id>', 'the reconstruction the KMS opened')
    .requiredOption('--ceremony-key <base64>', 'the ceremony public key the KMS printed (base64 DER)')
    .action((o: { keys: string; share: string; reconstructionId: string; ceremonyKey: string }) => {
      const keys = readKeys(o.keys);
      if (!existsSync(o.share)) throw new CliUsageError(`share: no share file at ${o.share}`, 'share');
      const share = Buffer.from(readFileSync(o.share, 'utf8').trim(), 'base64');
      let box: SealedBox;
      try {
        box = sealSubmission(o.ceremonyKey, share, { reconstructionId: o.reconstructionId, custodianId: keys.custodianId });
      } catch (e) {
        throw new CliUsageError(`ceremony-key: ${(e as Error).message}`, 'ceremony-key');
      } finally {
        share.fill(0);
      }
      io.stdout(`${JSON.stringify({ reconstructionId: o.reconstructionId, custodianId: keys.custodianId, submission: box })}\n`);
    });
  cmd
    .command('declare-destroyed')
    .description('Sign a declaration that your copy of a superseded package is destroyed; with --shred, delete the package (and share) files first.')
    .requiredOption('--keys <file>', 'your private key file')
    .requiredOption('--package <file>', 'the superseded sealed package')
    .option('--share <file>', 'the share file of that package, if you opened it')
    .option('--shred', 'delete the package and share files before signing')
    .action((o: { keys: string; package: string; share?: string; shred?: boolean }) => {
      const keys = readKeys(o.keys);
      const pkg = readPackage(o.package, keys);
      if (o.shred) {
        rmSync(o.package);
        if (o.share) rmSync(o.share, { force: true });
      } else {
        io.stderr(`reminder: ${o.package} still exists; destroy every copy before handing in this declaration (or use --shred)\n`);
      }
      const declaration: DestructionDeclaration = {
        type: DESTRUCTION_DECLARATION_TYPE,
        ceremonyId: pkg.ceremonyId,
        keyId: pkg.keyId,
        version: pkg.version,
        custodianId: keys.custodianId,
        packageFingerprint: pkg.packageFingerprint,
        declaredAt: new Date().toISOString(),
      };
      io.stdout(`${canonicalJson({ declaration, signature: signCanonicalEd25519(declaration, keys.signingPrivateKey) })}\n`);
    });
  return cmd;
}
