import { createHash, X509Certificate } from 'node:crypto';
import { invalidArgument } from '@kms/domain';

/** The largest client certificate accepted (PEM or DER): a certificate, not a chain or a bundle. */
const MAX_CERTIFICATE_BYTES = 16 * 1024;

/**
 * What identifies a client certificate on a workload: the SHA-256 of its DER (lower-case hex) and its
 * subject, from PEM or DER bytes. INVALID_ARGUMENT on `field` when it is not one X.509 certificate.
 */
export function clientCertificateIdentity(certificate: unknown, field = 'certificate'): { fingerprint: string; subject: string } {
  if (!(certificate instanceof Uint8Array) && typeof certificate !== 'string') throw invalidArgument(field, 'must be an X.509 certificate (PEM or DER)');
  const bytes = Buffer.from(certificate);
  if (bytes.length > MAX_CERTIFICATE_BYTES) throw invalidArgument(field, `must be one certificate of at most ${MAX_CERTIFICATE_BYTES} bytes`);
  let x: X509Certificate;
  try {
    x = new X509Certificate(bytes);
  } catch {
    throw invalidArgument(field, 'must be an X.509 certificate (PEM or DER)');
  }
  return { fingerprint: createHash('sha256').update(x.raw).digest('hex'), subject: x.subject.replace(/\n/g, ', ') };
}
