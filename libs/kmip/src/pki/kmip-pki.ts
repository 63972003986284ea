import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

/** The TLS material a KMIP server runs with (PEM). */
export interface KmipTlsMaterial {
  key: string;
  cert: string;
  /** CA certificates client certificates must chain to. */
  ca: string;
}

/** Files of the local CA and server certificate, created on first start in the state directory. */
export function kmipPkiPaths(dir: string) {
  return { caKey: join(dir, 'ca.key'), caCert: join(dir, 'ca.crt'), serverKey: join(dir, 'server.key'), serverCert: join(dir, 'server.crt') };
}

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

function serial(): string {
  // Positive, 16 random bytes.
  return `01${randomBytes(15).toString('hex')}`;
}

function writeSecret(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function issue(
  subjectCn: string,
  issuer: { key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate } | undefined,
  extensions: object[],
  now: Date,
  years: number,
): { key: string; cert: string; forgeKey: forge.pki.rsa.PrivateKey; forgeCert: forge.pki.Certificate } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + years * YEAR_MS);
  cert.setSubject([{ name: 'commonName', value: subjectCn }, { name: 'organizationName', value: 'kms' }]);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : [{ name: 'commonName', value: subjectCn }, { name: 'organizationName', value: 'kms' }]);
  cert.setExtensions(extensions);
  cert.sign(issuer ? issuer.key : keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert), forgeKey: keys.privateKey, forgeCert: cert };
}

/**
 * The local CA and the server certificate, created on first start (keys 0600) and read afterwards.
 * Bring your own: put ca.crt (the CA clients' certificates chain to), server.crt and server.key in the
 * directory before the first start, and nothing is generated.
 */
export function ensureKmipPki(dir: string, hostnames: string[], now: Date = new Date()): KmipTlsMaterial {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = kmipPkiPaths(dir);
  if (!existsSync(p.caCert)) {
    const ca = issue('kms local KMIP CA', undefined, [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }], now, 10);
    writeSecret(p.caKey, ca.key);
    writeFileSync(p.caCert, ca.cert);
  }
  if (!existsSync(p.serverCert) || !existsSync(p.serverKey)) {
    const ca = { key: forge.pki.privateKeyFromPem(readFileSync(p.caKey, 'utf8')), cert: forge.pki.certificateFromPem(readFileSync(p.caCert, 'utf8')) };
    const altNames = hostnames.map((h) => (/^[0-9.]+$/.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h }));
    const server = issue(hostnames[0] ?? 'localhost', ca, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ], now, 2);
    writeSecret(p.serverKey, server.key);
    writeFileSync(p.serverCert, server.cert);
  }
  return { key: readFileSync(p.serverKey, 'utf8'), cert: readFileSync(p.serverCert, 'utf8'), ca: readFileSync(p.caCert, 'utf8') };
}

/** A client certificate from the local CA (standalone mode, tests, `docs/kmip.md`): PEM key and certificate. */
export function issueKmipClientCertificate(dir: string, commonName: string, now: Date = new Date()): { key: string; cert: string; fingerprint: string; subject: string } {
  const p = kmipPkiPaths(dir);
  if (!existsSync(p.caKey)) throw new Error(`no local KMIP CA key in ${dir}: start the KMIP server once, or issue client certificates with your own CA`);
  const ca = { key: forge.pki.privateKeyFromPem(readFileSync(p.caKey, 'utf8')), cert: forge.pki.certificateFromPem(readFileSync(p.caCert, 'utf8')) };
  const client = issue(commonName, ca, [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true }, { name: 'extKeyUsage', clientAuth: true }], now, 1);
  return { key: client.key, cert: client.cert, ...certificateIdentity(client.cert) };
}

/** What identifies a client certificate on an identity: SHA-256 of its DER (lower-case hex) and its subject. */
export function certificateIdentity(pemOrDer: string | Buffer): { fingerprint: string; subject: string } {
  const x = new X509Certificate(pemOrDer);
  return { fingerprint: createHash('sha256').update(x.raw).digest('hex'), subject: x.subject.replace(/\n/g, ', ') };
}
