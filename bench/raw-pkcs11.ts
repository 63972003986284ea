import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';

/** GCM IV and tag lengths: the ones the KMS uses (12-byte IV, 128-bit tag). */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where the raw side finds the token object the KMS generated for the key version. */
export interface RawPkcs11Target {
  modulePath: string;
  tokenLabel: string;
  /** CKA_LABEL and hex CKA_ID of the version's secret key, as recorded in its key origin. */
  objectLabel: string;
  objectId: string;
  sessions: number;
}

/** The raw side: IV | ciphertext | tag, the layout the KMS backends produce, so a backend can decrypt it. */
export type RawEncrypt = (plaintext: Buffer, aad: Buffer) => Promise<Buffer>;

export interface RawPkcs11 {
  encrypt: RawEncrypt;
  /** The module, from C_GetInfo: manufacturer, description and library version. */
  module: string;
  close(): void;
}

/**
 * AES-256-GCM encrypt straight through pkcs11js and nothing else: `sessions` sessions of its own,
 * handed out first come first served, C_EncryptInit + C_EncryptAsync with a fresh 12-byte IV.
 * Copied from libs/key-backend-pkcs11/src/bench/hsm-encrypt.bench.ts (a lib's bench folder is not
 * importable), with the AAD and the IV | ciphertext | tag framing of the KMS so both sides do the
 * same work.
 *
 * The module must already be initialised and the user logged in on the token by someone in this
 * process (the key service's session pool): login state is per application, so these sessions are
 * logged in too, and the object handle found here is valid in them.
 */
export function openRawPkcs11(target: RawPkcs11Target): RawPkcs11 {
  const module = new pkcs11js.PKCS11();
  module.load(target.modulePath);
  const sessions: Buffer[] = [];
  try {
    try {
      module.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
    }
    const info = module.C_GetInfo();
    const description = `${info.manufacturerID.trim()} ${info.libraryDescription.trim()} ${info.libraryVersion.major}.${info.libraryVersion.minor}`;
    const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trim() === target.tokenLabel);
    if (!slot) throw new Error(`raw pkcs11js: no token labelled "${target.tokenLabel}"`);
    for (let i = 0; i < target.sessions; i += 1) sessions.push(module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    module.C_FindObjectsInit(sessions[0], [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_LABEL, value: target.objectLabel },
      { type: pkcs11js.CKA_ID, value: Buffer.from(target.objectId, 'hex') },
    ]);
    const found = module.C_FindObjects(sessions[0], 2);
    module.C_FindObjectsFinal(sessions[0]);
    if (found.length !== 1) throw new Error(`raw pkcs11js: expected one secret key "${target.objectLabel}" on the token, found ${found.length}`);
    const key = found[0];

    const free = [...sessions];
    const waiting: Array<(s: Buffer) => void> = [];
    const release = (s: Buffer): void => {
      const next = waiting.shift();
      if (next) next(s);
      else free.push(s);
    };
    const encrypt: RawEncrypt = async (plaintext, aad) => {
      const session = free.pop() ?? (await new Promise<Buffer>((r) => waiting.push(r)));
      try {
        const out = Buffer.allocUnsafe(IV_BYTES + plaintext.length + TAG_BYTES);
        const iv = randomBytes(IV_BYTES);
        iv.copy(out);
        const parameter: pkcs11js.GcmParams = { type: pkcs11js.CK_PARAMS_AES_GCM_v240, iv, ivBits: IV_BYTES * 8, aad, tagBits: TAG_BYTES * 8 };
        module.C_EncryptInit(session, { mechanism: pkcs11js.CKM_AES_GCM, parameter }, key);
        // ciphertext | tag written straight after the IV, as the backend does: no extra copy on either side.
        const sealed = await module.C_EncryptAsync(session, plaintext, out.subarray(IV_BYTES));
        return out.subarray(0, IV_BYTES + sealed.length);
      } finally {
        release(session);
      }
    };
    return {
      encrypt,
      module: description,
      close: () => closeSessions(module, sessions),
    };
  } catch (e) {
    closeSessions(module, sessions);
    throw e;
  }
}

/** Close our sessions and unload our handle on the library; the module stays initialised for its owner. */
function closeSessions(module: pkcs11js.PKCS11, sessions: Buffer[]): void {
  for (const s of sessions.splice(0)) {
    try {
      module.C_CloseSession(s);
    } catch {
      // Gone already.
    }
  }
  module.close();
}
