import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/** What a test may change about one ceremony, to make it wrong the way an attacker or a bad client would. */
export interface CeremonyTweaks {
  /** The origin the "browser" reports (default: the authenticator's origin). */
  origin?: string;
  /** The relying party id hashed into authenticatorData (default: the authenticator's rp id). */
  rpId?: string;
  /** Clear the user-verified flag (UV). */
  withoutUserVerification?: boolean;
  /** Sign with this counter instead of the next one (e.g. a cloned key's stale counter). */
  signCount?: number;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

function cborBytes(b: Buffer): Buffer {
  if (b.length < 24) return Buffer.concat([Buffer.from([0x40 + b.length]), b]);
  if (b.length < 256) return Buffer.concat([Buffer.from([0x58, b.length]), b]);
  const head = Buffer.alloc(3);
  head[0] = 0x59;
  head.writeUInt16BE(b.length, 1);
  return Buffer.concat([head, b]);
}

function cborText(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length >= 24) throw new Error('short texts only');
  return Buffer.concat([Buffer.from([0x60 + b.length]), b]);
}

function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** COSE algorithms a test authenticator can sign with (those the KMS registers keys with). */
export type TestAuthenticatorAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

function generate(algorithm: TestAuthenticatorAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  if (algorithm === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (algorithm === 'EdDSA') return generateKeyPairSync('ed25519');
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/**
 * A FIDO2 authenticator for tests, built on node:crypto and following the WebAuthn byte layout
 * (ES256 by default, or RS256 / EdDSA; `none` attestation): authenticatorData = rpIdHash ‖ flags ‖ signCount ‖ [attested credential
 * data with a COSE EC2 key]; assertions sign authenticatorData ‖ SHA-256(clientDataJSON). The server
 * verifies its answers with @simplewebauthn/server like any browser's — nothing is skipped.
 */
export class TestAuthenticator {
  readonly credentialId: Buffer = randomBytes(32);
  private readonly privateKey: KeyObject;
  private readonly publicJwk: { x?: string; y?: string; n?: string; e?: string };
  /** The signature counter of the last ceremony (starts at 0 and moves by 1 per assertion). */
  signCount = 0;

  constructor(
    readonly rpId: string,
    readonly origin: string,
    readonly algorithm: TestAuthenticatorAlgorithm = 'ES256',
  ) {
    const { privateKey, publicKey } = generate(algorithm);
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicJwk = { x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e };
  }

  get id(): string {
    return this.credentialId.toString('base64url');
  }

  /**
   * The COSE_Key of the public key: kty EC2, alg ES256 (-7), crv P-256, x, y; kty RSA, alg RS256
   * (-257), n, e; or kty OKP, alg EdDSA (-8), crv Ed25519, x.
   */
  coseKey(): Buffer {
    const part = (v: string | undefined) => cborBytes(Buffer.from(v ?? '', 'base64url'));
    if (this.algorithm === 'RS256') return Buffer.concat([Buffer.from([0xa4, 0x01, 0x03, 0x03, 0x39, 0x01, 0x00, 0x20]), part(this.publicJwk.n), Buffer.from([0x21]), part(this.publicJwk.e)]);
    if (this.algorithm === 'EdDSA') return Buffer.concat([Buffer.from([0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21]), part(this.publicJwk.x)]);
    return Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]), part(this.publicJwk.x), Buffer.from([0x22]), part(this.publicJwk.y)]);
  }

  private authData(t: CeremonyTweaks, flags: number, count: number, attested?: Buffer): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(count, 0);
    let f = flags | FLAG_UP;
    if (!t.withoutUserVerification) f |= FLAG_UV;
    return Buffer.concat([sha256(t.rpId ?? this.rpId), Buffer.from([f & 0xff]), counter, ...(attested ? [attested] : [])]);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, t: CeremonyTweaks): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: t.origin ?? this.origin, crossOrigin: false }), 'utf8');
  }

  /** navigator.credentials.create(): the registration response JSON for the options' challenge. */
  register(options: { challenge: string }, t: CeremonyTweaks = {}): Record<string, unknown> {
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length, 0);
    const attested = Buffer.concat([Buffer.alloc(16) /* AAGUID: none */, idLength, this.credentialId, this.coseKey()]);
    const authData = this.authData(t, FLAG_AT, t.signCount ?? this.signCount, attested);
    const attestationObject = Buffer.concat([Buffer.from([0xa3]), cborText('fmt'), cborText('none'), cborText('attStmt'), Buffer.from([0xa0]), cborText('authData'), cborBytes(authData)]);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: this.clientData('webauthn.create', options.challenge, t).toString('base64url'), attestationObject: attestationObject.toString('base64url'), transports: ['usb'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** navigator.credentials.get(): an assertion over the options' challenge, counter moved forward. */
  assert(options: { challenge: string }, t: CeremonyTweaks = {}): Record<string, unknown> {
    const count = t.signCount ?? ++this.signCount;
    const authData = this.authData(t, 0, count);
    const clientData = this.clientData('webauthn.get', options.challenge, t);
    const signature = sign(this.algorithm === 'EdDSA' ? null : 'sha256', Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: clientData.toString('base64url'), authenticatorData: authData.toString('base64url'), signature: signature.toString('base64url') },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }
}
