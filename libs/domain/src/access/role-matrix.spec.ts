import { DUAL_AUTHORIZED_OPERATIONS, HUMAN_ROLES, type HumanRole, type KeyPermission, type KeyPolicy } from './access-types';
import { checkRole, OPERATION_RULES, policyAllows, ruleOfApprovedOperation } from './role-matrix';
import { validateRoles } from './identity.decider';

/**
 * The access matrix, written out by hand so that any change to OPERATION_RULES must be made here too,
 * deliberately. Cells: '-' refused, 'ok' allowed without a key grant, 'grant' allowed only when the
 * key policy grants `permission` to the caller.
 */
type Cell = '-' | 'ok' | 'grant';
type Row = { sre: Cell; sec: Cell; co: Cell; ka: Cell; workload: Cell; permission?: KeyPermission };

const COLUMN_ROLE: Record<Exclude<keyof Row, 'workload' | 'permission'>, HumanRole> = {
  sre: 'sre-oncall',
  sec: 'security-engineering',
  co: 'compliance-officer',
  ka: 'key-admin',
};

// prettier-ignore
const EXPECTED: Record<string, Row> = {
  //                               sre-oncall   security-eng  compliance   key-admin    workload
  CreateKey:                     { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  GetKey:                        { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  ListKeys:                      { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  LocateKeys:                    { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: 'ok' },
  RotateKey:                     { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  UpdateRotationPolicy:          { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  UpdateKeyLabels:               { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  RenameKey:                     { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  DisableKeyVersion:             { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  EnableKeyVersion:              { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  ScheduleKeyVersionDestruction: { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  CancelKeyVersionDestruction:   { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  DestroyKeyVersion:             { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  SetMinDecryptionVersion:       { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  ReportKeyCompromise:           { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  RegisterDependent:             { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  RemoveDependent:               { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  ConfirmKeyVersion:             { sre: '-',    sec: '-',     co: '-',     ka: '-',     workload: 'ok' },
  ReportOverdueConfirmations:    { sre: '-',    sec: '-',     co: '-',     ka: '-',     workload: '-',     permission: 'ADMINISTER' },
  GetImportParameters:           { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  ImportKeyVersion:              { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: 'grant', permission: 'ADMINISTER' },
  GetImportParametersForNewKey:  { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  ExportKeyMaterial:             { sre: '-',    sec: '-',     co: '-',     ka: '-',     workload: 'grant', permission: 'ADMINISTER' },
  SetKeyPolicy:                  { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  Encrypt:                       { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'ENCRYPT' },
  Decrypt:                       { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'DECRYPT' },
  ReEncrypt:                     { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'DECRYPT' },
  GenerateDataKey:               { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'GENERATE_DATA_KEY' },
  GenerateDataKeyPair:           { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'GENERATE_DATA_KEY' },
  Sign:                          { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'SIGN' },
  Verify:                        { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'VERIFY' },
  GetPublicKey:                  { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: 'grant', permission: 'VERIFY' },
  GetKeyOriginStatement:         { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: 'grant', permission: 'VERIFY' },
  GenerateMac:                   { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'MAC' },
  VerifyMac:                     { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'MAC' },
  GenerateRandom:                { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: 'ok' },
  BatchEncrypt:                  { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'ENCRYPT' },
  BatchDecrypt:                  { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'DECRYPT' },
  AsymmetricDecrypt:             { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'DECRYPT' },
  Decapsulate:                   { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'DECRYPT' },
  BatchReEncrypt:                { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'DECRYPT' },
  RegisterIdentity:              { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  RotateCredential:              { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: 'ok' },
  SuspendIdentity:               { sre: 'ok',   sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  ReEnableIdentity:              { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  ChangeIdentityRoles:           { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  CreateEnrolmentLink:           { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  BindClientCertificate:         { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  GetIdentity:                   { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  ListIdentities:                { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  GetApprovalRequest:            { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  ListApprovalRequests:          { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  ApproveRequest:                { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  BeginApprovalStepUp:           { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  ApproveDeviceLogin:            { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  DenyDeviceLogin:               { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  RejectRequest:                 { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  EnrolEscrowCustodian:          { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  SetEscrowPolicy:               { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  SealEscrow:                    { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  SettleEscrowDeclarations:      { sre: '-',    sec: 'ok',    co: '-',     ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  GetEscrowStatus:               { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  OpenEscrowReconstruction:      { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: '-',     permission: 'ADMINISTER' },
  CompleteEscrowReconstruction:  { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  CounterSignEscrowTranscript:   { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  DeclareEscrowPackageDestroyed: { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  SubmitEscrowShare:             { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  GetEscrowPackage:              { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  ReadAudit:                     { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  ExportEvidence:                { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  RegisterLegalArtifact:         { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  WithdrawLegalArtifact:         { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  SaveNotificationList:          { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  RemoveNotificationList:        { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  ListNotificationLists:         { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  ListNotificationDeliveries:    { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  GetNotificationStatus:         { sre: '-',    sec: 'ok',    co: 'ok',    ka: '-',     workload: '-' },
  IssueProofToken:               { sre: 'grant', sec: 'grant', co: '-',    ka: 'grant', workload: 'grant', permission: 'SIGN' },
  GetProofChain:                 { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: 'grant', permission: 'VERIFY' },
  RecordDrill:                   { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  CloseDrillFollowUp:            { sre: 'ok',   sec: 'ok',    co: '-',     ka: 'ok',    workload: '-' },
  GetDrillStatus:                { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
  ReportDrillsOverdue:           { sre: '-',    sec: '-',     co: '-',     ka: '-',     workload: '-' },
  SetResidencyRule:              { sre: '-',    sec: 'ok',    co: '-',     ka: '-',     workload: '-' },
  GetResidencyRules:             { sre: 'ok',   sec: 'ok',    co: 'ok',    ka: 'ok',    workload: '-' },
};

function cellOf(check: ReturnType<typeof checkRole>): Cell {
  if (!check.allowed) return '-';
  return check.needsKeyGrant ? 'grant' : 'ok';
}

const human = (...roles: HumanRole[]) => ({ kind: 'HUMAN' as const, roles });
const workload = { kind: 'WORKLOAD' as const, roles: [] as HumanRole[] };

const cells = Object.entries(EXPECTED).flatMap(([operation, row]) => [
  ...(Object.keys(COLUMN_ROLE) as Array<keyof typeof COLUMN_ROLE>).map((col) => ({ operation, who: COLUMN_ROLE[col] as string, principal: human(COLUMN_ROLE[col]), expected: row[col] })),
  { operation, who: 'workload', principal: workload, expected: row.workload },
]);

describe('role matrix (README "Access control")', () => {
  it('covers exactly the operations of the expected table: a new operation needs a deliberate row', () => {
    expect(Object.keys(OPERATION_RULES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(DUAL_AUTHORIZED_OPERATIONS)('the approved operation %s falls under a rule of the matrix (its requester and approver are checked against it)', (op) => {
    expect(Object.keys(OPERATION_RULES)).toContain(ruleOfApprovedOperation(op));
  });

  it.each(Object.entries(EXPECTED))('%s needs key permission %p', (operation, row) => {
    expect(OPERATION_RULES[operation].keyPermission).toBe(row.permission);
  });

  it.each(cells)('$operation as $who: $expected', ({ operation, principal, expected }) => {
    expect(cellOf(checkRole(principal, operation))).toBe(expected);
  });

  describe('the compliance officer', () => {
    const co = human('compliance-officer');

    it.each(['GetKey', 'ListKeys', 'ReadAudit', 'ExportEvidence', 'GetPublicKey', 'ListApprovalRequests', 'GetApprovalRequest'])('may read: %s', (op) => {
      expect(checkRole(co, op)).toEqual({ allowed: true, needsKeyGrant: false });
    });

    it.each([
      'Encrypt', 'Decrypt', 'ReEncrypt', 'Sign', 'Verify', 'GenerateDataKey', 'GenerateMac', 'VerifyMac', 'GenerateRandom',
      'BatchEncrypt', 'BatchDecrypt', 'BatchReEncrypt', 'AsymmetricDecrypt', 'Decapsulate',
    ])('never uses keys, whatever the key policy says: %s is refused at the role gate', (op) => {
      // Refused before any key policy is consulted, so a grant cannot help.
      const check = checkRole(co, op);
      expect(check.allowed).toBe(false);
      if (check.allowed) return;
      expect(check.reason).toContain(op);
      expect(check.reason).not.toContain('compliance-officer');
    });

    it.each(['CreateKey', 'RotateKey', 'SetKeyPolicy', 'ScheduleKeyVersionDestruction', 'ApproveRequest', 'RegisterIdentity', 'SuspendIdentity'])(
      'may not change anything: %s',
      (op) => {
        expect(checkRole(co, op).allowed).toBe(false);
      },
    );
  });

  describe('workloads', () => {
    it.each([
      'CreateKey', 'ListKeys', 'EnableKeyVersion', 'SetKeyPolicy',
      'GetApprovalRequest', 'ListApprovalRequests', 'ApproveRequest', 'RejectRequest',
      'RegisterIdentity', 'SuspendIdentity', 'ReEnableIdentity', 'ChangeIdentityRoles', 'BindClientCertificate', 'GetIdentity', 'ListIdentities',
      'ReadAudit', 'ExportEvidence',
    ])('may never call %s', (op) => {
      expect(checkRole(workload, op)).toEqual({ allowed: false, reason: `workload identities may not call ${op}` });
    });

    it('may call RotateCredential, for their own credential only (the key service refuses any other identity)', () => {
      expect(checkRole(workload, 'RotateCredential')).toEqual({ allowed: true, needsKeyGrant: false });
    });

    it('always need a key grant for key-scoped operations, never for GenerateRandom', () => {
      for (const [op, rule] of Object.entries(OPERATION_RULES)) {
        if (!rule.workloads) continue;
        expect({ op, check: checkRole(workload, op) }).toEqual({ op, check: { allowed: true, needsKeyGrant: rule.keyPermission !== undefined } });
      }
      expect(checkRole(workload, 'GenerateRandom')).toEqual({ allowed: true, needsKeyGrant: false });
    });

    it('carry no roles that could widen their rights: a workload claiming a human role is still a workload', () => {
      expect(checkRole({ kind: 'WORKLOAD', roles: ['security-engineering'] }, 'CreateKey').allowed).toBe(false);
      expect(checkRole({ kind: 'WORKLOAD', roles: ['security-engineering'] }, 'Encrypt')).toEqual({ allowed: true, needsKeyGrant: true });
    });
  });

  describe('people', () => {
    it('a person with no role may call nothing', () => {
      for (const op of Object.keys(OPERATION_RULES)) expect(checkRole(human(), op).allowed).toBe(false);
    });

    it('a refusal names the roles that would be allowed', () => {
      expect(checkRole(human('sre-oncall'), 'CreateKey')).toEqual({ allowed: false, reason: 'CreateKey needs one of the roles security-engineering, key-admin' });
    });

    it('roles add up: any role allowed without a grant frees the person from needing one', () => {
      expect(checkRole(human('compliance-officer', 'sre-oncall'), 'RotateKey')).toEqual({ allowed: true, needsKeyGrant: false });
      expect(checkRole(human('sre-oncall', 'key-admin'), 'ScheduleKeyVersionDestruction')).toEqual({ allowed: true, needsKeyGrant: false });
    });

    it('even administrators need a key grant to use a key', () => {
      for (const op of ['Encrypt', 'Decrypt', 'Sign', 'GenerateDataKey', 'GenerateMac']) {
        expect(checkRole(human(...HUMAN_ROLES), op)).toEqual({ allowed: true, needsKeyGrant: true });
      }
    });

    it('an unknown operation is refused for everyone', () => {
      expect(checkRole(human(...HUMAN_ROLES), 'DropAllKeys')).toEqual({ allowed: false, reason: 'operation DropAllKeys is not callable' });
      expect(checkRole(workload, 'DropAllKeys').allowed).toBe(false);
    });

    it('an operation named like an Object.prototype member is refused, not a crash', () => {
      expect(checkRole(workload, 'constructor').allowed).toBe(false);
      expect(checkRole(human(...HUMAN_ROLES), 'toString')).toEqual({ allowed: false, reason: 'operation toString is not callable' });
    });
  });
});

describe('policyAllows', () => {
  const A = '11111111-1111-4111-8111-111111111111';
  const B = '22222222-2222-4222-8222-222222222222';
  const policy: KeyPolicy = { grants: { [A]: ['ENCRYPT', 'GENERATE_DATA_KEY'], [B]: [] } };

  it('allows exactly the permissions granted to that identity', () => {
    expect(policyAllows(policy, A, 'ENCRYPT')).toBe(true);
    expect(policyAllows(policy, A, 'GENERATE_DATA_KEY')).toBe(true);
    expect(policyAllows(policy, A, 'DECRYPT')).toBe(false);
    expect(policyAllows(policy, A, 'ADMINISTER')).toBe(false);
  });

  it('refuses identities with an empty list and identities the policy does not name', () => {
    expect(policyAllows(policy, B, 'ENCRYPT')).toBe(false);
    expect(policyAllows(policy, '33333333-3333-4333-8333-333333333333', 'ENCRYPT')).toBe(false);
    expect(policyAllows({ grants: {} }, A, 'ENCRYPT')).toBe(false);
  });

  it('is not fooled by names inherited from Object.prototype', () => {
    expect(policyAllows(policy, 'constructor', 'ENCRYPT')).toBe(false);
    expect(policyAllows(policy, '__proto__', 'ENCRYPT')).toBe(false);
  });
});

describe('service roles of the KMS workloads', () => {
  const scheduler = { kind: 'WORKLOAD' as const, roles: ['rotation-scheduler' as const] };
  const detector = { kind: 'WORKLOAD' as const, roles: ['anomaly-detector' as const] };

  it.each(['GetKey', 'ListKeys', 'RotateKey', 'DisableKeyVersion', 'ScheduleKeyVersionDestruction', 'DestroyKeyVersion', 'ReportOverdueConfirmations'])(
    'the rotation scheduler may %s on any key without a grant',
    (op) => {
      expect(checkRole(scheduler, op)).toEqual({ allowed: true, needsKeyGrant: false });
    },
  );

  it.each(['Encrypt', 'Decrypt', 'Sign', 'GenerateDataKey', 'SetKeyPolicy', 'EnableKeyVersion', 'UpdateRotationPolicy', 'SuspendIdentity', 'ApproveRequest'])(
    'the rotation scheduler gets nothing special for %s',
    (op) => {
      const r = checkRole(scheduler, op);
      expect(r.allowed === false || (r.allowed && r.needsKeyGrant)).toBe(true);
    },
  );

  it.each(['SuspendIdentity', 'GetIdentity', 'ListIdentities', 'GetKey', 'ListKeys', 'ReportKeyCompromise'])('the anomaly detector may %s', (op) => {
    expect(checkRole(detector, op)).toEqual({ allowed: true, needsKeyGrant: false });
  });

  it.each(['RotateKey', 'ReEnableIdentity', 'Decrypt', 'ApproveRequest', 'RegisterIdentity', 'ReportOverdueConfirmations'])('the anomaly detector gets nothing special for %s', (op) => {
    const r = checkRole(detector, op);
    expect(r.allowed === false || (r.allowed && r.needsKeyGrant)).toBe(true);
  });

  it('a key provisioner (a KMIP client granted the role by two people) may create keys, and nothing else without a grant', () => {
    const provisioner = { kind: 'WORKLOAD' as const, roles: ['key-provisioner' as const] };
    expect(checkRole(provisioner, 'CreateKey')).toEqual({ allowed: true, needsKeyGrant: false });
    for (const op of ['RotateKey', 'Encrypt', 'ScheduleKeyVersionDestruction', 'SetKeyPolicy']) {
      const r = checkRole(provisioner, op);
      expect(r.allowed === false || (r.allowed && r.needsKeyGrant)).toBe(true);
    }
    expect(checkRole(provisioner, 'ListKeys').allowed).toBe(false);
  });

  it('people cannot hold service roles, and workloads cannot hold people roles', () => {
    expect(() => validateRoles('HUMAN', ['rotation-scheduler'])).toThrow(/roles/);
    expect(() => validateRoles('WORKLOAD', ['key-admin'])).toThrow(/roles/);
    expect(validateRoles('WORKLOAD', ['rotation-scheduler'])).toEqual(['rotation-scheduler']);
  });
});
