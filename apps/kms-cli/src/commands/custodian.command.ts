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
  type SealedPackage,
} from '@kms/evidence';
import { Command } from 'commander';
import { KmsCallError, type KmsMessage, type KmsMethod } from '@kms/contracts';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CliUsageError } from '../request/cli-usage.error';

/** A sealed package as the KMS hands it to its custodian (EscrowService.seal). */
type PackageFile = SealedPackage;

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
  return checkPackage(readJson<PackageFile>(path, 'sealed package', 'package'), path, keys);
}

function checkPackage(pkg: PackageFile, path: string, keys: KeysFile): PackageFile {
  if (!pkg.box || !pkg.ceremonyId || typeof pkg.shareIndex !== 'number') throw new CliUsageError(`package: ${path} is not a sealed package`, 'package');
  if (pkg.custodianId !== keys.custodianId) throw new CliUsageError(`package: ${path} is sealed to ${pkg.custodianId}, not to ${keys.custodianId}`, 'package');
  if (packageFingerprint(pkg.box) !== pkg.packageFingerprint) throw new CliUsageError(`package: ${path} does not match its fingerprint (altered or damaged)`, 'package');
  return pkg;
}

/** Where a package comes from: a file (--package) or the KMS (--key-id and --key-version, GetEscrowPackage). */
interface PackageSource {
  package?: string;
  keyId?: string;
  keyVersion?: string;
}

/** GetEscrowPackage as the custodian receives it. */
interface FetchedPackage {
  package_json: string;
  transcript_json: string;
  attestation_signature: string;
}

function keyVersion(o: PackageSource): { key_id: string; key_version: number } {
  if (!o.keyId) throw new CliUsageError('key-id: give --key-id and --key-version (to fetch from the KMS) or --package <file>', 'key-id');
  const version = Number(o.keyVersion);
  if (!Number.isInteger(version) || version < 1) throw new CliUsageError(`key-version: must be a version number (1, 2, ...), got ${o.keyVersion ?? 'nothing'}`, 'key-version');
  return { key_id: o.keyId, key_version: version };
}

function parseFetched<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliUsageError(`the KMS answered a ${what} that is not JSON`, what);
  }
}

function writePrivate(path: string, text: string): void {
  if (existsSync(path)) throw new CliUsageError(`out: ${path} exists; refusing to overwrite it`, 'out');
  writeFileSync(path, text, { mode: PRIVATE_MODE, flag: 'wx' });
}

/** Calls the KMS as the person whose token the CLI holds (KMS_TOKEN / kms login, KMS_ADDRESS): `kms custodian` is given this by the program. */
export type CustodianRpc = (options: Record<string, unknown>, method: KmsMethod, request: KmsMessage) => Promise<KmsMessage>;

/** `--offline` and the connection options on each subcommand that talks to the KMS. */
function online(cmd: Command): Command {
  return cmd
    .option('--offline', 'do not call the KMS: print the document (public keys, signature, submission or declaration) to hand over')
    .option('--address <host:port>', 'key service gRPC address (KMS_ADDRESS)')
    .option('--token <token>', 'your bearer token (KMS_TOKEN; default: the token kms login kept)')
    .option('--timeout <ms>', 'per-call deadline in ms (KMS_TIMEOUT_MS)')
    .option('--config <file>', 'config file (KMS_CONFIG)');
}

const APPROVAL_ID = /request ([0-9a-f-]{36}) was created/;

/**
 * `kms custodian enrol | open-package | counter-sign | submit-share | declare-destroyed`: what a
 * break-glass escrow custodian does. The private keys never leave the 0600 key file; the commands
 * call the KMS as the person whose token the CLI holds (the custodian acts as themselves), or, with
 * --offline, print the document for someone else to hand in.
 */
export function custodianCommand(io: { stdout: (s: string) => void; stderr: (s: string) => void }, rpc: CustodianRpc): Command {
  const cmd = new Command('custodian').description('Break-glass escrow custodian: keys, packages, shares and declarations, sent to the KMS as you (see docs/break-glass.md).');
  /** The package, from --package or fetched with GetEscrowPackage (then also the transcript the KMS signed). */
  const packageFrom = async (o: PackageSource & Record<string, unknown>, keys: KeysFile): Promise<{ pkg: PackageFile; transcript?: unknown }> => {
    if (o.package) return { pkg: readPackage(o.package, keys) };
    const target = keyVersion(o);
    const fetched = (await rpc(o, 'GetEscrowPackage', target)) as unknown as FetchedPackage;
    const where = `the package of version ${target.key_version} of ${target.key_id} from the KMS`;
    const pkg = checkPackage(parseFetched<PackageFile>(fetched.package_json, 'package_json'), where, keys);
    return { pkg, transcript: parseFetched<unknown>(fetched.transcript_json, 'transcript_json') };
  };

  online(
    cmd
      .command('enrol')
      .description(
        'Generate your X25519 (receiving shares) and Ed25519 (signing) key pairs, keep the private keys in a 0600 file, and register the public keys with EnrolEscrowCustodian (a security engineer\'s call; a second person approves it). --offline: only print the public keys.',
      )
      .requiredOption('--custodian <id>', 'your identity id in the KMS')
      .requiredOption('--out <file>', 'where to keep your private keys (created with mode 0600, never overwritten)')
      .option('--change-ticket <id>', 'change ticket recorded with the enrolment request'),
  ).action(async (o: { custodian: string; out: string; changeTicket?: string; offline?: boolean } & Record<string, unknown>) => {
    if (!o.custodian.trim()) throw new CliUsageError('custodian: give your identity id (--custodian <id>)', 'custodian');
    const { publicKeys, privateKeys } = generateCustodianKeys();
    writePrivate(o.out, JSON.stringify({ custodianId: o.custodian, ...privateKeys }, null, 2));
    io.stderr(`private keys written to ${o.out} (mode 0600). Keep them offline; whoever holds them holds your share.\n`);
    io.stdout(`${JSON.stringify({ identityId: o.custodian, ...publicKeys }, null, 2)}\n`);
    if (o.offline) return;
    try {
      await rpc(o, 'EnrolEscrowCustodian', {
        identity_id: o.custodian,
        encryption_public_key: publicKeys.encryptionPublicKey,
        signing_public_key: publicKeys.signingPublicKey,
        ...(o.changeTicket ? { context: { change_ticket: o.changeTicket } } : {}),
      });
    } catch (e) {
      const approvalId = e instanceof KmsCallError && e.errorCode === 'APPROVAL_REQUIRED' ? APPROVAL_ID.exec(e.details)?.[1] : undefined;
      if (!approvalId) {
        io.stderr(`the public keys above were not registered; ${o.out} is kept: hand the public keys to a security engineer, or run again with a token that may enrol\n`);
        throw e;
      }
      io.stderr(`enrolment requested: approval id ${approvalId}. A second person approves it with: kms approve-request --approval-id ${approvalId}\n`);
    }
  });

  online(
    cmd
      .command('open-package')
      .description('Decrypt your sealed package (from --package, or fetched from the KMS with --key-id/--key-version) and keep the share in a 0600 file, to submit it later; checks the package fingerprint first.')
      .requiredOption('--keys <file>', 'your private key file (kms custodian enrol)')
      .option('--package <file>', 'the sealed package the KMS handed you')
      .option('--key-id <id>', 'fetch your package of this key from the KMS (GetEscrowPackage)')
      .option('--key-version <n>', 'the version whose package to fetch')
      .option('--save-package <file>', 'also keep the fetched package (to declare it destroyed after a reseal)')
      .requiredOption('--out <file>', 'where to keep the decrypted share (mode 0600)'),
  ).action(async (o: PackageSource & { keys: string; out: string; savePackage?: string } & Record<string, unknown>) => {
    const keys = readKeys(o.keys);
    const { pkg } = await packageFrom(o, keys);
    let share: Buffer;
    try {
      share = openShare(keys.encryptionPrivateKey, pkg.box, pkg);
    } catch {
      throw new CliUsageError(`package: ${o.package ?? 'the fetched package'} does not open with the keys in ${o.keys} (another custodian's package, or altered)`, 'package');
    }
    if (o.savePackage) writePrivate(o.savePackage, JSON.stringify(pkg, null, 2));
    writePrivate(o.out, share.toString('base64'));
    share.fill(0);
    io.stdout(`share ${pkg.shareIndex} of ceremony ${pkg.ceremonyId} (key ${pkg.keyId} version ${pkg.version}) written to ${o.out}\n`);
  });

  online(
    cmd
      .command('counter-sign')
      .description('Counter-sign a sealing transcript with your Ed25519 key and hand the signature in (CounterSignEscrowTranscript). The transcript comes from --transcript or from the KMS (--key-id/--key-version).')
      .requiredOption('--keys <file>', 'your private key file')
      .option('--transcript <file>', 'the sealing transcript (JSON)')
      .option('--key-id <id>', 'fetch the transcript of this key from the KMS (GetEscrowPackage)')
      .option('--key-version <n>', 'the version whose transcript to fetch'),
  ).action(async (o: PackageSource & { keys: string; transcript?: string; offline?: boolean } & Record<string, unknown>) => {
    const keys = readKeys(o.keys);
    let transcript: unknown;
    if (o.transcript) {
      const doc = readJson<{ transcript?: unknown }>(o.transcript, 'sealing transcript', 'transcript');
      transcript = doc.transcript ?? doc;
    } else {
      transcript = (await packageFrom(o, keys)).transcript;
    }
    const t = transcript as { ceremonyId?: string; keyId?: string; version?: number; threshold?: number; shareCount?: number; participants?: Array<{ custodianId: string; packageFingerprint: string }> };
    const mine = t.participants?.find((p) => p.custodianId === keys.custodianId);
    if (!t.ceremonyId || !t.keyId || typeof t.version !== 'number') throw new CliUsageError('transcript: not a sealing transcript (no ceremonyId, keyId or version)', 'transcript');
    if (!mine) throw new CliUsageError(`transcript: ${keys.custodianId} is not a participant of ceremony ${t.ceremonyId}`, 'transcript');
    io.stderr(`counter-signing ceremony ${t.ceremonyId}: key ${t.keyId} version ${t.version}, ${t.threshold}-of-${t.shareCount}, your package ${mine.packageFingerprint}\n`);
    const signature = signCanonicalEd25519(transcript, keys.signingPrivateKey);
    if (o.offline) {
      io.stdout(`${JSON.stringify({ custodianId: keys.custodianId, signature })}\n`);
      return;
    }
    const status = (await rpc(o, 'CounterSignEscrowTranscript', { key_id: t.keyId, key_version: t.version, signature })) as { status?: string; counter_signed?: string[]; custodians?: string[] };
    io.stdout(`counter-signed: ceremony ${t.ceremonyId} is ${status.status} (${status.counter_signed?.length ?? 0} of ${status.custodians?.length ?? 0} participants have signed)\n`);
  });

  online(
    cmd
      .command('submit-share')
      .description('Encrypt your decrypted share to the ceremony key of a reconstruction (drill or unseal) and submit it (SubmitEscrowShare).')
      .requiredOption('--keys <file>', 'your private key file')
      .requiredOption('--share <file>', 'the share file written by open-package')
      .requiredOption('--reconstruction-id <id>', 'the reconstruction the KMS opened')
      .requiredOption('--ceremony-key <base64>', 'the ceremony public key the KMS printed (base64 DER)'),
  ).action(async (o: { keys: string; share: string; reconstructionId: string; ceremonyKey: string; offline?: boolean } & Record<string, unknown>) => {
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
    if (o.offline) {
      io.stdout(`${JSON.stringify({ reconstructionId: o.reconstructionId, custodianId: keys.custodianId, submission: box })}\n`);
      return;
    }
    const r = (await rpc(o, 'SubmitEscrowShare', { reconstruction_id: o.reconstructionId, submission_json: JSON.stringify(box) })) as { accepted?: number; threshold?: number };
    io.stdout(`share accepted: ${r.accepted} of ${r.threshold} needed for reconstruction ${o.reconstructionId}\n`);
  });

  online(
    cmd
      .command('declare-destroyed')
      .description('Sign a declaration that your copy of a superseded package is destroyed and hand it in (DeclareEscrowPackageDestroyed); with --shred, delete the package (and share) files first.')
      .requiredOption('--keys <file>', 'your private key file')
      .option('--package <file>', 'the superseded sealed package')
      .option('--key-id <id>', 'fetch the superseded package of this key from the KMS to name it (GetEscrowPackage)')
      .option('--key-version <n>', 'the superseded version')
      .option('--share <file>', 'the share file of that package, if you opened it')
      .option('--shred', 'delete the package and share files before signing'),
  ).action(async (o: PackageSource & { keys: string; share?: string; shred?: boolean; offline?: boolean } & Record<string, unknown>) => {
    const keys = readKeys(o.keys);
    const { pkg } = await packageFrom(o, keys);
    if (o.shred) {
      if (o.package) rmSync(o.package);
      if (o.share) rmSync(o.share, { force: true });
    } else {
      io.stderr(`reminder: destroy every copy of package ${pkg.packageFingerprint} (and its share) before handing in this declaration (or use --shred)\n`);
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
    const signature = signCanonicalEd25519(declaration, keys.signingPrivateKey);
    if (o.offline) {
      io.stdout(`${canonicalJson({ declaration, signature })}\n`);
      return;
    }
    const status = (await rpc(o, 'DeclareEscrowPackageDestroyed', { declaration_json: JSON.stringify(declaration), signature })) as { status?: string; pending_declarations?: string[] };
    const pending = status.pending_declarations ?? [];
    io.stdout(`declared destroyed: package ${pkg.packageFingerprint} of key ${pkg.keyId} version ${pkg.version}; ${pending.length === 0 ? 'no declarations pending' : `still pending: ${pending.join(', ')}`}\n`);
  });
  return cmd;
}
