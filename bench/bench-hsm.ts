import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyBackend, VersionHandle } from '@kms/application';
import { keyStreamId, type KeyVersionCreated } from '@kms/domain';
import { ensureSoftHsmToken, JurisdictionalHsmBackend, Pkcs11KeyBackend, type SoftHsmToken } from '@kms/key-backend-pkcs11';
import { softHsmTestRoot } from '@kms/key-backend-pkcs11/testing';
import type { RunningKeyService } from '@kms/key-service-app';

/** The PKCS#11 module the bench loads: SoftHSM2 unless KMS_HSM_MODULE names another. */
export const BENCH_HSM_MODULE = process.env['KMS_HSM_MODULE'] || '/usr/lib/softhsm/libsofthsm2.so';

/** A throw-away SoftHSM2 token in a fresh folder under .kms-state/test. */
export interface BenchToken {
  token: SoftHsmToken;
  /** The environment the key service's configuration needs to use it. */
  env: Record<string, string>;
  /** Remove the folder (token, PIN files) and restore SOFTHSM2_CONF. */
  remove(): Promise<void>;
}

/**
 * Provision a token with ensureSoftHsmToken in a fresh folder under .kms-state/test and point SOFTHSM2_CONF at it.
 * SoftHSM2 reads SOFTHSM2_CONF with getenv() at C_Initialize, so it is set in the real process
 * environment here, before anything in this process loads the module.
 */
export async function provisionBenchToken(sessions: number): Promise<BenchToken> {
  const dir = await mkdtemp(join(await softHsmTestRoot(), 'bench-hsm-'));
  const previousConf = process.env['SOFTHSM2_CONF'];
  const remove = async (): Promise<void> => {
    if (previousConf === undefined) delete process.env['SOFTHSM2_CONF'];
    else process.env['SOFTHSM2_CONF'] = previousConf;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const token = await ensureSoftHsmToken(dir);
    process.env['SOFTHSM2_CONF'] = token.confPath;
    return {
      token,
      env: {
        KMS_HSM_ENABLED: '1',
        KMS_HSM_MODULE: BENCH_HSM_MODULE,
        KMS_HSM_TOKEN_LABEL: token.label,
        KMS_HSM_PIN_FILE: token.userPinFile,
        KMS_HSM_SESSIONS: String(sessions),
        SOFTHSM2_CONF: token.confPath,
      },
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** A key's HSM version 1 as the service holds it: the backend instance, its handle, and the token object's name. */
export interface HsmVersionUnderBench {
  /** What the service's HSM calls go through: the JurisdictionalHsmBackend over its Pkcs11KeyBackend instances (or one Pkcs11KeyBackend). */
  backend: KeyBackend;
  handle: VersionHandle;
  objectLabel: string;
  objectId: string;
}

/**
 * The service's own Pkcs11KeyBackend (the instance its gRPC calls go through, on its session pool) and
 * version 1 of `keyId`, read from the key's KeyVersionCreated event the way the service reads it.
 */
export async function hsmVersionOf(service: RunningKeyService, keyId: string): Promise<HsmVersionUnderBench> {
  const backend = service.runtime.deps.backends.HSM;
  if (!(backend instanceof Pkcs11KeyBackend) && !(backend instanceof JurisdictionalHsmBackend)) throw new Error('the service has no PKCS#11 backend for protection level HSM');
  const { events } = await service.runtime.deps.store.readStream(keyStreamId(keyId));
  const created = events.find((e) => e.type === 'KeyVersionCreated' && e.data['version'] === 1);
  if (!created) throw new Error(`key ${keyId} has no version 1`);
  const data = created.data as KeyVersionCreated['data'];
  if (data.protectionLevel !== 'HSM' || !data.origin) throw new Error(`key ${keyId} version 1 is not an HSM version (${data.protectionLevel})`);
  return {
    backend,
    handle: { keyId, version: data.version, algorithm: data.algorithm, materialRef: data.materialRef },
    objectLabel: data.origin.objectLabel,
    objectId: data.origin.objectId,
  };
}
