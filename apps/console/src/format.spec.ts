import { age, evidenceRoute, signInSubject, when } from './format';

describe('console formatting', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it('shows the age of a request in minutes, hours or days', () => {
    expect(age('2026-03-01T11:59:40Z', now)).toBe('now');
    expect(age('2026-03-01T11:45:00Z', now)).toBe('15 min');
    expect(age('2026-03-01T09:55:00Z', now)).toBe('2 h 5 min');
    expect(age('2026-02-25T11:00:00Z', now)).toBe('4 d 1 h');
    expect(age('not a date', now)).toBe('—');
  });

  it('sends a UUID as the identity id and anything else as the name', () => {
    expect(signInSubject(' 0B5F2C1E-6A4D-4C8B-9F0E-1A2B3C4D5E6F ')).toEqual({ identity_id: '0b5f2c1e-6a4d-4c8b-9f0e-1a2b3c4d5e6f' });
    expect(signInSubject('alice')).toEqual({ name: 'alice' });
  });

  it('opens control evidence on the console page that shows it', () => {
    const id = '0b5f2c1e-6a4d-4c8b-9f0e-1a2b3c4d5e6f';
    expect(evidenceRoute(`/v1/keys/${id}/history`)).toBe(`/keys/${id}`);
    expect(evidenceRoute(`/v1/evidence/keys/${id}`)).toBe(`/keys/${id}`);
    expect(evidenceRoute('/v1/keys?purpose=ROOT_TENANT&overdue=true')).toBe('/keys?purpose=ROOT_TENANT&overdue=true');
    expect(evidenceRoute('/v1/audit-records?outcome=DENIED')).toBe('/audit?outcome=DENIED');
    expect(evidenceRoute('/v1/approvals')).toBe('/approvals');
    expect(evidenceRoute('/v1/escrow')).toBe('/escrow');
    expect(evidenceRoute('/v1/ledger/audit/checkpoint')).toBeUndefined();
  });

  it('prints timestamps in UTC to the second', () => {
    expect(when('2026-03-01T09:00:00.123Z')).toBe('2026-03-01 09:00:00 UTC');
    expect(when(null)).toBe('—');
  });
});
