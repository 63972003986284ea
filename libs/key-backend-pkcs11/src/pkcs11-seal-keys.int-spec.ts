/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { EVENT_SEAL_KEY_PURPOSE, MasterKey } from '@kms/key-backend-software';
import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { historySealKeys, masterKeySealKeys } from './history-seal-keys';
import { createPkcs11Hsm } from './pkcs11-hsm';
import { findObjects } from './pkcs11-objects';
import { Pkcs11SealKeySource } from './pkcs11-seal-keys';
import { SOFTHSM_MODULE, softHsmTestToken } from './testing/softhsm-test-token';

const token = softHsmTestToken();
const options = { modulePath: SOFTHSM_MODULE, token: { kind: 'label' as const, label: token.label }, pin: { kind: 'file' as const, path: token.userPinFile }, softhsm2Conf: token.confPath };
const hsm = createPkcs11Hsm(options);

afterAll(() => hsm.close());

describe('history seal keys derived inside the HSM (SoftHSM2)', () => {
  it('creates the seal root on first use as a sensitive, never extractable secret, and one only however many ask at once', async () => {
    const label = `kms-seal-test-${randomBytes(4).toString('hex')}`;
    const keys = await Promise.all([1, 2, 3, 4].map(() => new Pkcs11SealKeySource(hsm.pool, label).derive(EVENT_SEAL_KEY_PURPOSE)));
    // Every caller got the same key (a second root made in a race is ignored: all settle on the lowest CKA_ID).
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(1);
    const attributes = await hsm.pool.withSession('test', async (s) =>
      findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: label }]).map((o) => {
        const [sensitive, extractable, sign] = s.module.C_GetAttributeValue(s.handle, o.handle, [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_SIGN }]);
        let value: unknown;
        try {
          value = s.module.C_GetAttributeValue(s.handle, o.handle, [{ type: pkcs11js.CKA_VALUE }])[0]?.value;
        } catch (e) {
          value = e instanceof Error ? e.message : String(e);
        }
        return { objectClass: o.objectClass, keyType: o.keyType, sensitive: sensitive.value[0], extractable: extractable.value[0], sign: sign.value[0], value };
      }),
    );
    expect(attributes.length).toBeGreaterThanOrEqual(1);
    for (const a of attributes) {
      expect(a).toMatchObject({ objectClass: pkcs11js.CKO_SECRET_KEY, keyType: pkcs11js.CKK_GENERIC_SECRET, sensitive: 1, extractable: 0, sign: 1 });
      // The token refuses to give the root's value out.
      expect(String(a.value)).toContain('CKR_ATTRIBUTE_SENSITIVE');
    }
  });

  it('derives the same keys in another process and another session, a different key per purpose, and not the master-key ones', async () => {
    const label = `kms-seal-test-${randomBytes(4).toString('hex')}`;
    const first = await new Pkcs11SealKeySource(hsm.pool, label).derive('event-seal-v1');
    // A second pool on the same token stands for another process (the projector, the scheduler).
    const other = createPkcs11Hsm(options);
    try {
      expect((await new Pkcs11SealKeySource(other.pool, label).derive('event-seal-v1')).equals(first)).toBe(true);
    } finally {
      await other.close().catch(() => undefined);
    }
    const audit = await new Pkcs11SealKeySource(hsm.pool, label).derive('audit-seal-v1');
    expect(first).toHaveLength(32);
    expect(audit.equals(first)).toBe(false);
    await expect(new Pkcs11SealKeySource(hsm.pool, label).derive('Not A Purpose')).rejects.toThrow('purpose must be');
  });

  it('a process that may not create the root finds it, or fails saying who creates it', async () => {
    const label = `kms-seal-test-${randomBytes(4).toString('hex')}`;
    await expect(new Pkcs11SealKeySource(hsm.pool, label, false).derive('event-seal-v1')).rejects.toThrow(`the HSM has no seal root ${label}: it is created by the key service or the migrate step`);
    const created = await new Pkcs11SealKeySource(hsm.pool, label).derive('event-seal-v1');
    expect((await new Pkcs11SealKeySource(hsm.pool, label, false).derive('event-seal-v1')).equals(created)).toBe(true);
  });

  it('historySealKeys: the HSM keys with an HSM, the master-key keys without', async () => {
    const masterKey = MasterKey.fromBytes(randomBytes(32));
    const fromHsm = await historySealKeys(hsm.pool, masterKey);
    const fromMaster = await historySealKeys(undefined, masterKey);
    expect(fromHsm.source).toBe('HSM');
    expect(fromMaster).toEqual(masterKeySealKeys(masterKey));
    expect(fromMaster.source).toBe('master-key');
    expect(fromHsm.events.equals(fromMaster.events)).toBe(false);
    expect(fromHsm.audit.equals(fromMaster.audit)).toBe(false);
    // The same HSM gives the same keys whatever the master key.
    expect((await historySealKeys(hsm.pool, MasterKey.fromBytes(randomBytes(32)))).events.equals(fromHsm.events)).toBe(true);
  });
});
