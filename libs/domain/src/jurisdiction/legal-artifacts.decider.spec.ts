import { foldWith } from '../events/decider';
import { KmsError } from '../errors/kms-error';
import {
  type LegalArtifactCommand,
  type LegalArtifactEvent,
  type LegalArtifactRegistration,
  legalArtifactsDecider,
  parseArtifactUrl,
  parseLegalArtifactKind,
  parseSha256,
  validateLegalArtifactFields,
  validateUploadDescription,
} from './legal-artifacts.decider';
import type { Jurisdiction } from './jurisdiction';

const metadata = { now: new Date('2026-06-01T10:00:00.000Z'), actor: 'carol', correlationId: 'c-1' };
const ID = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'] as const;

function registration(artifactId: string, extra: Partial<LegalArtifactRegistration> = {}): LegalArtifactRegistration {
  return { artifactId, jurisdiction: 'eu' as Jurisdiction, kind: 'DTIA', title: 'DTIA', owner: 'dpo', retentionLocation: 's3://eu', sha256: 'a'.repeat(64), hashOrigin: 'COMPUTED_FROM_UPLOAD', size: 10, mediaType: 'application/pdf', ...extra };
}

function when(events: LegalArtifactEvent[], command: LegalArtifactCommand): LegalArtifactEvent[] {
  return legalArtifactsDecider.decide(command, foldWith(legalArtifactsDecider, events));
}

function refusal(fn: () => unknown): { code: string; field: string | undefined } {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return { code: e.code, field: e.field };
    throw e;
  }
  throw new Error('not refused');
}

describe('legal artifacts of a jurisdiction', () => {
  it('registers, supersedes in the same decision, and withdraws; nothing is removed from the state', () => {
    const first = when([], { type: 'RegisterLegalArtifact', data: registration(ID[0]), metadata });
    expect(first.map((e) => e.type)).toEqual(['LegalArtifactRegistered']);
    const second = when(first, { type: 'RegisterLegalArtifact', data: registration(ID[1], { supersedes: ID[0] }), metadata });
    expect(second).toEqual([
      { type: 'LegalArtifactRegistered', data: registration(ID[1], { supersedes: ID[0] }), metadata: { actor: 'carol', correlationId: 'c-1', occurredAt: '2026-06-01T10:00:00.000Z' } },
      { type: 'LegalArtifactSuperseded', data: { artifactId: ID[0], jurisdiction: 'eu', supersededBy: ID[1] }, metadata: { actor: 'carol', correlationId: 'c-1', occurredAt: '2026-06-01T10:00:00.000Z' } },
    ]);
    const withdrawn = when([...first, ...second], { type: 'WithdrawLegalArtifact', data: { artifactId: ID[1], reason: 'expired' }, metadata });
    const state = foldWith(legalArtifactsDecider, [...first, ...second, ...withdrawn]);
    expect(state.artifacts.map((a) => [a.artifactId, a.status])).toEqual([
      [ID[0], 'SUPERSEDED'],
      [ID[1], 'WITHDRAWN'],
    ]);
    expect(state.artifacts[1]).toMatchObject({ withdrawnBy: 'carol', withdrawalReason: 'expired', registeredBy: 'carol' });
  });

  it('refuses to supersede an unknown or no longer active artifact, and to withdraw twice, naming the field', () => {
    const first = when([], { type: 'RegisterLegalArtifact', data: registration(ID[0]), metadata });
    expect(refusal(() => when(first, { type: 'RegisterLegalArtifact', data: registration(ID[1], { supersedes: ID[1] }), metadata }))).toEqual({ code: 'INVALID_ARGUMENT', field: 'supersedes' });
    const withdrawn = when(first, { type: 'WithdrawLegalArtifact', data: { artifactId: ID[0], reason: 'r' }, metadata });
    expect(refusal(() => when([...first, ...withdrawn], { type: 'WithdrawLegalArtifact', data: { artifactId: ID[0], reason: 'r' }, metadata }))).toEqual({ code: 'ILLEGAL_TRANSITION', field: 'artifactId' });
    expect(refusal(() => when([...first, ...withdrawn], { type: 'RegisterLegalArtifact', data: registration(ID[1], { supersedes: ID[0] }), metadata }))).toEqual({ code: 'ILLEGAL_TRANSITION', field: 'supersedes' });
    expect(refusal(() => when([], { type: 'WithdrawLegalArtifact', data: { artifactId: ID[0], reason: 'r' }, metadata }))).toEqual({ code: 'INVALID_ARGUMENT', field: 'artifactId' });
  });

  it('validates every field, naming it', () => {
    const ok = { jurisdiction: 'EU', kind: 'dtia', title: ' DTIA ', owner: 'dpo', retentionLocation: 'vault' };
    expect(validateLegalArtifactFields(ok)).toEqual({ jurisdiction: 'eu', kind: 'DTIA', title: 'DTIA', owner: 'dpo', retentionLocation: 'vault' });
    expect(refusal(() => validateLegalArtifactFields({ ...ok, jurisdiction: 'e_u' })).field).toBe('jurisdiction');
    expect(refusal(() => validateLegalArtifactFields({ ...ok, kind: 'NDA' })).field).toBe('kind');
    expect(refusal(() => validateLegalArtifactFields({ ...ok, title: 'x'.repeat(201) })).field).toBe('title');
    expect(refusal(() => validateLegalArtifactFields({ ...ok, owner: 'a\u0000b' })).field).toBe('owner');
    expect(refusal(() => validateLegalArtifactFields({ ...ok, retentionLocation: 42 })).field).toBe('retentionLocation');
    expect(refusal(() => validateLegalArtifactFields({ ...ok, supersedes: 'not-a-uuid' })).field).toBe('supersedes');
    expect(parseLegalArtifactKind(' emergency_access_plan ')).toBe('EMERGENCY_ACCESS_PLAN');
    expect(parseArtifactUrl('https://example.eu/a b.pdf')).toBe('https://example.eu/a%20b.pdf');
    for (const bad of ['ftp://example.eu/x', 'http://example.eu/x', 'https://u:p@example.eu/x', 'not a url', `https://e.eu/${'x'.repeat(2100)}`]) expect(refusal(() => parseArtifactUrl(bad)).field).toBe('url');
    expect(parseSha256('A'.repeat(64))).toBe('a'.repeat(64));
    expect(refusal(() => parseSha256('a'.repeat(63))).field).toBe('sha256');
    expect(validateUploadDescription('application/PDF; charset=binary', 'dtia.pdf')).toEqual({ mediaType: 'application/pdf', fileName: 'dtia.pdf' });
    expect(refusal(() => validateUploadDescription(undefined, undefined)).field).toBe('content-type');
    expect(refusal(() => validateUploadDescription('application/pdf', 'a/b.pdf')).field).toBe('fileName');
  });
});
