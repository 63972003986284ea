/*
 * HSM-backed Encrypt throughput beside the raw throughput of the same operation called directly
 * through pkcs11js, in one run, on a fresh SoftHSM2 token:
 *
 *   npx tsx libs/key-backend-pkcs11/src/bench/hsm-encrypt.bench.ts
 *
 * Both sides encrypt 1 KiB with AES-256-GCM (fresh 12-byte IV, 128-bit tag) under the same token key,
 * with the same number of sessions and the same number of requests in flight. Phases alternate
 * (raw, backend, raw, backend) so drift affects both. Settings: BENCH_SESSIONS (4),
 * BENCH_CONCURRENCY (16), BENCH_SECONDS per phase (3), BENCH_PAYLOAD bytes (1024).
 * Prints ops/s for each and the ratio backend / raw (target >= 0.7).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { createPkcs11Hsm } from '../pkcs11-hsm';
import { ensureSoftHsmToken } from '../softhsm-token';
import { softHsmTestRoot } from '../testing/softhsm-test-root';

const MODULE = process.env['KMS_HSM_MODULE'] ?? '/usr/lib/softhsm/libsofthsm2.so';
const SESSIONS = Number(process.env['BENCH_SESSIONS'] ?? 4);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const PAYLOAD = Number(process.env['BENCH_PAYLOAD'] ?? 1024);
const WARMUP_MS = 500;

type Encrypt = (plaintext: Buffer) => Promise<Buffer>;

/** Keep `CONCURRENCY` calls in flight for `ms`; returns completed calls per second. */
async function measure(encrypt: Encrypt, ms: number): Promise<number> {
  const plaintext = randomBytes(PAYLOAD);
  const deadline = performance.now() + ms;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await encrypt(plaintext);
      done += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return done / ((performance.now() - started) / 1000);
}

/** The raw side: pkcs11js on its own sessions, handed out first come first served, nothing else. */
function rawEncrypt(module: pkcs11js.PKCS11, sessions: Buffer[], key: Buffer): Encrypt {
  const free = [...sessions];
  const waiting: Array<(s: Buffer) => void> = [];
  const release = (s: Buffer): void => {
    const next = waiting.shift();
    if (next) next(s);
    else free.push(s);
  };
  return async (plaintext) => {
    const session = free.pop() ?? (await new Promise<Buffer>((r) => waiting.push(r)));
    try {
      const parameter: pkcs11js.GcmParams = { type: pkcs11js.CK_PARAMS_AES_GCM_v240, iv: randomBytes(12), ivBits: 96, tagBits: 128 };
      module.C_EncryptInit(session, { mechanism: pkcs11js.CKM_AES_GCM, parameter }, key);
      return await module.C_EncryptAsync(session, plaintext, Buffer.alloc(plaintext.length + 16));
    } finally {
      release(session);
    }
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(await softHsmTestRoot(), 'hsm-bench-'));
  const token = await ensureSoftHsmToken(dir);
  process.env['SOFTHSM2_CONF'] = token.confPath;
  const hsm = createPkcs11Hsm({
    modulePath: MODULE,
    token: { kind: 'label', label: token.label },
    pin: { kind: 'file', path: token.userPinFile },
    sessions: SESSIONS,
    softhsm2Conf: token.confPath,
  });
  const raw = new pkcs11js.PKCS11();
  const rawSessions: Buffer[] = [];
  try {
    const keyId = randomUUID();
    const { materialRef, origin } = await hsm.keyBackend.createVersion({ keyId, version: 1, algorithm: 'AES_256_GCM' });
    const handle = { keyId, version: 1, algorithm: 'AES_256_GCM' as const, materialRef };
    const aad = Buffer.alloc(0);
    const backendEncrypt: Encrypt = (plaintext) => hsm.keyBackend.encrypt(handle, plaintext, aad);

    // Same module, same token and key: the backend's pool has initialised the module and logged in.
    raw.load(MODULE);
    try {
      raw.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    } catch (e) {
      if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
    }
    const slot = raw.C_GetSlotList(true).find((s) => raw.C_GetTokenInfo(s).label.trim() === token.label);
    if (!slot) throw new Error('token not found');
    for (let i = 0; i < SESSIONS; i += 1) rawSessions.push(raw.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
    raw.C_FindObjectsInit(rawSessions[0], [
      { type: pkcs11js.CKA_LABEL, value: origin?.objectLabel ?? '' },
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    ]);
    const [key] = raw.C_FindObjects(rawSessions[0], 1);
    raw.C_FindObjectsFinal(rawSessions[0]);
    const rawSide = rawEncrypt(raw, rawSessions, key);

    await measure(rawSide, WARMUP_MS);
    await measure(backendEncrypt, WARMUP_MS);
    const rawRuns: number[] = [];
    const backendRuns: number[] = [];
    for (let round = 0; round < 2; round += 1) {
      rawRuns.push(await measure(rawSide, SECONDS * 1000));
      backendRuns.push(await measure(backendEncrypt, SECONDS * 1000));
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rawOps = mean(rawRuns);
    const backendOps = mean(backendRuns);
    const threads = process.env['UV_THREADPOOL_SIZE'] ?? '4 (default)';
    process.stdout.write(
      [
        `AES-256-GCM encrypt of ${PAYLOAD} B on SoftHSM2, ${SESSIONS} sessions, ${CONCURRENCY} in flight, ${SECONDS}s x 2 per side, ` +
          `UV_THREADPOOL_SIZE ${threads}, ${availableParallelism()} CPUs`,
        `raw pkcs11js        ${rawOps.toFixed(0).padStart(8)} ops/s   (runs: ${rawRuns.map((r) => r.toFixed(0)).join(', ')})`,
        `Pkcs11KeyBackend    ${backendOps.toFixed(0).padStart(8)} ops/s   (runs: ${backendRuns.map((r) => r.toFixed(0)).join(', ')})`,
        `ratio backend / raw ${(backendOps / rawOps).toFixed(2)}   (target >= 0.70)`,
        `peak sessions in use by the backend: ${hsm.pool.stats().peakLeased}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const s of rawSessions) raw.C_CloseSession(s);
    await hsm.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
