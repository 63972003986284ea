import { randomBytes, randomUUID } from 'node:crypto';
import { AuditedExecutor, type CallContext, type IdentityService, ManualClock, PersonFactorsService } from '@kms/application';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import {
  auditMigrations,
  consoleMigrations,
  createPgPool,
  dropSchema,
  PostgresAuditLog,
  PostgresSecondFactorStore,
  runMigrations,
  secondFactorMigrations,
  testDatabaseUrl,
  uniqueTestSchema,
} from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { oathtoolTotp, TestAuthenticator } from '@kms/testing';

const ORIGIN = 'http://localhost';
const TOTP_STEP_MS = 30_000;

/** Signs people in with real ceremonies when no key service runs (see peopleSigningIn). */
export interface CeremonyPeople {
  /** A token of the person from a full sign-in: their security key's assertion and a fresh TOTP code. */
  signIn(identityId: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * People's tokens for tests of the projector alone, obtained the way the key service obtains them —
 * enrolment with a one-time link, a WebAuthn registration and assertion from a test authenticator
 * that @simplewebauthn/server verifies, TOTP codes from Debian's oathtool — through the real
 * PersonFactorsService, never a token minted around the ceremony. `identities` is the identity view
 * whose tokens the API under test accepts. The ceremonies' own events, factor rows and audit records
 * live in a schema of their own, so the records the test writes stay exactly those it asserts on.
 */
export async function peopleSigningIn(identities: IdentityService): Promise<CeremonyPeople> {
  const url = testDatabaseUrl();
  const schema = uniqueTestSchema('ceremonies');
  await runMigrations({ url, schema }, [...eventStoreMigrations, ...auditMigrations, ...secondFactorMigrations, ...consoleMigrations]);
  const pool = createPgPool({ url, schema }, { max: 4 });
  const store = new PostgresEventStore(pool, { channel: `kms_events_${schema}`.slice(0, 63), pollIntervalMs: 50 });
  const auditLog = new PostgresAuditLog(pool, testAuditSealer());
  // The ceremonies' clock: real time, moved a TOTP step between codes so no code is a replay.
  const clock = new ManualClock(new Date());
  const factors = new PersonFactorsService({
    store,
    factors: new PostgresSecondFactorStore(pool),
    identities,
    executor: new AuditedExecutor(auditLog, clock),
    clock,
    relyingParty: { rpId: 'localhost', rpName: 'KMS (test)', origins: [ORIGIN] },
    totpWrapKey: randomBytes(32),
    enrolmentLinkTtlMinutes: 15,
  });
  const ctx = (): CallContext => ({ actor: 'unauthenticated', requestId: randomUUID() });
  const challengeOf = (options: unknown) => (options as { challenge: string }).challenge;
  const enrolled = new Map<string, Promise<{ key: TestAuthenticator; secret: string }>>();

  const enrol = async (identityId: string) => {
    // Issued as the KMS issues the bootstrap administrator's: by the system, here the test's setup.
    const link = await factors.issueLink(identityId, {}, { actor: 'test-setup', correlationId: randomUUID() });
    const key = new TestAuthenticator('localhost', ORIGIN);
    const options = await factors.registrationOptions(ctx(), { enrolmentToken: link.enrolmentToken });
    const registered = await factors.verifyRegistration(ctx(), { ceremonyId: options.ceremonyId, response: key.register({ challenge: challengeOf(options.options) }), enrolmentToken: link.enrolmentToken });
    const app = await factors.beginTotpEnrolment(ctx(), { enrolmentSession: registered.enrolmentSession });
    await factors.confirmTotpEnrolment(ctx(), { enrolmentSession: registered.enrolmentSession, code: oathtoolTotp(app.secret, clock.now()) });
    return { key, secret: app.secret };
  };

  return {
    async signIn(identityId) {
      let person = enrolled.get(identityId);
      if (!person) enrolled.set(identityId, (person = enrol(identityId)));
      const { key, secret } = await person;
      clock.advance(TOTP_STEP_MS);
      const options = await factors.signInOptions(ctx(), { identityId });
      const signedIn = await factors.signIn(ctx(), { ceremonyId: options.ceremonyId, response: key.assert({ challenge: challengeOf(options.options) }), totpCode: oathtoolTotp(secret, clock.now()) });
      return signedIn.token;
    },
    async close() {
      await store.close();
      await auditLog.close();
      await pool.end();
      await dropSchema({ url, schema });
    },
  };
}
