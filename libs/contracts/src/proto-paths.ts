import { join } from 'node:path';

/** Directory holding the .proto files (include root). */
export const PROTO_ROOT = join(__dirname, 'proto');
/** The key management service definition, relative to PROTO_ROOT. */
export const KMS_PROTO_FILE = 'kms/v1/key_management_service.proto';
export const KMS_PACKAGE = 'kms.v1';
export const KMS_SERVICE = 'KeyManagementService';

/** proto-loader options every server and client of this contract uses. */
export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/** Documented request limits; every one answers INVALID_ARGUMENT naming the field. */
export const API_LIMITS = {
  maxPlaintextBytes: 64 * 1024,
  maxAadBytes: 8 * 1024,
  maxCiphertextBytes: 64 * 1024 + 51,
  maxMessageBytes: 64 * 1024,
  maxBatchItems: 500,
  maxRandomBytes: 1024,
  minDataKeyBytes: 16,
  maxDataKeyBytes: 64,
  defaultPageSize: 50,
  maxPageSize: 500,
} as const;
