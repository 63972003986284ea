import { execFile } from 'node:child_process';
import { createDecipheriv, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Wrap BYOK material exactly as README "Bring your own key" tells a customer to, with the openssl CLI:
 * a fresh AES-256 key under the wrapping public key (DER SPKI) with RSA-OAEP-SHA256 (MGF1-SHA256),
 * then the material under that key with AES key wrap with padding (RFC 5649). Files go in `dir`.
 * `oaepHash` sha1: the HSM variant (RSA_OAEP_3072_SHA1_AES_256_KWP), for modules that unwrap OAEP with SHA-1 only.
 */
export async function wrapWithOpenssl(dir: string, wrappingSpki: Buffer, material: Buffer, oaepHash: 'sha256' | 'sha1' = 'sha256'): Promise<Buffer> {
  const id = randomUUID();
  const f = (name: string) => join(dir, `${id}-${name}`);
  await writeFile(f('wrapping.der'), wrappingSpki);
  await writeFile(f('material.bin'), material);
  await run('openssl', ['rand', '-out', f('aes.bin'), '32']);
  await run('openssl', [
    'pkeyutl', '-encrypt', '-pubin', '-keyform', 'DER', '-inkey', f('wrapping.der'), '-in', f('aes.bin'), '-out', f('aes.enc'),
    '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${oaepHash}`, '-pkeyopt', `rsa_mgf1_md:${oaepHash}`,
  ]);
  const aesHex = (await readFile(f('aes.bin'))).toString('hex');
  await run('openssl', ['enc', '-id-aes256-wrap-pad', '-iv', 'A65959A6', '-K', aesHex, '-in', f('material.bin'), '-out', f('material.enc')]);
  return Buffer.concat([await readFile(f('aes.enc')), await readFile(f('material.enc'))]);
}

/** An openssl-generated key pair (`genpkey` arguments): its PKCS#8 DER (the material to import) and the path of its public PEM. */
export async function opensslKeyPair(dir: string, genpkeyArgs: string[]): Promise<{ pkcs8: Buffer; publicPem: string }> {
  const id = randomUUID();
  await run('openssl', ['genpkey', ...genpkeyArgs, '-out', join(dir, `${id}.pem`)]);
  await run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-outform', 'DER', '-in', join(dir, `${id}.pem`), '-out', join(dir, `${id}.p8`)]);
  await run('openssl', ['pkey', '-pubout', '-in', join(dir, `${id}.pem`), '-out', join(dir, `${id}.pub`)]);
  return { pkcs8: await readFile(join(dir, `${id}.p8`)), publicPem: join(dir, `${id}.pub`) };
}

/** Whether `openssl dgst -sha256 -verify` accepts the signature (`extra`: e.g. PSS -sigopt settings). */
export async function opensslVerifies(dir: string, publicPem: string, message: Buffer, signature: Buffer, extra: string[] = []): Promise<boolean> {
  const id = randomUUID();
  await writeFile(join(dir, `${id}.msg`), message);
  await writeFile(join(dir, `${id}.sig`), signature);
  try {
    await run('openssl', ['dgst', '-sha256', ...extra, '-verify', publicPem, '-signature', join(dir, `${id}.sig`), join(dir, `${id}.msg`)]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decrypt a KMS ciphertext outside the KMS with the AES-256 key the customer imported: the 23-byte
 * header (README "Ciphertext format") | IV | ciphertext | tag, the header authenticated before the AAD.
 */
export function openKmsCiphertextOutside(key: Buffer, ciphertext: Buffer, aad: Buffer): Buffer {
  const ct = Buffer.from(ciphertext);
  const decipher = createDecipheriv('aes-256-gcm', key, ct.subarray(23, 35)).setAAD(Buffer.concat([ct.subarray(0, 23), aad]));
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([decipher.update(ct.subarray(35, ct.length - 16)), decipher.final()]);
}
