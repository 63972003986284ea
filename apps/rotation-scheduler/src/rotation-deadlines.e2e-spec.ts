import {
  eventually,
  flushPrefix,
  type KeyRow,
  type KmsUnderTest,
  startKms,
  startScheduler,
  type SchedulerUnderTest,
  uniquePrefix,
} from './rotation-scheduler.e2e-harness';

async function createKey(kms: KmsUnderTest, name: string, purpose: string): Promise<string> {
  const key = await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name, purpose, algorithm: 'AES_256_GCM' });
  return key.key_id;
}

const versionCount = (k: KeyRow): number => k.versions.length;

/** Jobs of one key (the key service is shared by the tests of this file, and so are its other keys). */
async function jobsOf(s: SchedulerUnderTest, keyId: string): Promise<string[]> {
  return (await s.jobIds()).filter((id) => id.includes(`:${keyId}:`));
}

describe('rotation scheduler against the real key service (ManualClock, real tokens, real Redis and PostgreSQL)', () => {
  let kms: KmsUnderTest;
  const running: SchedulerUnderTest[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    kms = await startKms('rotsched');
  });
  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop();
    for (const p of prefixes.splice(0)) await flushPrefix(p);
  });
  afterAll(async () => {
    await kms.stop();
  });

  async function scheduler(prefix: string): Promise<SchedulerUnderTest> {
    const s = await startScheduler(kms, prefix);
    running.push(s);
    return s;
  }

  it('rotates a service envelope key created at day 0 at day 60, exactly once, though Redis was flushed at day 59 and the scheduler restarted at day 61', async () => {
    kms.day(0);
    const prefix = uniquePrefix('flush');
    prefixes.push(prefix);
    const keyId = await createKey(kms, 'payments-flush', 'SERVICE_ENVELOPE');
    const first = await scheduler(prefix);
    await first.settle();
    expect(await first.jobIds()).toContain(`rotate:${keyId}:v1`);

    kms.day(59);
    await first.scheduler.reconcile();
    await first.settle();
    expect(versionCount(await kms.getKey(keyId))).toBe(1);

    // Redis loses everything (no persistence on this machine), then the scheduler goes down.
    expect(await flushPrefix(prefix)).toBeGreaterThan(0);
    await first.stop();
    running.splice(running.indexOf(first), 1);
    kms.day(61);

    const second = await scheduler(prefix);
    // It resumed from its stored checkpoint (PostgreSQL), not from a replay of the whole store.
    const resumed = await second.scheduler.status();
    expect(resumed.restoredFrom).not.toBeNull();
    expect(BigInt(resumed.restoredFrom ?? '0')).toBeGreaterThan(0n);
    const key = await eventually(() => kms.getKey(keyId), (k) => versionCount(k) === 2);
    expect(key.primary_version).toBe(2);
    // More reconciles (periodic, on events) must not rotate again.
    await second.scheduler.reconcile();
    await second.scheduler.reconcile();
    await second.settle();

    const events = await kms.events(keyId);
    const rotations = events.filter((e) => e.type === 'PrimaryVersionChanged' && e.data['reason'] !== 'INITIAL');
    expect(rotations).toEqual([{ type: 'PrimaryVersionChanged', data: expect.objectContaining({ version: 2, previousVersion: 1, reason: 'SCHEDULED' }) }]);
    expect(events.filter((e) => e.type === 'KeyVersionCreated').map((e) => e.data['reason'])).toEqual(['INITIAL', 'SCHEDULED']);
    // The next deadline follows the new primary: 60 days after day 61.
    const after = await kms.getKey(keyId);
    expect(after.next_rotation_time).toBe(new Date(kms.clock.now().getTime() + 60 * 24 * 3600 * 1000).toISOString());
    expect(await jobsOf(second, keyId)).toEqual([`retire:${keyId}:v1`, `rotate:${keyId}:v2`].sort());
  });

  it('rotates at day 60 exactly once when the clock reaches the deadline and reconciles race', async () => {
    kms.day(0);
    const prefix = uniquePrefix('due');
    prefixes.push(prefix);
    const keyId = await createKey(kms, 'payments-due', 'SERVICE_ENVELOPE');
    const s = await scheduler(prefix);
    await s.settle();

    kms.day(60);
    await Promise.all([s.scheduler.reconcile(), s.scheduler.reconcile(), s.scheduler.reconcile()]);
    await eventually(() => kms.getKey(keyId), (k) => versionCount(k) === 2);
    await s.scheduler.reconcile();
    await s.settle();
    const reasons = (await kms.events(keyId)).filter((e) => e.type === 'KeyVersionCreated').map((e) => e.data['reason']);
    expect(reasons).toEqual(['INITIAL', 'SCHEDULED']);
  });

  it('does not rotate at day 60 a key rotated by hand at day 50: its deadline moved to day 110', async () => {
    kms.day(0);
    const prefix = uniquePrefix('manual');
    prefixes.push(prefix);
    const keyId = await createKey(kms, 'payments-manual', 'SERVICE_ENVELOPE');
    const s = await scheduler(prefix);
    await s.settle();

    kms.day(50);
    await kms.admin.call('RotateKey', { key_id: keyId, reason: 'MANUAL' });
    await eventually(() => s.jobIds(), (ids) => ids.includes(`rotate:${keyId}:v2`));
    kms.day(60);
    await s.scheduler.reconcile();
    await s.settle();
    expect(versionCount(await kms.getKey(keyId))).toBe(2);
    expect(await jobsOf(s, keyId)).toEqual([`retire:${keyId}:v1`, `rotate:${keyId}:v2`].sort());

    kms.day(110);
    await s.scheduler.reconcile();
    const key = await eventually(() => kms.getKey(keyId), (k) => versionCount(k) === 3);
    await s.settle();
    expect(versionCount(await kms.getKey(keyId))).toBe(3);
    expect((await kms.events(keyId)).filter((e) => e.type === 'KeyVersionCreated').map((e) => e.data['reason'])).toEqual(['INITIAL', 'MANUAL', 'SCHEDULED']);
    expect(key.primary_version).toBe(3);
  });

  it('schedules destruction of a retired root version once its 365 days of retention are over, once, then destroys it when due', async () => {
    kms.day(0);
    const prefix = uniquePrefix('root');
    prefixes.push(prefix);
    const keyId = await createKey(kms, 'tenant-root', 'ROOT_TENANT');
    // A workload acts directly (a person would need dual authorization for a root key).
    await kms.scheduler.call('RotateKey', { key_id: keyId, reason: 'TENANT_ROTATION' });
    const s = await scheduler(prefix);
    await s.settle();
    expect(await s.jobIds()).toContain(`retire:${keyId}:v1`);

    kms.day(364);
    await s.scheduler.reconcile();
    await s.settle();
    expect((await kms.getKey(keyId)).versions[0].state).toBe('ENABLED');

    kms.day(365);
    await s.scheduler.reconcile();
    const scheduled = await eventually(() => kms.getKey(keyId), (k) => k.versions[0].state === 'DESTROY_SCHEDULED');
    expect(scheduled.versions[0].destroy_time).toBe(new Date(kms.clock.now().getTime() + 30 * 24 * 3600 * 1000).toISOString());
    await s.scheduler.reconcile();
    await s.settle();
    const count = async (type: string): Promise<number> => (await kms.events(keyId)).filter((e) => e.type === type && e.data['version'] === 1).length;
    expect(await count('KeyVersionDestructionScheduled')).toBe(1);
    expect(await s.jobIds()).toContain(`destroy:${keyId}:v1`);

    kms.day(395);
    await s.scheduler.reconcile();
    await eventually(() => kms.getKey(keyId), (k) => k.versions[0].state === 'DESTROYED');
    await s.scheduler.reconcile();
    await s.settle();
    expect(await count('KeyVersionDestroyed')).toBe(1);
    expect(await count('KeyVersionDestructionScheduled')).toBe(1);
    expect(await jobsOf(s, keyId)).toEqual([`retire:${keyId}:v2`, `rotate:${keyId}:v3`].sort());
  });

  it('a retired root version is destroyed after 365 days only once every registered dependent confirmed the new one', async () => {
    kms.day(0);
    const prefix = uniquePrefix('rootdeps');
    prefixes.push(prefix);
    const keyId = await createKey(kms, 'tenant-root-deps', 'ROOT_TENANT');
    const partner = await kms.workload('partner-billing');
    await kms.admin.call('RegisterDependent', { key_id: keyId, dependent_id: partner.identityId, name: 'partner-billing' });
    await kms.scheduler.call('RotateKey', { key_id: keyId, reason: 'TENANT_ROTATION' });
    const s = await scheduler(prefix);
    await s.settle();
    // Awaiting the partner's confirmation of v2: nothing older is up for retirement, and the
    // confirmation window (24 h) has a deadline of its own.
    expect(await jobsOf(s, keyId)).toEqual([`confirm:${keyId}:v2`, `rotate:${keyId}:v2`]);

    // A day later the partner still has not confirmed: one urgent alert names it (notice kms.key.confirmations-overdue.v1).
    kms.day(1);
    await s.scheduler.reconcile();
    await s.settle();
    await s.scheduler.reconcile();
    await s.settle();
    const overdue = (await kms.events(keyId)).filter((e) => e.type === 'DependentConfirmationsOverdue');
    expect(overdue).toEqual([
      {
        type: 'DependentConfirmationsOverdue',
        data: { keyId, version: 2, confirmBy: new Date(kms.clock.now().getTime()).toISOString(), pending: [{ dependentId: partner.identityId, name: 'partner-billing' }] },
      },
    ]);
    expect(await jobsOf(s, keyId)).toEqual([`rotate:${keyId}:v2`]);

    kms.day(400);
    await s.scheduler.reconcile();
    await s.settle();
    // Past retention, but v1 stays; the root key's own 90-day rotation went on (v3), unconfirmed too.
    const waiting = await kms.getKey(keyId);
    expect([waiting.primary_version, waiting.versions[0].state]).toEqual([3, 'ENABLED']);

    await partner.call('ConfirmKeyVersion', { key_id: keyId, key_version: 3 });
    // Confirmed within its window: v3 raises no alert.
    await s.scheduler.reconcile();
    await s.settle();
    expect(await jobsOf(s, keyId)).not.toContain(`confirm:${keyId}:v3`);
    const scheduled = await eventually(() => kms.getKey(keyId), (k) => k.versions[0].state === 'DESTROY_SCHEDULED');
    expect(scheduled.versions[0].destroy_time).toBe(new Date(kms.clock.now().getTime() + 30 * 24 * 3600 * 1000).toISOString());
    await s.scheduler.reconcile();
    await s.settle();
    expect((await kms.events(keyId)).filter((e) => e.type === 'KeyVersionDestructionScheduled').map((e) => e.data['version'])).toEqual([1]);
    expect((await kms.events(keyId)).filter((e) => e.type === 'DependentConfirmationsOverdue')).toHaveLength(1);
  });

  it('keeps a retired data protection version while ciphertexts handed out under it remain, and retires it once ReEncrypt moved them all', async () => {
    kms.day(0);
    const prefix = uniquePrefix('dp');
    prefixes.push(prefix);
    const app = await kms.workload('orders-service');
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      tenant: 'acme',
      name: 'orders-dp',
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [app.identityId]: { permissions: ['GENERATE_DATA_KEY', 'ENCRYPT', 'DECRYPT'] } } },
    });
    const keyId = key.key_id;
    const aad = Buffer.from('order=42');
    const wrapped: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      wrapped.push((await app.call<{ ciphertext: Buffer }>('GenerateDataKey', { key_id: keyId, aad, without_plaintext: true })).ciphertext);
    }
    wrapped.push((await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyId, plaintext: Buffer.from('card'), aad })).ciphertext);
    const outstanding = async (): Promise<string[]> => (await kms.getKey(keyId)).versions.map((v) => String((v as unknown as { outstanding_ciphertexts: string }).outstanding_ciphertexts));
    expect(await outstanding()).toEqual(['4']);

    await kms.scheduler.call('RotateKey', { key_id: keyId, reason: 'MANUAL' });
    const s = await scheduler(prefix);
    await s.settle();
    // Due at once, but held: four ciphertexts still depend on v1.
    expect((await kms.getKey(keyId)).versions[0].state).toBe('ENABLED');
    const held = s.scheduler.history().filter((r) => r.jobId === `retire:${keyId}:v1`);
    expect(held.at(-1)?.outcome).toMatchObject({ status: 'held', detail: expect.stringContaining('4 ciphertext(s)') });
    // A person cannot retire it either without the two-person override.
    await expect(kms.scheduler.call('ScheduleKeyVersionDestruction', { key_id: keyId, key_version: 1 })).rejects.toMatchObject({ errorCode: 'CIPHERTEXTS_OUTSTANDING' });

    for (const ciphertext of wrapped.slice(0, 3)) await app.call('ReEncrypt', { ciphertext, source_aad: aad, destination_aad: aad });
    // The same ciphertext re-encrypted twice releases v1 once.
    await app.call('ReEncrypt', { ciphertext: wrapped[0], source_aad: aad, destination_aad: aad });
    expect(await outstanding()).toEqual(['1', '4']);
    kms.day(1);
    await s.scheduler.reconcile();
    await s.settle();
    expect((await kms.getKey(keyId)).versions[0].state).toBe('ENABLED');

    // The batch form moves it the same way.
    const batch = await app.call<{ results: Array<{ response?: { key_version: number; source_key_version: number } }> }>('BatchReEncrypt', {
      items: [{ ciphertext: wrapped[3], source_aad: aad, destination_aad: aad }],
    });
    expect(batch.results[0].response).toMatchObject({ key_version: 2, source_key_version: 1 });
    expect(await outstanding()).toEqual(['0', '5']);
    // The hold ends an hour later (KMS_SCHEDULER_RETIREMENT_RECHECK_SECONDS): then v1 is retired, once.
    kms.day(2);
    await s.scheduler.reconcile();
    await eventually(() => kms.getKey(keyId), (k) => k.versions[0].state === 'DESTROY_SCHEDULED');
    await s.scheduler.reconcile();
    await s.settle();
    expect((await kms.events(keyId)).filter((e) => e.type === 'KeyVersionDestructionScheduled')).toHaveLength(1);
  });

  it('destroys a version scheduled for destruction by a person when it is due, not before', async () => {
    kms.day(0);
    const prefix = uniquePrefix('destroy');
    prefixes.push(prefix);
    const keyId = await createKey(kms, 'svc-destroy', 'SERVICE_ENVELOPE');
    await kms.scheduler.call('RotateKey', { key_id: keyId, reason: 'MANUAL' });
    await kms.scheduler.call('ScheduleKeyVersionDestruction', { key_id: keyId, key_version: 1, destroy_after_days: 7 });
    const s = await scheduler(prefix);
    await s.settle();
    expect(await s.jobIds()).toContain(`destroy:${keyId}:v1`);

    kms.day(6);
    await s.scheduler.reconcile();
    await s.settle();
    expect((await kms.getKey(keyId)).versions[0].state).toBe('DESTROY_SCHEDULED');

    kms.day(7);
    await s.scheduler.reconcile();
    await eventually(() => kms.getKey(keyId), (k) => k.versions[0].state === 'DESTROYED');
    await s.settle();
    expect((await kms.events(keyId)).filter((e) => e.type === 'KeyVersionDestroyed')).toHaveLength(1);
  });

  it('reports lag, reconcile and queue counts on its status endpoint and readiness', async () => {
    const prefix = uniquePrefix('status');
    prefixes.push(prefix);
    const s = await scheduler(prefix);
    await s.settle();
    const statusUrl = `${s.app.url}/v1/rotation-scheduler/status`;
    // Only health and metrics are open: the status needs the token of a person who may read keys.
    const anonymous = await fetch(statusUrl);
    expect([anonymous.status, anonymous.headers.get('content-type')]).toEqual([401, expect.stringContaining('application/problem+json')]);
    expect((await fetch(statusUrl, { headers: { authorization: `Bearer ${await kms.scheduler.token()}` } })).status).toBe(401);
    const status = (await (await fetch(statusUrl, { headers: { authorization: `Bearer ${await kms.admin.token() /* signed in: security key + TOTP */}` } })).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ caughtUp: true, lag: 0, lastReconcileError: null, jobs: expect.objectContaining({ delayed: expect.any(Number) }) });
    const ready = await fetch(`${s.app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Array<{ name: string }> }).checks.map((c) => c.name).sort()).toEqual([
      'rotation-scheduler.redis',
      'rotation-scheduler.schedule',
    ]);
    expect(await (await fetch(`${s.app.url}/metrics`)).text()).toMatch(/kms_rotation_scheduler_jobs\{state="delayed"\} \d+/);
  });
});
