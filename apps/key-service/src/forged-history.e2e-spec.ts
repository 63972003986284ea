import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { KmsCallError } from '@kms/contracts';
import { startKeyServiceUnderTest, type KeyServiceUnderTest } from './key-service.e2e-harness';

/*
 * The attack of an insider who can write to PostgreSQL: a KeyPolicyChanged row INSERTed with a
 * made-up actor, approvers and change ticket, granting a workload DECRYPT. Events are sealed under a
 * key the database never sees, so the forged row never becomes history: the grant does not take
 * effect, and a change to that key is refused naming the row.
 */
describe('a forged event in the store does not become history', () => {
  let kms: KeyServiceUnderTest;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_forged_history');
  }, 60_000);

  afterAll(async () => {
    await kms?.stop();
  });

  it('an INSERTed KeyPolicyChanged grants nothing, and changing the key is refused naming the row', async () => {
    const owner = await kms.register('forged-owner', 'WORKLOAD');
    const mallory = await kms.register('forged-mallory', 'WORKLOAD');
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      tenant: 'forged',
      name: 'payments',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [owner.identityId]: { permissions: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] } } },
    });
    const { ciphertext } = await owner.call<{ ciphertext: Buffer }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('salary data') });
    const next = (await kms.db.query<{ v: number }>('SELECT max(stream_version) AS v FROM events WHERE stream_id = $1', [`key-${key.key_id}`])).rows[0].v + 1;
    await kms.db.query(
      `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, $3, 'KeyPolicyChanged', $4, $5)`,
      [
        randomUUID(),
        `key-${key.key_id}`,
        next,
        JSON.stringify({ keyId: key.key_id, policy: { grants: { [mallory.identityId]: ['DECRYPT'] } }, previousPolicy: { grants: {} } }),
        JSON.stringify({ actor: kms.admin.identityId, approvers: ['someone-else'], changeTicket: 'CHG-666', correlationId: randomUUID(), occurredAt: new Date().toISOString() }),
      ],
    );
    // Time for the subscription to reach (and stop at) the row.
    await new Promise((r) => setTimeout(r, 1500));

    // The forged grant never took effect: mallory gets the answer of anyone without a DECRYPT grant.
    const requestId = randomUUID();
    const stolen = await mallory.call('Decrypt', { ciphertext }, requestId).catch((e: unknown) => e);
    expect(stolen).toBeInstanceOf(KmsCallError);
    expect(stolen).toMatchObject({ code: status.INVALID_ARGUMENT, errorCode: 'INVALID_CIPHERTEXT' });
    const refusal = await kms.db.query(`SELECT outcome, details->>'ciphertextRefusal' AS why FROM audit_records WHERE request_id = $1`, [requestId]);
    expect(refusal.rows).toEqual([{ outcome: 'DENIED', why: 'NO_DECRYPT_GRANT' }]);

    const change = await owner.call('RotateKey', { key_id: key.key_id }).catch((e: unknown) => e);
    expect(change).toMatchObject({ code: status.UNAVAILABLE, errorCode: 'INTEGRITY_VIOLATION' });
    expect((change as KmsCallError).message).toContain(`key-${key.key_id} version ${next}`);
    expect((change as KmsCallError).message).toContain('not sealed');
    const audited = await kms.db.query(`SELECT outcome, error_code FROM audit_records WHERE operation = 'RotateKey' AND key_id = $1`, [key.key_id]);
    expect(audited.rows).toEqual([{ outcome: 'FAILURE', error_code: 'INTEGRITY_VIOLATION' }]);

    // The alarm: in the audit trail (once, however many readers refused the row), naming the record.
    const position = (await kms.db.query<{ p: string }>('SELECT global_position::text AS p FROM events WHERE stream_id = $1 AND stream_version = $2', [`key-${key.key_id}`, next])).rows[0].p;
    const alarms = await kms.db.query(`SELECT actor, outcome, error_code, details FROM audit_records WHERE operation = 'IntegrityViolation'`);
    expect(alarms.rows).toEqual([
      {
        actor: 'system:key-service',
        outcome: 'FAILURE',
        error_code: 'INTEGRITY_VIOLATION',
        details: expect.objectContaining({ source: 'events', streamId: `key-${key.key_id}`, streamVersion: next, position, problem: 'the event is not sealed' }),
      },
    ]);
    // …on /readyz (not ready: history cannot be trusted) and in /metrics, naming the record.
    const readyz = await fetch(`${kms.httpUrl}/readyz`);
    expect(readyz.status).toBe(503);
    const integrity = ((await readyz.json()) as { checks: Array<{ name: string; status: string; error?: string }> }).checks.find((c) => c.name === 'key-service.integrity');
    expect(integrity).toMatchObject({ status: 'failed', error: expect.stringContaining(`event key-${key.key_id} version ${next} (position ${position}): the event is not sealed`) });
    const metrics = await (await fetch(`${kms.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`kms_integrity_alarm\\{[^}]*source="events",position="${position}",record="key-${key.key_id}@${next}"[^}]*\\} 1`));
    expect(metrics).toContain('kms_integrity_alarms_total{source="events"} 1');
  }, 60_000);
});
