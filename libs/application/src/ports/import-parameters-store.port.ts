import { KmsError } from '@kms/domain';

/** How long import parameters stay valid (AWS and Google: 24 hours); backends refuse older ones. */
export const IMPORT_PARAMETERS_VALIDITY_MS = 24 * 60 * 60 * 1000;

/** Import parameters older than 24 hours are refused, naming import_token. */
export function assertImportParametersFresh(createdAt: Date, now: Date): void {
  if (now.getTime() - createdAt.getTime() > IMPORT_PARAMETERS_VALIDITY_MS) {
    throw new KmsError('INVALID_ARGUMENT', 'import_token: has expired (import parameters are valid for 24 hours); get new ones', 'import_token');
  }
}

/**
 * BYOK import parameters: the one-time RSA-3072 wrapping key a customer wraps material for, its
 * private key wrapped under the master key, named by the import token. Valid 24 hours, used once.
 */
export interface ImportParametersRecord {
  /** The import token (a UUID) handed to the customer with the wrapping public key. */
  token: string;
  /** The key the material may become a version of. */
  keyId: string;
  /** Master key the wrapping private key is wrapped under. */
  kekId: string;
  /** The wrapping private key (PKCS#8), wrapped under the master key. */
  wrapped: Buffer;
  createdAt: Date;
  expiresAt: Date;
  /** Set once a version was imported with these parameters. */
  usedAt?: Date;
}

/** Where import parameters are kept between GetImportParameters and ImportKeyVersion. */
export interface ImportParametersStore {
  /** Insert; fails if the token exists. */
  put(record: ImportParametersRecord): Promise<void>;
  get(token: string): Promise<ImportParametersRecord | undefined>;
  /** Mark used at `now`; false when the token is unknown or was used already (only one caller ever gets true). */
  markUsed(token: string, now: Date): Promise<boolean>;
}
