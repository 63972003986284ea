import type { DualAuthorizedOperation, HumanRole, IdentityKind, KeyPermission, Principal, ServiceRole } from './access-types';

/** Who may call what. `keyPermission` operations also need the key policy's grant (see below). */
export interface OperationRule {
  /** Human roles allowed to call it at all. */
  humanRoles: readonly HumanRole[];
  /** Whether workloads may call it (subject to the key policy when keyPermission is set). */
  workloads: boolean;
  /** The key-policy permission the caller needs on the key. Humans need it too for crypto operations. */
  keyPermission?: KeyPermission;
  /** Humans with one of these roles may act without a key-policy grant (administration, reading). */
  humanRolesWithoutGrant?: readonly HumanRole[];
  /** KMS workloads holding one of these service roles may call it on any key, without grants. */
  serviceRoles?: readonly ServiceRole[];
}

const ADMINS: readonly HumanRole[] = ['security-engineering', 'key-admin'];
const OPERATORS: readonly HumanRole[] = ['sre-oncall', 'security-engineering', 'key-admin'];
const READERS: readonly HumanRole[] = ['sre-oncall', 'security-engineering', 'key-admin', 'compliance-officer'];
/** Crypto operations: humans only with an explicit grant, and never the compliance officer. */
const KEY_USERS: readonly HumanRole[] = ['sre-oncall', 'security-engineering', 'key-admin'];

/**
 * The access matrix (documented in README "Access control"). Key-scoped operations additionally
 * consult the key policy: workloads always, humans unless their role is in humanRolesWithoutGrant.
 */
export const OPERATION_RULES: Readonly<Record<string, OperationRule>> = {
  CreateKey: { humanRoles: ADMINS, workloads: false, serviceRoles: ['key-provisioner'] },
  GetKey: { humanRoles: READERS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: READERS, serviceRoles: ['rotation-scheduler', 'anomaly-detector'] },
  ListKeys: { humanRoles: READERS, workloads: false, serviceRoles: ['rotation-scheduler', 'anomaly-detector'] },
  // KMIP Locate: people who read keys see every key; a workload only the keys whose policy names it.
  LocateKeys: { humanRoles: READERS, workloads: true },
  RotateKey: { humanRoles: OPERATORS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: OPERATORS, serviceRoles: ['rotation-scheduler'] },
  UpdateRotationPolicy: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  UpdateKeyLabels: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  // A new name for a key (KMIP ModifyAttribute of Name): as its labels.
  RenameKey: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  DisableKeyVersion: { humanRoles: OPERATORS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: OPERATORS, serviceRoles: ['rotation-scheduler'] },
  EnableKeyVersion: { humanRoles: ADMINS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  ScheduleKeyVersionDestruction: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS, serviceRoles: ['rotation-scheduler'] },
  CancelKeyVersionDestruction: { humanRoles: OPERATORS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: OPERATORS },
  DestroyKeyVersion: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS, serviceRoles: ['rotation-scheduler'] },
  SetMinDecryptionVersion: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  ReportKeyCompromise: { humanRoles: OPERATORS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: OPERATORS, serviceRoles: ['anomaly-detector'] },
  RegisterDependent: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  RemoveDependent: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  // A dependent confirms for itself; the key's dependent list is the authority, not a grant.
  ConfirmKeyVersion: { humanRoles: [], workloads: true },
  // The scheduler raises the overdue-confirmation alert; it decides nothing about the key.
  ReportOverdueConfirmations: { humanRoles: [], workloads: false, keyPermission: 'ADMINISTER', serviceRoles: ['rotation-scheduler'] },
  // BYOK (issue #21): a one-time wrapping key for the key's administrators; an import by a person takes two people.
  GetImportParameters: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  ImportKeyVersion: { humanRoles: ADMINS, workloads: true, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  // KMIP Register (BYOK at creation): a one-time wrapping key for a key not created yet — whoever may create keys.
  GetImportParametersForNewKey: { humanRoles: ADMINS, workloads: false, serviceRoles: ['key-provisioner'] },
  // KMIP Get of an exportable key's material (created so by two people): its administrators, never a person.
  ExportKeyMaterial: { humanRoles: [], workloads: true, keyPermission: 'ADMINISTER' },
  SetKeyPolicy: { humanRoles: ADMINS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  Encrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'ENCRYPT' },
  Decrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'DECRYPT' },
  ReEncrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'DECRYPT' },
  GenerateDataKey: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'GENERATE_DATA_KEY' },
  GenerateDataKeyPair: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'GENERATE_DATA_KEY' },
  Sign: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'SIGN' },
  Verify: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'VERIFY' },
  GetPublicKey: { humanRoles: READERS, workloads: true, keyPermission: 'VERIFY', humanRolesWithoutGrant: READERS },
  GetKeyOriginStatement: { humanRoles: READERS, workloads: true, keyPermission: 'VERIFY', humanRolesWithoutGrant: READERS },
  GenerateMac: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'MAC' },
  VerifyMac: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'MAC' },
  GenerateRandom: { humanRoles: KEY_USERS, workloads: true },
  BatchEncrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'ENCRYPT' },
  BatchDecrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'DECRYPT' },
  BatchReEncrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'DECRYPT' },
  AsymmetricDecrypt: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'DECRYPT' },
  Decapsulate: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'DECRYPT' },
  // Identities and approvals.
  RegisterIdentity: { humanRoles: ['security-engineering'], workloads: false },
  // Workloads rotate only their own credential; a person rotating another identity's needs a second person.
  RotateCredential: { humanRoles: ['security-engineering'], workloads: true },
  SuspendIdentity: { humanRoles: ['security-engineering', 'sre-oncall'], workloads: false, serviceRoles: ['anomaly-detector'] },
  ReEnableIdentity: { humanRoles: ['security-engineering'], workloads: false },
  // Always two people (see DualAuthorization); nobody changes their own.
  ChangeIdentityRoles: { humanRoles: ['security-engineering'], workloads: false },
  // A one-time link for a person's first security key (docs/console.md).
  CreateEnrolmentLink: { humanRoles: ['security-engineering'], workloads: false },
  // A client certificate authenticates a workload over KMIP: two people bind, replace or remove it.
  BindClientCertificate: { humanRoles: ['security-engineering'], workloads: false },
  GetIdentity: { humanRoles: READERS, workloads: false, serviceRoles: ['anomaly-detector'] },
  ListIdentities: { humanRoles: READERS, workloads: false, serviceRoles: ['anomaly-detector'] },
  GetApprovalRequest: { humanRoles: READERS, workloads: false },
  ListApprovalRequests: { humanRoles: READERS, workloads: false },
  ApproveRequest: { humanRoles: ADMINS, workloads: false },
  // The console's step-up ceremony before an approval (docs/console.md): whoever may approve.
  BeginApprovalStepUp: { humanRoles: ADMINS, workloads: false },
  // A person lets a `kms login` of theirs have a token (or refuses it): their own powers only.
  ApproveDeviceLogin: { humanRoles: READERS, workloads: false },
  DenyDeviceLogin: { humanRoles: READERS, workloads: false },
  RejectRequest: { humanRoles: ADMINS, workloads: false },
  // Break-glass escrow (docs/break-glass.md). Custodians act as themselves: the service checks the
  // caller holds a package of the ceremony; enrolment, escrow policy and unseal take two people.
  EnrolEscrowCustodian: { humanRoles: ['security-engineering'], workloads: false },
  SetEscrowPolicy: { humanRoles: ADMINS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS },
  SealEscrow: { humanRoles: ADMINS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS, serviceRoles: ['rotation-scheduler'] },
  SettleEscrowDeclarations: { humanRoles: ADMINS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: ADMINS, serviceRoles: ['rotation-scheduler'] },
  GetEscrowStatus: { humanRoles: READERS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: READERS, serviceRoles: ['rotation-scheduler'] },
  OpenEscrowReconstruction: { humanRoles: OPERATORS, workloads: false, keyPermission: 'ADMINISTER', humanRolesWithoutGrant: OPERATORS },
  CompleteEscrowReconstruction: { humanRoles: OPERATORS, workloads: false },
  CounterSignEscrowTranscript: { humanRoles: READERS, workloads: false },
  DeclareEscrowPackageDestroyed: { humanRoles: READERS, workloads: false },
  SubmitEscrowShare: { humanRoles: READERS, workloads: false },
  GetEscrowPackage: { humanRoles: READERS, workloads: false },
  // Compliance (HTTP): reading audit and exporting evidence. Never key use.
  ReadAudit: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  // Compliance notifications (HTTP, docs/notifications.md): security engineering defines the lists;
  // compliance reads them and the delivery records.
  SaveNotificationList: { humanRoles: ['security-engineering'], workloads: false },
  RemoveNotificationList: { humanRoles: ['security-engineering'], workloads: false },
  ListNotificationLists: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  ListNotificationDeliveries: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  GetNotificationStatus: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  // Residency rules (docs/jurisdictions.md): security engineering asks, a second person approves; readers see them.
  SetResidencyRule: { humanRoles: ['security-engineering'], workloads: false },
  GetResidencyRules: { humanRoles: READERS, workloads: false },
  ExportEvidence: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  // Legal appendix of a jurisdiction (HTTP /v1/legal-artifacts, docs/jurisdictions.md): a record of evidence, like a
  // drill, registered or withdrawn by one person of compliance or security engineering; every reader of audit lists it.
  RegisterLegalArtifact: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  WithdrawLegalArtifact: { humanRoles: ['compliance-officer', 'security-engineering'], workloads: false },
  // Regulatory proof tokens: signing needs SIGN on the tenant's root key; reading the chain, VERIFY (or a reader's role).
  IssueProofToken: { humanRoles: KEY_USERS, workloads: true, keyPermission: 'SIGN' },
  GetProofChain: { humanRoles: READERS, workloads: true, keyPermission: 'VERIFY', humanRolesWithoutGrant: READERS },
  // Backup-restore drills: the people who run them record them and close their follow-ups; every reader
  // (compliance included) and the rotation scheduler (its overdue alerts) read the status.
  RecordDrill: { humanRoles: OPERATORS, workloads: false },
  CloseDrillFollowUp: { humanRoles: OPERATORS, workloads: false },
  GetDrillStatus: { humanRoles: READERS, workloads: false, serviceRoles: ['rotation-scheduler'] },
  // The scheduler raises the overdue-drill alerts; it decides nothing else about drills.
  ReportDrillsOverdue: { humanRoles: [], workloads: false, serviceRoles: ['rotation-scheduler'] },
};

/** The operation whose rule an approved operation falls under (requester and approver must both be allowed it). */
export function ruleOfApprovedOperation(operation: DualAuthorizedOperation): string {
  switch (operation) {
    case 'RotateRootTenantKey':
      return 'RotateKey';
    case 'CreateExportableKey':
      return 'CreateKey';
    case 'LowerMinDecryptionVersion':
      return 'SetMinDecryptionVersion';
    case 'RetireBeforeDependentsConfirmed':
      return 'DisableKeyVersion';
    case 'RegisterHumanIdentity':
      return 'RegisterIdentity';
    case 'IssueEnrolmentLink':
      return 'CreateEnrolmentLink';
    case 'EmergencyUnseal':
      return 'OpenEscrowReconstruction';
    default:
      return operation;
  }
}

export type RoleCheck = { allowed: true; needsKeyGrant: boolean } | { allowed: false; reason: string };

/** First gate: may this principal call this operation at all, and must the key policy also allow it? */
export function checkRole(principal: Pick<Principal, 'kind' | 'roles'>, operation: string): RoleCheck {
  const rule = Object.hasOwn(OPERATION_RULES, operation) ? OPERATION_RULES[operation] : undefined;
  if (!rule) return { allowed: false, reason: `operation ${operation} is not callable` };
  if (principal.kind === 'WORKLOAD') {
    if (principal.roles.some((r) => (rule.serviceRoles as readonly string[] | undefined)?.includes(r) ?? false)) {
      return { allowed: true, needsKeyGrant: false };
    }
    if (!rule.workloads) return { allowed: false, reason: `workload identities may not call ${operation}` };
    return { allowed: true, needsKeyGrant: rule.keyPermission !== undefined };
  }
  const roles = principal.roles.filter((r) => (rule.humanRoles as readonly string[]).includes(r));
  if (roles.length === 0) return { allowed: false, reason: `${operation} needs one of the roles ${rule.humanRoles.join(', ')}` };
  const withoutGrant = principal.roles.some((r) => (rule.humanRolesWithoutGrant as readonly string[] | undefined)?.includes(r) ?? false);
  return { allowed: true, needsKeyGrant: rule.keyPermission !== undefined && !withoutGrant };
}

/** Whether a key policy grants the identity a permission. */
export function policyAllows(policy: { grants: Record<string, readonly KeyPermission[]> }, identityId: string, permission: KeyPermission): boolean {
  return Object.hasOwn(policy.grants, identityId) && (policy.grants[identityId]?.includes(permission) ?? false);
}

/** Which identity kinds exist — re-exported for validation messages. */
export type { IdentityKind };
