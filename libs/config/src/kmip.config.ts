import { resolve } from 'node:path';
import { z } from 'zod';
import { envVar } from './env-schema';

/** The KMIP server (docs/kmip.md): started by the key service and by standalone mode when enabled. */
export interface KmipConfig {
  /** KMS_KMIP_ENABLED: default true in standalone mode, false otherwise. */
  enabled: boolean;
  /** KMS_KMIP_ADDRESS, default 127.0.0.1:5696 (KMIP's port; 0 asks the OS). */
  address: { host: string; port: number };
  /**
   * KMS_KMIP_TLS_DIR, default <stateDir>/kmip: the local CA (ca.crt, ca.key) and the server certificate
   * (server.crt, server.key), created on first start with 0600 keys. Bring your own by putting ca.crt,
   * server.crt and server.key there before the first start.
   */
  tlsDir: string;
  /** KMS_KMIP_HOSTNAMES: names and addresses the generated server certificate is valid for (comma-separated), default localhost,127.0.0.1. */
  hostnames: string[];
  /** KMS_KMIP_MAX_MESSAGE_BYTES: largest request accepted, default 1 MiB. */
  maxMessageBytes: number;
  /**
   * KMS_KMIP_ALLOW_CLEAR_REGISTER, default false: accept a KMIP Register whose key arrives in clear
   * (no Key Wrapping Data). Off, only material wrapped for the KMS's import wrapping key is accepted.
   */
  allowClearRegister: boolean;
}

export function kmipSchema(cwd: string, standalone: boolean, stateDir: string) {
  return z
    .object({
      KMS_KMIP_ENABLED: envVar.boolean(standalone),
      KMS_KMIP_ADDRESS: envVar.address('127.0.0.1:5696'),
      KMS_KMIP_TLS_DIR: z.string().optional(),
      KMS_KMIP_HOSTNAMES: envVar.text('localhost,127.0.0.1'),
      KMS_KMIP_MAX_MESSAGE_BYTES: envVar.integer(1024 * 1024, 1024, 64 * 1024 * 1024),
      KMS_KMIP_ALLOW_CLEAR_REGISTER: envVar.boolean(false),
    })
    .transform(
      (v): KmipConfig => ({
        enabled: v.KMS_KMIP_ENABLED,
        address: v.KMS_KMIP_ADDRESS,
        tlsDir: v.KMS_KMIP_TLS_DIR ? resolve(cwd, v.KMS_KMIP_TLS_DIR) : resolve(stateDir, 'kmip'),
        hostnames: v.KMS_KMIP_HOSTNAMES.split(',')
          .map((h) => h.trim())
          .filter(Boolean),
        maxMessageBytes: v.KMS_KMIP_MAX_MESSAGE_BYTES,
        allowClearRegister: v.KMS_KMIP_ALLOW_CLEAR_REGISTER,
      }),
    );
}
