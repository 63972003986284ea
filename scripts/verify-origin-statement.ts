/*
 * Verifies a key-origin statement offline, with only the statement file and the KMS attestation
 * public key:
 *
 *   npx tsx scripts/verify-origin-statement.ts <statement.json> <attestation-public.pem>
 *
 * statement.json is what GetKeyOriginStatement returns: { "statement": {...}, "signature": "<base64>" }.
 * Exit 0 and "VALID: ..." when the signature over the statement's canonical JSON (RFC 8785) verifies
 * with the key; exit 1 and "INVALID: <reason>" otherwise; exit 2 on a usage or file error.
 */
import { provesHsmCustodyOfEscrowedKey, provesHsmCustodyOfImport, provesHsmOrigin, verifySignedStatement } from '@kms/evidence';
import { readFileSync } from 'node:fs';

function fail(code: number, message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    return fail(2, `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

const [statementPath, keyPath] = process.argv.slice(2);
if (!statementPath || !keyPath) fail(2, 'usage: npx tsx scripts/verify-origin-statement.ts <statement.json> <attestation-public.pem>');

let document: unknown;
try {
  document = JSON.parse(read(statementPath, 'statement file'));
} catch {
  fail(1, 'INVALID: the statement file is not valid JSON');
}
const { statement, signature } = (typeof document === 'object' && document !== null ? document : {}) as { statement?: unknown; signature?: unknown };
if (statement === undefined || typeof signature !== 'string') fail(1, 'INVALID: the file must hold { "statement": {...}, "signature": "<base64>" }');

const result = verifySignedStatement(statement, signature, read(keyPath, 'attestation public key'));
if (!result.valid) fail(1, `INVALID: ${result.reason}`);

const s = result.statement;
const m = s.origin.module;
const a = s.origin.attributes;
// Say how the material came to the module, as the signed statement does: never "generated" for what was not.
const how = s.imported === true ? 'imported (brought by the customer) into' : s.origin.madeForEscrow === true ? 'made for break-glass escrow from the RNG of' : 'generated on';
process.stdout.write(
  `VALID: key ${s.keyId} version ${s.version} ${how} ${m.manufacturer} ${m.model} serial ${m.serialNumber}, ` +
    `attributes local=${a.local}, never-extractable=${a.neverExtractable}, sensitive=${a.sensitive}, extractable=${a.extractable}\n`,
);
const proven = s.imported === true ? provesHsmCustodyOfImport(s) : s.origin.madeForEscrow === true ? provesHsmCustodyOfEscrowedKey(s) : provesHsmOrigin(s.origin);
if (!proven) {
  process.stdout.write('WARNING: the signature is valid, but these attributes do not show material held by the module, sensitive and never extractable, as the statement says it came there\n');
}
