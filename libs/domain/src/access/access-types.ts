/** Human roles named by the KMS policy ("Access Controls"), plus key-admin. */
export const HUMAN_ROLES = ['sre-oncall', 'security-engineering', 'compliance-officer', 'key-admin'] as const;
export type HumanRole = (typeof HUMAN_ROLES)[number];

/**
 * Roles of the KMS's own workloads, which act on every key without per-key grants but only for their
 * job: the rotation scheduler rotates, schedules and performs destruction; the anomaly detector
 * suspends identities and reads keys and identities; a key provisioner (a KMIP client such as a
 * database or storage array, granted the role by two people) creates its own keys.
 */
export const SERVICE_ROLES = ['rotation-scheduler', 'anomaly-detector', 'key-provisioner'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/** Any role an identity can hold: people's roles, or a service role for a KMS workload. */
export type Role = HumanRole | ServiceRole;

export const IDENTITY_KINDS = ['WORKLOAD', 'HUMAN'] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** What a key policy can grant an identity on one key. */
export const KEY_PERMISSIONS = ['ENCRYPT', 'DECRYPT', 'SIGN', 'VERIFY', 'MAC', 'GENERATE_DATA_KEY', 'ADMINISTER'] as const;
export type KeyPermission = (typeof KEY_PERMISSIONS)[number];

/** Per-key grants: identity id → permissions. */
export interface KeyPolicy {
  grants: Record<string, KeyPermission[]>;
}

export const EMPTY_KEY_POLICY: KeyPolicy = { grants: {} };

/**
 * Authentication methods a token may carry (RFC 8176 values). The console performs FIDO2 ("hwk") and
 * TOTP ("otp") outside the service and asserts them when it asks for a human's token.
 */
export const AUTH_METHODS = ['pwd', 'hwk', 'otp', 'mfa'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** The longest token lifetime the policy allows for programmatic access (<= 15 minutes). */
export const MAX_TOKEN_TTL_SECONDS = 15 * 60;
/** Clock skew tolerated when checking token times. */
export const TOKEN_CLOCK_SKEW_SECONDS = 30;

/** The caller as established from a verified token. */
export interface Principal {
  identityId: string;
  name: string;
  kind: IdentityKind;
  roles: Role[];
  authMethods: AuthMethod[];
}

/** Manual operations that need a second person when a human asks for them. */
export const DUAL_AUTHORIZED_OPERATIONS = [
  'RotateRootTenantKey',
  'UpdateRotationPolicy',
  'UpdateKeyLabels',
  'LowerMinDecryptionVersion',
  'ScheduleKeyVersionDestruction',
  'SetKeyPolicy',
  'EnableKeyVersion',
  'ReEnableIdentity',
  'ReportKeyCompromise',
  'RetireBeforeDependentsConfirmed',
  // A person rotating another identity's credential would learn its secret: two people, both audited.
  'RotateCredential',
  // A person registering another person could otherwise mint a second identity to approve their own requests.
  'RegisterHumanIdentity',
  // Roles are powers: granting them (or a service role to a workload) is a manual operation like any other.
  'ChangeIdentityRoles',
  // Whoever holds a person's enrolment link can enrol their own authenticator as that person.
  'IssueEnrolmentLink',
  // Break-glass escrow (docs/break-glass.md): who holds shares, how many open the key, and opening it.
  'EnrolEscrowCustodian',
  'SetEscrowPolicy',
  'EmergencyUnseal',
  // Whoever binds a client certificate to a workload lets the certificate's holder act as it (KMIP).
  'BindClientCertificate',
  // Whoever changes or removes a compliance distribution list decides who hears of every later change.
  'SaveNotificationList',
  'RemoveNotificationList',
  // A tenant's residency rule lets material cross from one jurisdiction to another (docs/jurisdictions.md).
  'SetResidencyRule',
  // BYOK: material a person brings becomes the primary version of a key; a second person checks it is wanted.
  'ImportKeyVersion',
  // A key's name is how people and KMIP clients find it (Locate): renaming it is a manual change like its labels.
  'RenameKey',
  // A key whose material may leave the KMS (KMIP Get): always two people, whoever asks (a workload too).
  'CreateExportableKey',
] as const;
export type DualAuthorizedOperation = (typeof DUAL_AUTHORIZED_OPERATIONS)[number];

/** Approved operations whose target is an identity (not a key). */
export const IDENTITY_TARGETED_OPERATIONS: readonly DualAuthorizedOperation[] = ['ReEnableIdentity', 'RotateCredential', 'RegisterHumanIdentity', 'ChangeIdentityRoles', 'IssueEnrolmentLink', 'EnrolEscrowCustodian', 'BindClientCertificate'];

/** The actor that registers the first administrator on an empty store. */
export const BOOTSTRAP_ACTOR = 'system:bootstrap';

/** Default time a second person has to approve. */
export const DEFAULT_APPROVAL_TTL_HOURS = 24;
export const MAX_APPROVAL_TTL_HOURS = 7 * 24;
