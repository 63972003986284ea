import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the copied FIPS 203/204 ACVP test cases live (see fixtures/fips-vectors/README.md for their source). */
export const FIPS_VECTORS_DIR = join(__dirname, '..', 'fixtures', 'fips-vectors');

export interface MlKemKeyGenCase {
  tcId: number;
  d: string;
  z: string;
  ek: string;
  dk: string;
}

export interface MlKemEncapsulationCase {
  tcId: number;
  ek: string;
  dk: string;
  m: string;
  c: string;
  k: string;
}

export interface MlDsaKeyGenCase {
  tcId: number;
  seed: string;
  pk: string;
}

interface AcvpFile<T> {
  source: string;
  algorithm: string;
  mode: string;
  revision: string;
  testGroups: Array<{ tgId?: number; parameterSet: string; tests: T[] }>;
}

function acvpCases<T>(file: string, algorithm: string, parameterSet: string, mode = 'keyGen'): T[] {
  const parsed = JSON.parse(readFileSync(join(FIPS_VECTORS_DIR, file), 'utf8')) as AcvpFile<T>;
  if (parsed.algorithm !== algorithm || parsed.mode !== mode) throw new Error(`${file} is not an ${algorithm} ${mode} file`);
  const cases = parsed.testGroups.filter((g) => g.parameterSet === parameterSet).flatMap((g) => g.tests);
  if (cases.length === 0) throw new Error(`${file} has no ${parameterSet} test case`);
  return cases;
}

/** NIST ACVP ML-KEM keyGen (FIPS 203) cases for ML-KEM-768: d, z in; ek, dk expected (hex). */
export function mlKem768KeyGenVectors(): MlKemKeyGenCase[] {
  return acvpCases<MlKemKeyGenCase>('ml-kem-768-keygen.acvp.json', 'ML-KEM', 'ML-KEM-768');
}

/** NIST ACVP ML-KEM encapDecap (FIPS 203) encapsulation cases for ML-KEM-768: ek, m in → c, k; dk decapsulates c to k (hex). */
export function mlKem768EncapsulationVectors(): MlKemEncapsulationCase[] {
  return acvpCases<MlKemEncapsulationCase>('ml-kem-768-encapdecap.acvp.json', 'ML-KEM', 'ML-KEM-768', 'encapDecap');
}

/** NIST ACVP ML-DSA keyGen (FIPS 204) cases for ML-DSA-65: seed in; pk expected (hex). */
export function mlDsa65KeyGenVectors(): MlDsaKeyGenCase[] {
  return acvpCases<MlDsaKeyGenCase>('ml-dsa-65-keygen.acvp.json', 'ML-DSA', 'ML-DSA-65');
}

/** Where the X-Wing draft's known answers live (fixtures/xwing/README.md). */
export const XWING_VECTORS_DIR = join(__dirname, '..', 'fixtures', 'xwing');

export interface XwingDraftVectors {
  /** DER of Appendix D's PKCS#8 private key (seed 00..1f) and SubjectPublicKeyInfo. */
  pkcs8: Buffer;
  spki: Buffer;
  /** Appendix C test vectors: seed and encapsulation randomness (eseed) in, shared secret out (hex). */
  vectors: Array<{ seed: string; eseed: string; ss: string }>;
}

/** draft-connolly-cfrg-xwing-kem-10 known answers. */
export function xwingDraftVectors(): XwingDraftVectors {
  const der = (file: string) => Buffer.from(readFileSync(join(XWING_VECTORS_DIR, file), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const parsed = JSON.parse(readFileSync(join(XWING_VECTORS_DIR, 'xwing-kem-10.vectors.json'), 'utf8')) as { vectors: XwingDraftVectors['vectors'] };
  return { pkcs8: der('xwing.priv'), spki: der('xwing.pub'), vectors: parsed.vectors };
}

export interface MlDsaSignCase {
  /** Private seed (FIPS 204 ξ), public key, message and the deterministic signature (hex). */
  seed: string;
  pk: string;
  tcId: number;
  msg: string;
  sig: string;
}

/** Project Wycheproof ML-DSA-65 signing (deterministic) and verification cases. */
export function mlDsa65WycheproofSignVectors(): MlDsaSignCase[] {
  const parsed = JSON.parse(readFileSync(join(FIPS_VECTORS_DIR, 'ml-dsa-65-sign.wycheproof.json'), 'utf8')) as {
    algorithm: string;
    testGroups: Array<{ privateSeed: string; publicKey: string; tests: Array<{ tcId: number; msg: string; sig: string; result: string }> }>;
  };
  if (parsed.algorithm !== 'ML-DSA-65') throw new Error('ml-dsa-65-sign.wycheproof.json is not an ML-DSA-65 file');
  return parsed.testGroups.flatMap((g) =>
    g.tests.filter((t) => t.result === 'valid').map((t) => ({ seed: g.privateSeed, pk: g.publicKey, tcId: t.tcId, msg: t.msg, sig: t.sig })),
  );
}

const PYCA_PROBE = 'from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem';

/**
 * A Python whose pyca/cryptography has ML-KEM and ML-DSA (cryptography 47 or later): KMS_PYCA_PYTHON,
 * python3, or a pyenv interpreter. Throws (never skips) when there is none: the cross-check cannot run.
 */
export function pycaPython(): string {
  const pyenv = join(homedir(), '.pyenv', 'versions');
  let versions: string[] = [];
  try {
    versions = readdirSync(pyenv).map((v) => join(pyenv, v, 'bin', 'python3'));
  } catch {
    // no pyenv on this machine
  }
  const candidates = [process.env['KMS_PYCA_PYTHON'], 'python3', ...versions].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['-c', PYCA_PROBE], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not this one
    }
  }
  throw new Error(`no Python with pyca/cryptography ML-KEM/ML-DSA support (tried ${candidates.join(', ')}); set KMS_PYCA_PYTHON`);
}

/**
 * pyca/cryptography, an implementation independent of @noble/post-quantum, on hex inputs:
 * - mldsa65-verify {pk, message, signature} → {valid}
 * - mldsa65-sign {seed, message} → {signature, pk}
 * - mlkem768-encapsulate {ek} → {sharedSecret, ciphertext}
 * - mlkem768-public {seed} → {ek}
 */
const PYCA_SCRIPT = `
import json, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem
req = json.load(sys.stdin)
op, a = req["op"], {k: bytes.fromhex(v) for k, v in req["args"].items()}
if op == "mldsa65-verify":
    try:
        mldsa.MLDSA65PublicKey.from_public_bytes(a["pk"]).verify(a["signature"], a["message"])
        out = {"valid": True}
    except InvalidSignature:
        out = {"valid": False}
elif op == "mldsa65-sign":
    key = mldsa.MLDSA65PrivateKey.from_seed_bytes(a["seed"])
    out = {"signature": key.sign(a["message"]).hex(), "pk": key.public_key().public_bytes_raw().hex()}
elif op == "mlkem768-encapsulate":
    ss, ct = mlkem.MLKEM768PublicKey.from_public_bytes(a["ek"]).encapsulate()
    out = {"sharedSecret": ss.hex(), "ciphertext": ct.hex()}
elif op == "mlkem768-public":
    out = {"ek": mlkem.MLKEM768PrivateKey.from_seed_bytes(a["seed"]).public_key().public_bytes_raw().hex()}
else:
    raise SystemExit("unknown op " + op)
json.dump(out, sys.stdout)
`;

export async function pyca<T extends Record<string, string | boolean>>(python: string, op: string, args: Record<string, Buffer | Uint8Array>): Promise<T> {
  const hexArgs = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
  const child = run(python, ['-c', PYCA_SCRIPT]);
  child.child.stdin?.end(JSON.stringify({ op, args: hexArgs }));
  const { stdout } = await child;
  return JSON.parse(stdout) as T;
}
