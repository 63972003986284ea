import { foldWith } from '../events/decider';
import type { CommandMetadata } from '../key/key.commands';
import { escrowCeremonyDecider, pendingDeclarations, validateEscrowPolicy, type EscrowCeremonyCommand, type EscrowCeremonyState } from './escrow.decider';
import type { EscrowCeremonyEvent } from './escrow.events';

const T0 = new Date('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const hex = (c: string) => c.repeat(64);
const CUSTODIANS = ['carol', 'dave', 'erin'];

function meta(now = T0): CommandMetadata {
  return { now, actor: 'alice', correlationId: 'c' };
}

function given(...commands: EscrowCeremonyCommand[]): { state: EscrowCeremonyState; events: EscrowCeremonyEvent[] } {
  let state = escrowCeremonyDecider.initialState();
  const events: EscrowCeremonyEvent[] = [];
  for (const c of commands) {
    const e = escrowCeremonyDecider.decide(c, state);
    events.push(...e);
    state = foldWith(escrowCeremonyDecider, e, state);
  }
  return { state, events };
}

const seal: EscrowCeremonyCommand = {
  type: 'SealEscrow',
  data: {
    opened: { ceremonyId: 'c1', keyId: 'k', version: 1, threshold: 2, shareCount: 3, witness: 'wendy', custodians: CUSTODIANS, keyFingerprint: hex('a'), previousCeremonyId: null },
    packages: CUSTODIANS.map((c, i) => ({ ceremonyId: 'c1', custodianId: c, shareIndex: i + 1, commitment: hex('b'), packageFingerprint: hex(String(i + 1)) })),
    transcript: {},
    attestationSignature: 'sig',
  },
  metadata: meta(),
};
const counterSigns = CUSTODIANS.map((c): EscrowCeremonyCommand => ({ type: 'CounterSignTranscript', data: { custodianId: c, signature: 's' }, metadata: meta() }));
const supersede: EscrowCeremonyCommand = { type: 'SupersedeEscrow', data: { byCeremonyId: 'c2', declareBy: new Date(T0.getTime() + 48 * HOUR) }, metadata: meta() };
const declare = (c: string, i: number, packageFingerprint = hex(String(i + 1))): EscrowCeremonyCommand => ({
  type: 'DeclarePackageDestroyed',
  data: { ceremonyId: 'c1', custodianId: c, packageFingerprint, declaration: {}, signature: 's' },
  metadata: meta(),
});

describe('escrow policy', () => {
  it.each([
    [{ threshold: 1, custodians: CUSTODIANS, witness: 'w', declarationWindowHours: 1 }, 'threshold'],
    [{ threshold: 4, custodians: CUSTODIANS, witness: 'w', declarationWindowHours: 1 }, 'custodians'],
    [{ threshold: 2, custodians: ['a', 'a'], witness: 'w', declarationWindowHours: 1 }, 'custodians'],
    [{ threshold: 2, custodians: CUSTODIANS, witness: 'carol', declarationWindowHours: 1 }, 'witness'],
    [{ threshold: 2, custodians: CUSTODIANS, witness: 'w', declarationWindowHours: 0 }, 'declaration_window_hours'],
  ])('refuses %j naming %s', (policy, field) => {
    expect(() => validateEscrowPolicy(policy)).toThrow(expect.objectContaining({ field }));
  });
});

describe('escrow ceremony decider', () => {
  it('given a seal, when every participant counter-signs, then the ceremony is SEALED', () => {
    expect(given(seal).state.status).toBe('SEALING');
    expect(given(seal, ...counterSigns).state.status).toBe('SEALED');
  });

  it('given a superseded ceremony, a declaration naming another package is refused', () => {
    expect(() => given(seal, ...counterSigns, supersede, declare('carol', 0, hex('9')))).toThrow(
      expect.objectContaining({ field: 'package_fingerprint' }),
    );
  });

  it('given missing declarations, settling before the window is refused and after it raises one overdue alert', () => {
    const { state } = given(seal, ...counterSigns, supersede, declare('carol', 0), declare('dave', 1));
    expect(pendingDeclarations(state)).toEqual(['erin']);
    const early: EscrowCeremonyCommand = { type: 'SettleDeclarations', data: { materialDestroyed: false }, metadata: meta(new Date(T0.getTime() + HOUR)) };
    expect(() => escrowCeremonyDecider.decide(early, state)).toThrow(expect.objectContaining({ code: 'CONFIRMATIONS_NOT_OVERDUE' }));
    const late: EscrowCeremonyCommand = { type: 'SettleDeclarations', data: { materialDestroyed: false }, metadata: meta(new Date(T0.getTime() + 49 * HOUR)) };
    const events = escrowCeremonyDecider.decide(late, state);
    expect(events).toEqual([expect.objectContaining({ type: 'EscrowDeclarationOverdue', data: expect.objectContaining({ pending: ['erin'] }) })]);
    expect(escrowCeremonyDecider.decide(late, foldWith(escrowCeremonyDecider, events, state))).toEqual([]);
    expect(() => escrowCeremonyDecider.decide({ ...late, data: { materialDestroyed: true } }, state)).toThrow(expect.objectContaining({ code: 'ILLEGAL_TRANSITION' }));
  });

  it('given every declaration, settling records the destruction', () => {
    const { state } = given(seal, ...counterSigns, supersede, ...CUSTODIANS.map((c, i) => declare(c, i)));
    const events = escrowCeremonyDecider.decide({ type: 'SettleDeclarations', data: { materialDestroyed: true }, metadata: meta() }, state);
    expect(events).toEqual([expect.objectContaining({ type: 'EscrowedVersionDestroyed', data: expect.objectContaining({ keyId: 'k', version: 1 }) })]);
  });

  it('a reconstruction completes only with k accepted shares, and a drill never enables use', () => {
    const open: EscrowCeremonyCommand = { type: 'OpenReconstruction', data: { reconstructionId: 'r', purpose: 'DRILL', ceremonyKeyFingerprint: hex('c'), expiresAt: new Date(T0.getTime() + HOUR) }, metadata: meta() };
    const submit = (c: string): EscrowCeremonyCommand => ({ type: 'RecordShareSubmission', data: { reconstructionId: 'r', custodianId: c, shareIndex: 1, outcome: { accepted: true } }, metadata: meta() });
    const complete = (usableUntil: string | null): EscrowCeremonyCommand => ({
      type: 'CompleteReconstruction',
      data: { reconstructionId: 'r', purpose: 'DRILL', transcript: {}, attestationSignature: 's', usableUntil },
      metadata: meta(),
    });
    expect(() => given(seal, ...counterSigns, open, submit('carol'), complete(null))).toThrow(/1 of 2 shares/);
    expect(() => given(seal, ...counterSigns, open, submit('carol'), submit('dave'), complete(T0.toISOString()))).toThrow(/never enables use/);
    expect(given(seal, ...counterSigns, open, submit('carol'), submit('dave'), complete(null)).state).toMatchObject({ lastDrillAt: T0.toISOString(), usableUntil: null });
    expect(() => given(seal, ...counterSigns, open, submit('mallory'))).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }));
  });
});
