import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { PDFDocument, StandardFonts, type PDFFont, type PDFPage } from 'pdf-lib';
import { canonicalJson, canonicalJsonBytes } from '../canonical-json';

/** What the module reports about itself (PKCS#11 C_GetInfo / C_GetTokenInfo). */
export interface HsmReportedIdentity {
  manufacturer: string;
  model: string;
  serialNumber: string;
  firmwareVersion: string;
  hardwareVersion: string;
  tokenLabel: string;
  libraryDescription: string;
}

/** One entry of the per-HSM timeline (identity recorded at start or changed). */
export interface HsmTimelineFact {
  at: string;
  event: string;
  /** "serialNumber: a -> b" lines, or the identity recorded. */
  summary: string;
}

/** The facts of a bundle: the same inputs give byte-identical canonical JSON. */
export interface HsmAttestationFacts {
  format: 'kms-hsm-attestation/1';
  hsm: { id: string; jurisdiction: string; provider: string; environment: string; certifications: string[] };
  identity: HsmReportedIdentity;
  /**
   * PKCS#11 reports a firmware version, not an image digest: this is the SHA-256 of the canonical JSON
   * of what the module reports about its firmware (manufacturer, model, firmware and hardware versions,
   * library), so any change of them changes the digest.
   */
  firmwareDigest: { algorithm: 'SHA-256'; over: string; value: string };
  timeline: HsmTimelineFact[];
}

/** The signer of the statement: the instance's own attestation key (in that HSM). */
export interface HsmStatementSigner {
  publicKeyPem(): Promise<string>;
  keyFingerprint(): Promise<string>;
  sign(data: Buffer): Promise<Buffer>;
}

/** A produced bundle: the PDF, the same facts as canonical JSON, and the hashes to anchor. */
export interface HsmAttestationBundle {
  facts: HsmAttestationFacts;
  /** Canonical JSON of facts, statement, signature and verification log. */
  json: Buffer;
  pdf: Buffer;
  /** Hex SHA-256 of the canonical JSON of the facts: what the attestation key signed. */
  statementSha256: string;
  /** Hex SHA-256 of the PDF: the bundle's hash appended to the ledger. */
  bundleSha256: string;
  attestationKeyFingerprint: string;
  signature: Buffer;
  verificationLog: string[];
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The facts of one instance, in a fixed shape (same timeline and identity: same facts). */
export function hsmAttestationFacts(hsm: HsmAttestationFacts['hsm'], identity: HsmReportedIdentity, timeline: HsmTimelineFact[]): HsmAttestationFacts {
  const firmware = { manufacturer: identity.manufacturer, model: identity.model, firmwareVersion: identity.firmwareVersion, hardwareVersion: identity.hardwareVersion, libraryDescription: identity.libraryDescription };
  return {
    format: 'kms-hsm-attestation/1',
    hsm: { ...hsm, certifications: [...hsm.certifications] },
    identity: { ...identity },
    firmwareDigest: { algorithm: 'SHA-256', over: 'canonical JSON of manufacturer, model, firmwareVersion, hardwareVersion, libraryDescription as reported', value: sha256(canonicalJson(firmware)) },
    timeline: timeline.map((t) => ({ ...t })),
  };
}

/**
 * Sign the facts with the instance's attestation key, verify the signature independently (node:crypto
 * with the exported public key), and render one PDF plus the canonical JSON. Throws when the signature
 * does not verify: a bundle is never issued with a statement that fails its own check.
 */
export async function buildHsmAttestationBundle(facts: HsmAttestationFacts, signer: HsmStatementSigner): Promise<HsmAttestationBundle> {
  const statement = canonicalJsonBytes(facts);
  const statementSha256 = sha256(statement);
  const signature = await signer.sign(statement);
  const publicKeyPem = await signer.publicKeyPem();
  const fingerprint = await signer.keyFingerprint();
  const spki = createPublicKey(publicKeyPem).export({ format: 'der', type: 'spki' });
  const verified = verifySignature('sha256', statement, createPublicKey(publicKeyPem), signature);
  const verificationLog = [
    `statement = canonical JSON (RFC 8785) of the facts, ${statement.length} bytes, SHA-256 ${statementSha256}`,
    `signature = ECDSA P-256 over SHA-256 of the statement, DER, by the attestation key of HSM "${facts.hsm.id}" (kms-attestation-v1 on token "${facts.identity.tokenLabel}")`,
    `public key SHA-256 (DER SPKI) ${sha256(spki)}; reported fingerprint ${fingerprint}; ${sha256(spki) === fingerprint ? 'match' : 'MISMATCH'}`,
    `verified with node:crypto verify('sha256', statement, publicKey, signature): ${verified ? 'VALID' : 'INVALID'}`,
    'to check: openssl dgst -sha256 -verify attestation-key.pem -signature statement.sig statement.json',
  ];
  if (!verified || sha256(spki) !== fingerprint) throw new Error(`the attestation statement of HSM ${facts.hsm.id} does not verify with its own public key`);
  const pdf = await renderPdf(facts, statementSha256, signature, publicKeyPem, verificationLog);
  const json = canonicalJsonBytes({
    facts,
    statement: { sha256: statementSha256, encoding: 'canonical JSON of facts' },
    signature: { algorithm: 'ECDSA_P256_SHA256', der: signature.toString('base64') },
    attestationKey: { publicKeyPem, fingerprint },
    verificationLog,
  });
  return { facts, json, pdf, statementSha256, bundleSha256: sha256(pdf), attestationKeyFingerprint: fingerprint, signature, verificationLog };
}

const PAGE = { width: 595.28, height: 841.89, margin: 48 };
const SIZE = { title: 16, heading: 12, text: 9 };
const WRAP = 96;

/** Lines of at most WRAP characters (long hashes and PEM lines are cut, not lost). */
function wrapped(text: string): string[] {
  return text.split('\n').flatMap((line) => {
    if (line.length <= WRAP) return [line];
    const parts: string[] = [];
    for (let i = 0; i < line.length; i += WRAP) parts.push(line.slice(i, i + WRAP));
    return parts;
  });
}

async function renderPdf(facts: HsmAttestationFacts, statementSha256: string, signature: Buffer, publicKeyPem: string, log: string[]): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.setTitle(`HSM attestation bundle: ${facts.hsm.id}`);
  doc.setCreator('Open KMS');
  doc.setProducer('Open KMS (pdf-lib)');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const mono = await doc.embedFont(StandardFonts.Courier);
  let page: PDFPage = doc.addPage([PAGE.width, PAGE.height]);
  let y = PAGE.height - PAGE.margin;
  const write = (text: string, f: PDFFont, size: number) => {
    for (const line of wrapped(text)) {
      if (y < PAGE.margin + size) {
        page = doc.addPage([PAGE.width, PAGE.height]);
        y = PAGE.height - PAGE.margin;
      }
      // The standard fonts encode WinAnsi only: anything else is shown as "?".
      page.drawText(line.replace(/[^\x20-\x7e]/g, '?'), { x: PAGE.margin, y, size, font: f });
      y -= size * 1.4;
    }
  };
  const section = (title: string) => {
    y -= 6;
    write(title, bold, SIZE.heading);
  };
  write(`HSM attestation bundle: ${facts.hsm.id}`, bold, SIZE.title);
  section('Instance');
  write(`HSM id: ${facts.hsm.id}`, font, SIZE.text);
  write(`Jurisdiction: ${facts.hsm.jurisdiction}`, font, SIZE.text);
  write(`Provider: ${facts.hsm.provider}`, font, SIZE.text);
  write(`Environment: ${facts.hsm.environment}`, font, SIZE.text);
  section('Certifications (declared)');
  if (facts.hsm.certifications.length === 0) write('none declared', font, SIZE.text);
  for (const c of facts.hsm.certifications) write(`Certification: ${c}`, font, SIZE.text);
  section('Module identity (as reported)');
  write(`Manufacturer: ${facts.identity.manufacturer}`, font, SIZE.text);
  write(`Model: ${facts.identity.model}`, font, SIZE.text);
  write(`Serial number: ${facts.identity.serialNumber}`, font, SIZE.text);
  write(`Firmware version: ${facts.identity.firmwareVersion}`, font, SIZE.text);
  write(`Hardware version: ${facts.identity.hardwareVersion}`, font, SIZE.text);
  write(`Token label: ${facts.identity.tokenLabel}`, font, SIZE.text);
  write(`Library: ${facts.identity.libraryDescription}`, font, SIZE.text);
  section('Firmware digest');
  write(`Firmware digest (${facts.firmwareDigest.algorithm}): ${facts.firmwareDigest.value}`, mono, SIZE.text);
  write(`over: ${facts.firmwareDigest.over}`, font, SIZE.text);
  section('Attestation statement');
  write(`Statement SHA-256: ${statementSha256}`, mono, SIZE.text);
  write(`Signature (ECDSA P-256 SHA-256, DER, base64): ${signature.toString('base64')}`, mono, SIZE.text);
  section('Verification log');
  for (const line of log) write(line, mono, SIZE.text);
  write('Attestation public key:', font, SIZE.text);
  write(publicKeyPem.trim(), mono, SIZE.text);
  section('Timeline');
  for (const t of facts.timeline) write(`${t.at}  ${t.event}  ${t.summary}`, mono, SIZE.text);
  // A fixed creation date: the PDF shows facts, and the ledger event records when it was issued.
  const issued = facts.timeline.at(-1)?.at;
  if (issued) {
    doc.setCreationDate(new Date(issued));
    doc.setModificationDate(new Date(issued));
  }
  return Buffer.from(await doc.save());
}
