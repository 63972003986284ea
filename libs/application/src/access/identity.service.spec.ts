import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { applicationFixture, type ApplicationFixture, kmsErrorOf } from '../testing/application-fixture';
import { IdentityService } from './identity.service';

const SECRETS = { tokenSigningKey: Buffer.alloc(32, 1), credentialPepper: Buffer.alloc(32, 2) };

describe('IdentityService.issueToken: workloads only; people only through the verified sign-in', () => {
  let app: ApplicationFixture;
  let identities: IdentityService;

  beforeEach(() => {
    app = applicationFixture();
    identities = new IdentityService(app.store, SECRETS, app.clock);
  });
  afterEach(() => app.store.close());

  const register = (name: string, kind: 'HUMAN' | 'WORKLOAD') =>
    identities.register({ name, kind, roles: kind === 'HUMAN' ? ['security-engineering'] : [] }, { actor: 'test-setup', correlationId: randomUUID() });

  it.each([[['hwk', 'otp']], [['otp', 'hwk']], [['hwk']], [['otp']], [['mfa']], [['pwd', 'hwk']]])(
    'given a person with the right secret, when the client claims %j, then PERMISSION_DENIED naming auth_methods',
    async (methods) => {
      const { identity, clientSecret } = await register('alice', 'HUMAN');
      const e = await kmsErrorOf(identities.issueToken({ clientId: identity.identityId, clientSecret, authMethods: methods }));
      expect(e).toMatchObject({ code: 'PERMISSION_DENIED', field: 'auth_methods' });
      expect(e.message).toMatch(/cannot be claimed by a client/);
      expect(e.message).not.toContain(clientSecret);
    },
  );

  it.each([[undefined], [[]], [['pwd']]])('given a person with the right secret, when the client claims %j, then PERMISSION_DENIED naming client_id: people sign in', async (methods) => {
    const { identity, clientSecret } = await register('bob', 'HUMAN');
    const e = await kmsErrorOf(identities.issueToken({ clientId: identity.identityId, clientSecret, ...(methods ? { authMethods: methods } : {}) }));
    expect(e).toMatchObject({ code: 'PERMISSION_DENIED', field: 'client_id' });
    expect(e.message).toMatch(/security key and authenticator app/);
  });

  it('given a person, when the secret is wrong, then UNAUTHENTICATED like any unknown client (the kind is not revealed)', async () => {
    const { identity } = await register('carol', 'HUMAN');
    expect(await kmsErrorOf(identities.issueToken({ clientId: identity.identityId, clientSecret: 'wrong', authMethods: ['hwk', 'otp'] }))).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('given a workload, when it exchanges its secret, then it gets a token as before (claims unchanged)', async () => {
    const { identity, clientSecret } = await register('orders-service', 'WORKLOAD');
    const issued = await identities.issueToken({ clientId: identity.identityId, clientSecret });
    expect(decodeJwt(issued.token)).toMatchObject({ sub: identity.identityId, kind: 'WORKLOAD', amr: [] });
    expect((await identities.authenticate(issued.token)).identityId).toBe(identity.identityId);
  });

  it('given a person whose factors the server verified, when issueVerifiedPersonToken runs, then the token carries amr hwk+otp and the credential id', async () => {
    const { identity } = await register('dave', 'HUMAN');
    const issued = await identities.issueVerifiedPersonToken(identity.identityId, { webauthnCredentialId: 'cred-1' });
    expect(decodeJwt(issued.token)).toMatchObject({ sub: identity.identityId, kind: 'HUMAN', amr: ['hwk', 'otp'], cid: 'cred-1' });
  });
});
