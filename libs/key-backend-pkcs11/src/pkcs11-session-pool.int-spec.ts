/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import type { VersionHandle } from '@kms/application';
import { KmsError } from '@kms/domain';
import { randomBytes, randomUUID } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { Pkcs11KeyBackend } from './pkcs11-key-backend';
import { Pkcs11SessionPool, type HsmFailure, type Pkcs11SessionPoolOptions } from './pkcs11-session-pool';
import { SOFTHSM_MODULE, softHsmTestToken } from './testing/softhsm-test-token';

const token = softHsmTestToken();
const EMPTY = Buffer.alloc(0);

function options(overrides: Partial<Pkcs11SessionPoolOptions> = {}): Pkcs11SessionPoolOptions {
  return {
    modulePath: SOFTHSM_MODULE,
    token: { kind: 'label', label: token.label },
    pin: { kind: 'file', path: token.userPinFile },
    softhsm2Conf: token.confPath,
    ...overrides,
  };
}

/** Settles like `p`, or rejects when `p` has not settled within `ms`: a hang fails the test instead of stalling it. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

async function outcome(p: Promise<unknown>): Promise<'ok' | KmsError> {
  return p.then(
    () => 'ok' as const,
    (e: unknown) => {
      expect(e).toBeInstanceOf(KmsError);
      return e as KmsError;
    },
  );
}

/** Retry `fn` until it succeeds, for at most `ms`. */
async function eventually<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A second handle on the same module, as another part of the process (or a fault) would have. */
class Saboteur {
  private readonly module = new pkcs11js.PKCS11();

  constructor() {
    this.module.load(SOFTHSM_MODULE);
  }

  private initialized(): void {
    try {
      this.module.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
    }
  }

  private slot(): Buffer {
    this.initialized();
    const slot = this.module.C_GetSlotList(true).find((s) => this.module.C_GetTokenInfo(s).label.trim() === token.label);
    if (!slot) throw new Error('token not found');
    return slot;
  }

  closeAllSessions(): void {
    this.module.C_CloseAllSessions(this.slot());
  }

  logout(): void {
    const session = this.module.C_OpenSession(this.slot(), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.module.C_Logout(session);
    } finally {
      this.module.C_CloseSession(session);
    }
  }

  finalize(): void {
    this.module.C_Finalize();
  }
}

describe('Pkcs11SessionPool on SoftHSM2', () => {
  // Before the main pool logs in: login state is shared by everything in the process.
  describe('connect failures', () => {
    it('a wrong PIN: BACKEND_UNAVAILABLE naming the return code but not the PIN, reported, and no retries that could lock it', async () => {
      const failures: HsmFailure[] = [];
      const pin = 'not-the-pin-4711';
      const pool = new Pkcs11SessionPool(options({ pin: { kind: 'env', value: { reveal: () => pin } }, onFailure: (f) => failures.push(f) }));
      try {
        const first = await within(5_000, outcome(pool.connect()));
        expect(first).toBeInstanceOf(KmsError);
        const err = first as KmsError;
        expect(err.code).toBe('BACKEND_UNAVAILABLE');
        expect(err.message).toBe('HSM unavailable: login to token "kms" refused (CKR_PIN_INCORRECT)');
        expect(failures).toEqual([{ operation: 'connect', returnCode: 'CKR_PIN_INCORRECT', message: err.message, reconnecting: false }]);
        // Fails fast from now on, without another login attempt.
        const started = Date.now();
        expect(((await outcome(pool.connect())) as KmsError).message).toBe(err.message);
        expect(Date.now() - started).toBeLessThan(100);
        expect(failures).toHaveLength(1);
        expect(JSON.stringify({ failures, err, stats: pool.stats() })).not.toContain(pin);
      } finally {
        await pool.close();
      }
    });

    it('a module that cannot be loaded: BACKEND_UNAVAILABLE at once, with a retry scheduled', async () => {
      const failures: HsmFailure[] = [];
      const pool = new Pkcs11SessionPool(options({ modulePath: '/nonexistent/libpkcs11.so', onFailure: (f) => failures.push(f) }));
      try {
        const err = (await within(5_000, outcome(pool.connect()))) as KmsError;
        expect(err.code).toBe('BACKEND_UNAVAILABLE');
        expect(err.message).toMatch(/^HSM unavailable: cannot load the PKCS#11 module \/nonexistent\/libpkcs11.so/);
        expect(failures[0]).toMatchObject({ operation: 'connect', reconnecting: true });
        expect(pool.stats().state).toBe('unavailable');
      } finally {
        await pool.close();
      }
    });

    it('a token label that is not there names it', async () => {
      const pool = new Pkcs11SessionPool(options({ token: { kind: 'label', label: 'no-such-token' } }));
      try {
        const err = (await within(5_000, outcome(pool.connect()))) as KmsError;
        expect(err.message).toBe(`HSM unavailable: no initialised token labelled "no-such-token" in ${SOFTHSM_MODULE}`);
      } finally {
        await pool.close();
      }
    });
  });

  describe('with a working token', () => {
    const failures: HsmFailure[] = [];
    const pool = new Pkcs11SessionPool(options({ sessions: 4, onFailure: (f) => failures.push(f) }));
    const backend = new Pkcs11KeyBackend(pool);
    const saboteur = new Saboteur();
    let aes: VersionHandle;

    beforeAll(async () => {
      const keyId = randomUUID();
      const { materialRef } = await backend.createVersion({ keyId, version: 1, algorithm: 'AES_256_GCM' });
      aes = { keyId, version: 1, algorithm: 'AES_256_GCM', materialRef };
    });
    beforeEach(() => {
      failures.length = 0;
    });
    afterAll(() => pool.close());

    it('runs 200 parallel encryptions on more than one session, all of which decrypt', async () => {
      const plaintexts = Array.from({ length: 200 }, () => randomBytes(1024));
      const bodies = await within(30_000, Promise.all(plaintexts.map((p) => backend.encrypt(aes, p, EMPTY))));
      expect(pool.stats().peakLeased).toBeGreaterThan(1);
      expect(pool.stats().peakLeased).toBeLessThanOrEqual(4);
      const decrypted = await Promise.all(bodies.map((b) => backend.decrypt(aes, b, EMPTY)));
      expect(decrypted.every((d, i) => d.equals(plaintexts[i]))).toBe(true);
      expect(failures).toEqual([]);
    });

    it('waits at most the acquire timeout for a session, then answers BACKEND_UNAVAILABLE', async () => {
      const small = new Pkcs11SessionPool(options({ sessions: 1, acquireTimeoutMs: 200 }));
      try {
        let release: () => void = () => undefined;
        const held = small.withSession('hold', () => new Promise<void>((r) => (release = r)));
        await eventually(2_000, async () => expect(small.stats().leased).toBe(1));
        const started = Date.now();
        const err = (await within(2_000, outcome(small.withSession('second', async () => undefined)))) as KmsError;
        expect(err.message).toBe('HSM unavailable: no HSM session became free within 200 ms');
        expect(Date.now() - started).toBeGreaterThanOrEqual(190);
        release();
        await held;
        await small.withSession('third', async () => undefined);
      } finally {
        await small.close();
      }
    });

    it.each<[string, (s: Saboteur) => void, string]>([
      ['all sessions are closed behind its back', (s) => s.closeAllSessions(), 'CKR_SESSION_HANDLE_INVALID'],
      ['the application is logged out behind its back', (s) => s.logout(), 'CKR_USER_NOT_LOGGED_IN'],
      ['the module is finalized behind its back', (s) => s.finalize(), 'CKR_CRYPTOKI_NOT_INITIALIZED'],
    ])('recovers when %s: the next request fails fast or succeeds, the failure is reported, later requests work', async (_what, sabotage, code) => {
      const body = await backend.encrypt(aes, Buffer.from('before'), EMPTY);
      const generation = pool.stats().generation;
      sabotage(saboteur);

      const next = await within(10_000, outcome(backend.encrypt(aes, Buffer.from('during'), EMPTY)));
      if (next !== 'ok') {
        expect(next.code).toBe('BACKEND_UNAVAILABLE');
        expect(next.message).toBe(`HSM unavailable: encrypt failed (${code}); reconnecting`);
      }
      expect(failures[0]).toEqual({ operation: 'encrypt', returnCode: code, message: `encrypt failed: ${code}`, reconnecting: true });

      const after = await within(10_000, eventually(5_000, () => backend.decrypt(aes, body, EMPTY)));
      expect(after.toString()).toBe('before');
      expect(pool.stats()).toMatchObject({ state: 'ready', generation: generation + 1, sessions: 4 });
      // The lost login was not mistaken for lost material.
      expect(failures.map((f) => f.message).join()).not.toContain('missing');
    });

    it('answers concurrent requests during a reconnect without hanging, then serves them all', async () => {
      saboteur.closeAllSessions();
      const results = await within(15_000, Promise.all(Array.from({ length: 50 }, () => outcome(backend.encrypt(aes, Buffer.from('x'), EMPTY)))));
      for (const r of results) if (r !== 'ok') expect(r.code).toBe('BACKEND_UNAVAILABLE');
      expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(0);
      await backend.encrypt(aes, Buffer.from('y'), EMPTY);
    });
  });
});
