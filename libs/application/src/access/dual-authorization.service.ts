import { createHash } from 'node:crypto';
import {
  type Algorithm,
  type KeyPurpose,
  type ProtectionLevel,
  BOOTSTRAP_ACTOR,
  checkRole,
  type IdentityKind,
  invalidArgument,
  type Jurisdiction,
  type KeyCommand,
  type KeyPolicy,
  type KeyRecord,
  KmsError,
  type PendingOperation,
  type Principal,
  type Role,
  type RotationReason,
  ruleOfApprovedOperation,
} from '@kms/domain';
import type { OperationFacts } from '../crypto/crypto.service';
import type { ChangeContext, CreateKeyInput, KeyLifecycleService } from '../keys/key-lifecycle.service';
import type { ApprovalService, ApprovedOperationOutput } from './approval.service';
import type { IdentityService, RegisteredIdentity } from './identity.service';
import type { IssuedEnrolmentLink, LinkIssuer } from '../factors/person-factors.service';
import type { EscrowService } from '../escrow/escrow.service';
import type { ResidencyRuleChange, ResidencyRulesService } from '../jurisdictions/residency-rules.service';

/** What the approved escrow operations need (EscrowService). */
/**
 * How an approved change of a compliance distribution list runs (the notifications module, which
 * owns the lists). `list` is the saved list as recorded in the approval request: its Slack webhook
 * already wrapped, never in clear.
 */
export interface NotificationListApprovedOperations {
  save(name: string, list: string, ctx: ChangeContext): Promise<void>;
  remove(name: string, ctx: ChangeContext): Promise<void>;
}

export type EscrowApprovedOperations = Pick<EscrowService, 'enrolCustodian' | 'setEscrowPolicy' | 'openReconstruction' | 'checkEnrolment' | 'checkPolicy' | 'checkUnseal'>;
import { clientCertificateIdentity } from './client-certificate';

/** How approved links are issued, and who a person's factors came from (PersonFactorsService). */
export interface EnrolmentLinkIssuer {
  issueLink(identityId: string, options: { ttlMinutes?: number; replaceFactors?: boolean }, by: LinkIssuer): Promise<IssuedEnrolmentLink>;
  enrolledThroughLinkOf(identityId: string): Promise<string[]>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A change someone asks for, as the dual-authorization policy looks at it. */
export type RequestedChange =
  | { operation: 'RotateKey'; key: KeyRecord; reason: RotationReason }
  | { operation: 'UpdateRotationPolicy'; keyId: string; rotationPeriodDays: number }
  | { operation: 'UpdateKeyLabels'; keyId: string; labels: Record<string, string> }
  | { operation: 'RenameKey'; keyId: string; name: string }
  /** A key whose material may be handed out (KMIP Get): `keyId` is the id it will have, chosen when asked for. */
  | { operation: 'CreateExportableKey'; keyId: string; input: CreateKeyInput }
  | { operation: 'DisableKeyVersion'; keyId: string; version: number; overrideDependents: boolean }
  | { operation: 'EnableKeyVersion'; keyId: string; version: number }
  | { operation: 'ScheduleKeyVersionDestruction'; keyId: string; version: number; delayDays?: number; overrideDependents: boolean }
  | { operation: 'SetMinDecryptionVersion'; key: KeyRecord; minDecryptionVersion: number }
  | { operation: 'ReportKeyCompromise'; key: KeyRecord; version: number }
  | { operation: 'SetKeyPolicy'; keyId: string; policy: KeyPolicy }
  /**
   * BYOK: material a person brings, still wrapped for the import token's one-time wrapping key (only
   * the backend can open it); it waits in the approval request until a second person approves.
   */
  | { operation: 'ImportKeyVersion'; key: KeyRecord; importToken: string; wrappedMaterial: Buffer; expiresAt?: Date }
  | { operation: 'ReEnableIdentity'; identityId: string }
  | { operation: 'RotateCredential'; identityId: string }
  /** `roles` replace `previousRoles`, both as validated by the identity decider. */
  | { operation: 'ChangeIdentityRoles'; identityId: string; roles: Role[]; previousRoles: Role[] }
  /** `identityId` is the id the new identity will have, chosen when it is asked for. */
  | { operation: 'RegisterIdentity'; identityId: string; name: string; kind: IdentityKind; roles: Role[] }
  /** A one-time enrolment link for another person (their first factors, or new ones replacing lost ones). */
  | { operation: 'IssueEnrolmentLink'; identityId: string; ttlMinutes: number; replaceFactors: boolean }
  /** A person's public keys for receiving escrow shares and signing declarations (docs/break-glass.md). */
  | { operation: 'EnrolEscrowCustodian'; identityId: string; encryptionPublicKey: string; signingPublicKey: string }
  | { operation: 'SetEscrowPolicy'; keyId: string; threshold: number; custodians: string[]; witness: string; declarationWindowHours?: number }
  /** Open a reconstruction whose completion makes a sealed break-glass version usable for a window. */
  | { operation: 'EmergencyUnseal'; keyId: string; version: number }
  /** A compliance distribution list saved or removed (docs/notifications.md): `list` as recorded, its webhook wrapped. */
  | { operation: 'SaveNotificationList'; name: string; list: string; details: Record<string, string> }
  | { operation: 'RemoveNotificationList'; name: string }
  /** A client certificate (KMIP) bound to a workload, replacing the one it had; null fingerprint: removed. */
  | { operation: 'BindClientCertificate'; identityId: string; fingerprint: string | null; subject: string | null }
  /** Allow or revoke a residency crossing of a tenant, as ResidencyRulesService.check validated it. */
  | { operation: 'SetResidencyRule'; rule: ResidencyRuleChange };

/**
 * A change one person asks for to another identity's standing or powers, before validation: what
 * `requireSecondPersonForIdentityChange` takes. Enrolling a second factor for someone else joins here.
 */
export type IdentityChange =
  | { operation: 'ReEnableIdentity'; identityId: string }
  | { operation: 'ChangeIdentityRoles'; identityId: string; roles: unknown }
  /** `certificate`: PEM or DER bytes, empty or absent to remove the bound one. */
  | { operation: 'BindClientCertificate'; identityId: string; certificate: unknown };

/** What needs a second person, with the dry run that must pass first (key changes) and the words to use. */
interface Requirement {
  pending: PendingOperation;
  preview?: DistributiveOmit<KeyCommand, 'metadata'>;
  /** Why a change ticket is needed (the INVALID_ARGUMENT message without one). */
  ticketMessage: string;
  /** What the APPROVAL_REQUIRED message adds after the deadline. */
  approvalSuffix?: string;
  /** Fields the approval request is named by in the call's audit record. */
  details?: Record<string, string>;
}

/**
 * The one place that decides which changes need two people (policy: "all manual operations require
 * dual authorization") and runs them once a second person approved. A person's manual operation is
 * checked (it must be able to succeed now), recorded as an approval request with its change ticket,
 * and answered APPROVAL_REQUIRED; workloads — the automation — act directly on what they administer.
 */
export class DualAuthorization {
  constructor(
    private readonly approvals: ApprovalService,
    private readonly lifecycle: KeyLifecycleService,
    private readonly identities: IdentityService,
  ) {
    approvals.useRunner(
      (op, ctx) => this.runApproved(op, ctx),
      async (identityId) => ({
        ...(await this.identities.get(identityId)).identity,
        // Whoever could have enrolled this person's factors could be acting as them.
        factorsEnrolledThroughLinkOf: (await this.links?.enrolledThroughLinkOf(identityId)) ?? [],
      }),
    );
  }

  private links?: EnrolmentLinkIssuer;

  private escrow?: EscrowApprovedOperations;

  /** Set once at wiring time, where the KMS has an attestation key to sign escrow transcripts. */
  useEscrow(escrow: EscrowApprovedOperations): void {
    this.escrow = escrow;
  }

  private notificationLists?: NotificationListApprovedOperations;

  /** Set once at wiring time, where the notifications module runs beside the key service. */
  useNotificationLists(lists: NotificationListApprovedOperations): void {
    this.notificationLists = lists;
  }

  private notificationListsOrFail(): NotificationListApprovedOperations {
    if (!this.notificationLists) throw new KmsError('BACKEND_UNAVAILABLE', 'compliance notifications are not running in this key service');
    return this.notificationLists;
  }

  private escrowOrFail(): EscrowApprovedOperations {
    if (!this.escrow) throw new KmsError('BACKEND_UNAVAILABLE', 'break-glass escrow needs the HSM attestation key (KMS_HSM_ENABLED)');
    return this.escrow;
  }

  /** Set once at wiring time (PersonFactorsService needs this gate, and this gate issues its links). */
  useEnrolmentLinks(links: EnrolmentLinkIssuer): void {
    this.links = links;
  }

  /** What `change` by `principal` needs a second person for, or undefined when it runs now. Pure policy. */
  requirement(principal: Principal, change: RequestedChange): Requirement | undefined {
    // Re-enabling a suspended identity always takes two people, whoever asks.
    if (change.operation === 'ReEnableIdentity') {
      return {
        pending: { operation: 'ReEnableIdentity', targetId: change.identityId, params: {} },
        ticketMessage: "re-enabling an identity needs a change ticket and a second person's approval",
        details: { identityId: change.identityId },
      };
    }
    // Roles are powers: whoever asks (a person; workloads may not), a second person agrees — for a
    // workload too, whose service roles act on every key or suspend anyone.
    if (change.operation === 'ChangeIdentityRoles') {
      const roles = change.roles.join(',');
      const previousRoles = change.previousRoles.join(',');
      return {
        pending: { operation: 'ChangeIdentityRoles', targetId: change.identityId, params: { roles, previousRoles } },
        ticketMessage: "changing an identity's roles needs a change ticket and a second person's approval",
        details: { identityId: change.identityId, roles, previousRoles },
      };
    }
    // A person registering another person could mint a second identity to approve their own requests.
    if (change.operation === 'RegisterIdentity') {
      if (change.kind !== 'HUMAN') return undefined;
      return {
        pending: { operation: 'RegisterHumanIdentity', targetId: change.identityId, params: { name: change.name, roles: change.roles.join(',') } },
        ticketMessage: "registering a person needs a change ticket and a second person's approval",
        approvalSuffix: ", and receives the new person's credential in the answer",
        details: { identityId: change.identityId, name: change.name, kind: change.kind, roles: change.roles.join(',') },
      };
    }
    if (change.operation === 'IssueEnrolmentLink') {
      return {
        pending: { operation: 'IssueEnrolmentLink', targetId: change.identityId, params: { ttlMinutes: change.ttlMinutes, replaceFactors: change.replaceFactors } },
        ticketMessage: "an enrolment link for another person needs a change ticket and a second person's approval",
        approvalSuffix: ', and receives the enrolment link in the answer, to hand to the person',
        details: { identityId: change.identityId, ...(change.replaceFactors ? { replaceFactors: 'true' } : {}) },
      };
    }
    // Escrow: who holds shares, how many open the key, and opening it — always two people.
    if (change.operation === 'EnrolEscrowCustodian') {
      return {
        pending: { operation: 'EnrolEscrowCustodian', targetId: change.identityId, params: { encryptionPublicKey: change.encryptionPublicKey, signingPublicKey: change.signingPublicKey } },
        ticketMessage: "enrolling an escrow custodian needs a change ticket and a second person's approval",
        details: { identityId: change.identityId },
      };
    }
    if (change.operation === 'SetEscrowPolicy') {
      const custodians = change.custodians.join(',');
      return {
        pending: {
          operation: 'SetEscrowPolicy',
          targetId: change.keyId,
          params: { threshold: change.threshold, custodians, witness: change.witness, declarationWindowHours: change.declarationWindowHours ?? null },
        },
        ticketMessage: "an escrow policy needs a change ticket and a second person's approval",
        details: { keyId: change.keyId, threshold: String(change.threshold), custodians, witness: change.witness },
      };
    }
    // Whoever changes or removes a compliance list decides who hears about every later change: two people.
    if (change.operation === 'SaveNotificationList') {
      return {
        pending: { operation: 'SaveNotificationList', targetId: change.name, params: { list: change.list } },
        ticketMessage: "changing a compliance distribution list needs a change ticket and a second person's approval",
        details: { list: change.name, ...change.details },
      };
    }
    if (change.operation === 'RemoveNotificationList') {
      return {
        pending: { operation: 'RemoveNotificationList', targetId: change.name, params: {} },
        ticketMessage: "removing a compliance distribution list needs a change ticket and a second person's approval",
        details: { list: change.name },
      };
    }
    if (change.operation === 'EmergencyUnseal') {
      return {
        pending: { operation: 'EmergencyUnseal', targetId: change.keyId, params: { version: change.version } },
        ticketMessage: "an emergency unseal needs a change ticket and a second person's approval",
        approvalSuffix: '; the ceremony key custodians submit their shares to is then in GetEscrowStatus',
        details: { keyId: change.keyId, version: String(change.version) },
      };
    }
    // Whoever binds a certificate lets its holder act as the workload: two people, whoever asks.
    if (change.operation === 'BindClientCertificate') {
      return {
        pending: { operation: 'BindClientCertificate', targetId: change.identityId, params: { fingerprint: change.fingerprint, subject: change.subject } },
        ticketMessage: "binding a client certificate to a workload needs a change ticket and a second person's approval",
        details: { identityId: change.identityId, ...(change.fingerprint ? { fingerprint: change.fingerprint } : { unbind: 'true' }) },
      };
    }
    // Residency is law, not convenience: letting material cross a border always takes two people.
    if (change.operation === 'SetResidencyRule') {
      const { tenant, from, to, allowed } = change.rule;
      return {
        pending: { operation: 'SetResidencyRule', targetId: tenant, params: { from, to, allowed } },
        ticketMessage: "a residency rule needs a change ticket and a second person's approval",
        details: { tenant, fromJurisdiction: from, toJurisdiction: to, allowed: String(allowed) },
      };
    }
    // Material that may leave the KMS: two people, whoever asks (a key-provisioner workload over KMIP too).
    if (change.operation === 'CreateExportableKey') {
      const i = change.input;
      return {
        pending: {
          operation: 'CreateExportableKey',
          targetId: change.keyId,
          params: {
            tenant: i.tenant,
            name: i.name,
            purpose: i.purpose,
            algorithm: i.algorithm,
            protectionLevel: i.protectionLevel,
            labels: i.labels,
            owner: i.owner,
            rotationPeriodDays: i.rotationPeriodDays ?? null,
            grants: i.policy?.grants ?? {},
            jurisdiction: i.jurisdiction ?? null,
          },
        },
        ticketMessage: "an exportable key needs a change ticket and a second person's approval",
        approvalSuffix: '; the key is then created with this id',
        details: { keyId: change.keyId, name: i.name, tenant: i.tenant, exportable: 'true' },
      };
    }
    if (principal.kind !== 'HUMAN') return undefined;
    const key = (operation: PendingOperation['operation'], targetId: string, params: PendingOperation['params'], preview: DistributiveOmit<KeyCommand, 'metadata'>): Requirement => ({
      pending: { operation, targetId, params },
      preview,
      ticketMessage: `${operation} by a person needs a change ticket and a second person's approval`,
    });
    switch (change.operation) {
      case 'RotateKey': {
        if (change.key.purpose !== 'ROOT_TENANT') return undefined;
        const material = { version: change.key.versions.length + 1, materialRef: 'preview' };
        return key('RotateRootTenantKey', change.key.keyId, { reason: change.reason }, { type: 'RotateKey', data: { rotationReason: change.reason, material } });
      }
      case 'UpdateRotationPolicy':
        return key('UpdateRotationPolicy', change.keyId, { rotationPeriodDays: change.rotationPeriodDays }, { type: 'UpdateRotationPolicy', data: { rotationPeriodDays: change.rotationPeriodDays } });
      case 'UpdateKeyLabels':
        return key('UpdateKeyLabels', change.keyId, { labels: change.labels }, { type: 'SetKeyLabels', data: { labels: change.labels } });
      case 'RenameKey':
        return key('RenameKey', change.keyId, { name: change.name }, { type: 'RenameKey', data: { name: change.name } });
      case 'DisableKeyVersion':
        if (!change.overrideDependents) return undefined;
        return key('RetireBeforeDependentsConfirmed', change.keyId, { version: change.version }, { type: 'DisableKeyVersion', data: { version: change.version, overrideDependents: true } });
      case 'EnableKeyVersion':
        return key('EnableKeyVersion', change.keyId, { version: change.version }, { type: 'EnableKeyVersion', data: { version: change.version } });
      case 'ScheduleKeyVersionDestruction':
        return key(
          'ScheduleKeyVersionDestruction',
          change.keyId,
          { version: change.version, delayDays: change.delayDays ?? null, overrideDependents: change.overrideDependents },
          { type: 'ScheduleKeyVersionDestruction', data: { version: change.version, ...(change.delayDays ? { delayDays: change.delayDays } : {}), overrideDependents: change.overrideDependents } },
        );
      case 'SetMinDecryptionVersion':
        // Raising the minimum tightens protection; lowering it re-opens old versions.
        if (change.minDecryptionVersion >= change.key.minDecryptionVersion) return undefined;
        return key('LowerMinDecryptionVersion', change.key.keyId, { minDecryptionVersion: change.minDecryptionVersion }, {
          type: 'SetMinDecryptionVersion',
          data: { minDecryptionVersion: change.minDecryptionVersion },
        });
      case 'ReportKeyCompromise': {
        const material = { version: change.key.versions.length + 1, materialRef: 'preview' };
        return key('ReportKeyCompromise', change.key.keyId, { version: change.version }, { type: 'ReportKeyCompromise', data: { version: change.version, material } });
      }
      case 'SetKeyPolicy':
        return key('SetKeyPolicy', change.keyId, { grants: change.policy.grants }, { type: 'SetKeyPolicy', data: { policy: change.policy } });
      case 'ImportKeyVersion': {
        const material = { version: change.key.versions.length + 1, materialRef: 'preview' };
        const params = {
          importToken: change.importToken,
          wrappedKeyMaterial: change.wrappedMaterial.toString('base64'),
          wrappedKeyMaterialSha256: createHash('sha256').update(change.wrappedMaterial).digest('hex'),
          expiresAt: change.expiresAt?.toISOString() ?? null,
        };
        const need = key('ImportKeyVersion', change.key.keyId, params, {
          type: 'ImportKeyVersion',
          data: { material, ...(change.expiresAt ? { expiresAt: change.expiresAt } : {}) },
        });
        return { ...need, details: { keyId: change.key.keyId, importToken: change.importToken, wrappedKeyMaterialSha256: params.wrappedKeyMaterialSha256 } };
      }
      case 'RotateCredential':
        // Whoever rotates another identity's credential learns its secret and could act as it.
        if (change.identityId === principal.identityId) return undefined;
        return {
          pending: { operation: 'RotateCredential', targetId: change.identityId, params: {} },
          ticketMessage: "rotating another identity's credential needs a change ticket and a second person's approval",
          approvalSuffix: ', and receives the new credential in the answer',
          details: { identityId: change.identityId },
        };
      default: {
        const never: never = change;
        return never;
      }
    }
  }

  private residency?: ResidencyRulesService;

  /** Set once at wiring time: approved residency rule changes are applied here. */
  useResidencyRules(residency: ResidencyRulesService): void {
    this.residency = residency;
  }

  /**
   * Let the change run now, or — when it needs a second person — check it could succeed, record the
   * approval request and refuse with APPROVAL_REQUIRED (the request id in the error's facts). The one
   * exception: the bootstrap administrator registers the first person alone, once (recorded).
   */
  async guard(principal: Principal, ctx: ChangeContext, change: RequestedChange, facts: OperationFacts): Promise<void> {
    if (change.operation === 'RotateCredential' && change.identityId !== principal.identityId && principal.kind !== 'HUMAN') {
      throw new KmsError('PERMISSION_DENIED', 'permission denied: a workload may rotate only its own credential', 'identity_id');
    }
    if (change.operation === 'RegisterIdentity' && change.kind === 'HUMAN') {
      this.identities.checkRegistration(change);
      if (await this.identities.claimBootstrapException(principal.identityId, change.name, ctx)) {
        facts.details = { ...facts.details, bootstrapException: 'used' };
        return;
      }
    }
    if (change.operation === 'IssueEnrolmentLink' && !change.replaceFactors && (await this.firstPersonOfBootstrapAdministrator(principal, change.identityId))) {
      facts.details = { ...facts.details, bootstrapException: 'used' };
      return;
    }
    // An escrow change is checked as it would run now, before anyone is asked to approve it.
    if (change.operation === 'EnrolEscrowCustodian') this.escrowOrFail().checkEnrolment(change);
    if (change.operation === 'SetEscrowPolicy') await this.escrowOrFail().checkPolicy(change);
    if (change.operation === 'EmergencyUnseal') await this.escrowOrFail().checkUnseal(change.keyId, change.version);
    // An exportable key is checked as it would be created now (name free, jurisdiction, SOFTWARE).
    if (change.operation === 'CreateExportableKey') await this.lifecycle.previewCreateKey({ ...change.input, exportable: true }, ctx);
    const need = this.requirement(principal, change);
    if (need) await this.ask(need, ctx, facts);
  }

  /**
   * The bootstrap exception, continued: the person the bootstrap administrator registered alone
   * (the only one they could) gets their first link from that administrator alone too — nobody else
   * has factors to approve it. Their factors then tie them to the administrator, as their
   * registration already does.
   */
  private async firstPersonOfBootstrapAdministrator(principal: Principal, identityId: string): Promise<boolean> {
    const administrator = await this.identities.get(principal.identityId);
    if (administrator.identity.createdBy !== BOOTSTRAP_ACTOR) return false;
    const person = await this.identities.get(identityId);
    return person.identity.kind === 'HUMAN' && person.identity.createdBy === principal.identityId && person.identity.createdWithApprovalOf.length === 0;
  }

  /**
   * The dual-control gate for one person changing another identity's standing or powers — re-enabling
   * it, changing its roles — which always takes two people: the target is loaded, a change of oneself
   * is refused (PERMISSION_DENIED), the change is checked as it would run now, recorded as an approval
   * request and refused APPROVAL_REQUIRED; it runs once a second person approves (ApprovalService:
   * the approver is neither the requester, nor the target, nor an identity the requester created, last
   * changed or gave its roles). Returns the identity as it is when the change would change nothing.
   *
   * Enrolling a second factor (FIDO2, TOTP) for another person must go through this gate too, as a
   * new `IdentityChange` with its case in `runApproved`: whoever enrols a factor for someone else
   * could act as them. (Enrolling one's own factor is not a change to someone else.)
   */
  async requireSecondPersonForIdentityChange(principal: Principal, ctx: ChangeContext, change: IdentityChange, facts: OperationFacts): Promise<RegisteredIdentity> {
    const current = await this.identities.get(change.identityId);
    const identityId = current.identity.identityId;
    facts.details = { ...facts.details, identityId };
    if (identityId === principal.identityId) {
      const what = { ChangeIdentityRoles: 'change their own roles', ReEnableIdentity: 're-enable themselves', BindClientCertificate: 'bind their own client certificate' }[change.operation];
      throw new KmsError('PERMISSION_DENIED', `permission denied: nobody may ${what}; another person must ask`, 'identity_id');
    }
    switch (change.operation) {
      case 'ReEnableIdentity':
        if (current.status === 'Active') return current;
        return this.ask(this.requirement(principal, { operation: 'ReEnableIdentity', identityId }) as Requirement, ctx, facts);
      case 'ChangeIdentityRoles': {
        const preview = await this.identities.previewRoleChange(identityId, change.roles, ctx);
        if (!preview) return current;
        return this.ask(this.requirement(principal, { operation: 'ChangeIdentityRoles', identityId, ...preview }) as Requirement, ctx, facts);
      }
      case 'BindClientCertificate': {
        const empty = change.certificate === undefined || change.certificate === null || (change.certificate as { length?: number }).length === 0;
        const certificate = empty ? undefined : clientCertificateIdentity(change.certificate);
        const preview = await this.identities.previewCertificateBinding(identityId, certificate, ctx);
        if (!preview) return current;
        return this.ask(this.requirement(principal, { operation: 'BindClientCertificate', identityId, ...preview }) as Requirement, ctx, facts);
      }
      default: {
        const never: never = change;
        return never;
      }
    }
  }

  private async ask(need: Requirement, ctx: ChangeContext, facts: OperationFacts): Promise<never> {
    if (!ctx.changeTicket) throw invalidArgument('context.change_ticket', need.ticketMessage);
    if (need.preview) await this.lifecycle.preview(need.pending.targetId, need.preview, ctx);
    const a = await this.approvals.request(need.pending, ctx);
    facts.details = need.details ? { ...need.details, approvalId: a.approvalId } : { approvalId: a.approvalId, pendingOperation: need.pending.operation };
    const via = need.preview ? ' with ApprovalService/ApproveRequest' : '';
    throw new KmsError(
      'APPROVAL_REQUIRED',
      `approval required: request ${a.approvalId} was created; a second, different person must approve it${via} before ${a.expiresAt}${need.approvalSuffix ?? ''}`,
      undefined,
      { 'approval-id': a.approvalId },
    );
  }

  /** How each approved operation runs once the second person has said yes: as its requester. */
  private async runApproved(op: PendingOperation, ctx: ChangeContext): Promise<ApprovedOperationOutput | void> {
    // A requester suspended or demoted since asking does not get the change done by proxy.
    const requester = await this.identities.get(ctx.actor);
    if (requester.status === 'Suspended') {
      throw new KmsError('PERMISSION_DENIED', 'permission denied: the requester has been suspended since asking');
    }
    const allowed = checkRole(requester.identity, ruleOfApprovedOperation(op.operation));
    if (!allowed.allowed) throw new KmsError('PERMISSION_DENIED', `permission denied: the requester no longer may, since asking (${allowed.reason})`);
    const p = op.params;
    switch (op.operation) {
      case 'RotateRootTenantKey':
        await this.lifecycle.rotateKey(op.targetId, p['reason'] as RotationReason, ctx);
        return;
      case 'UpdateRotationPolicy':
        await this.lifecycle.updateRotationPolicy(op.targetId, p['rotationPeriodDays'] as number, ctx);
        return;
      case 'UpdateKeyLabels':
        await this.lifecycle.setKeyLabels(op.targetId, p['labels'] as Record<string, string>, ctx);
        return;
      case 'RenameKey':
        await this.lifecycle.renameKey(op.targetId, String(p['name']), ctx);
        return;
      case 'CreateExportableKey':
        await this.lifecycle.createKey(
          {
            tenant: String(p['tenant']),
            name: String(p['name']),
            purpose: p['purpose'] as KeyPurpose,
            algorithm: p['algorithm'] as Algorithm,
            protectionLevel: p['protectionLevel'] as ProtectionLevel,
            labels: (p['labels'] ?? {}) as Record<string, string>,
            owner: String(p['owner']),
            ...(typeof p['rotationPeriodDays'] === 'number' ? { rotationPeriodDays: p['rotationPeriodDays'] } : {}),
            policy: { grants: (p['grants'] ?? {}) as KeyPolicy['grants'] },
            ...(typeof p['jurisdiction'] === 'string' ? { jurisdiction: p['jurisdiction'] } : {}),
            exportable: true,
          },
          ctx,
          { keyId: op.targetId },
        );
        return;
      case 'LowerMinDecryptionVersion':
        await this.lifecycle.setMinDecryptionVersion(op.targetId, p['minDecryptionVersion'] as number, ctx);
        return;
      case 'ScheduleKeyVersionDestruction':
        await this.lifecycle.scheduleKeyVersionDestruction(op.targetId, p['version'] as number, (p['delayDays'] as number | null) ?? undefined, ctx, p['overrideDependents'] === true);
        return;
      case 'RetireBeforeDependentsConfirmed':
        await this.lifecycle.disableKeyVersion(op.targetId, p['version'] as number, ctx, true);
        return;
      case 'SetKeyPolicy':
        await this.lifecycle.setKeyPolicy(op.targetId, { grants: p['grants'] } as KeyPolicy, ctx);
        return;
      case 'EnableKeyVersion':
        await this.lifecycle.enableKeyVersion(op.targetId, p['version'] as number, ctx);
        return;
      case 'ReportKeyCompromise':
        await this.lifecycle.reportKeyCompromise(op.targetId, (p['version'] as number | null) ?? undefined, ctx);
        return;
      case 'ImportKeyVersion':
        await this.lifecycle.importKeyVersion(
          op.targetId,
          {
            importToken: String(p['importToken']),
            wrappedMaterial: Buffer.from(String(p['wrappedKeyMaterial']), 'base64'),
            ...(typeof p['expiresAt'] === 'string' ? { expiresAt: new Date(p['expiresAt']) } : {}),
          },
          ctx,
        );
        return;
      case 'ReEnableIdentity':
        await this.identities.reEnable(op.targetId, ctx);
        return;
      case 'RotateCredential': {
        const { clientSecret } = await this.identities.rotateCredential(op.targetId, ctx);
        return { issuedCredential: { clientId: op.targetId, clientSecret } };
      }
      case 'ChangeIdentityRoles':
        await this.identities.changeRoles(op.targetId, String(p['roles']).split(',').filter(Boolean) as Role[], ctx);
        return;
      case 'RegisterHumanIdentity': {
        const roles = String(p['roles']).split(',').filter(Boolean) as Role[];
        const { identity, clientSecret } = await this.identities.register({ name: p['name'] as string, kind: 'HUMAN', roles }, ctx, op.targetId);
        return { issuedCredential: { clientId: identity.identityId, clientSecret } };
      }
      case 'IssueEnrolmentLink': {
        if (!this.links) throw new Error('DualAuthorization: enrolment links are not wired');
        const link = await this.links.issueLink(op.targetId, { ttlMinutes: p['ttlMinutes'] as number, replaceFactors: p['replaceFactors'] === true }, ctx);
        return { enrolmentLink: link };
      }
      case 'EnrolEscrowCustodian':
        await this.escrowOrFail().enrolCustodian(
          { identityId: op.targetId, encryptionPublicKey: String(p['encryptionPublicKey']), signingPublicKey: String(p['signingPublicKey']) },
          ctx,
        );
        return;
      case 'SetEscrowPolicy':
        await this.escrowOrFail().setEscrowPolicy(
          {
            keyId: op.targetId,
            threshold: p['threshold'] as number,
            custodians: String(p['custodians']).split(',').filter(Boolean),
            witness: String(p['witness']),
            ...(typeof p['declarationWindowHours'] === 'number' ? { declarationWindowHours: p['declarationWindowHours'] } : {}),
          },
          ctx,
        );
        return;
      case 'EmergencyUnseal':
        await this.escrowOrFail().openReconstruction(op.targetId, p['version'] as number, 'UNSEAL', ctx);
        return;
      case 'SaveNotificationList':
        await this.notificationListsOrFail().save(op.targetId, String(p['list']), ctx);
        return;
      case 'RemoveNotificationList':
        await this.notificationListsOrFail().remove(op.targetId, ctx);
        return;
      case 'SetResidencyRule':
        if (!this.residency) throw new Error('DualAuthorization: residency rules are not wired');
        await this.residency.change({ tenant: op.targetId, from: p['from'] as Jurisdiction, to: p['to'] as Jurisdiction, allowed: p['allowed'] === true }, ctx);
        return;
      case 'BindClientCertificate':
        if (typeof p['fingerprint'] === 'string') await this.identities.bindClientCertificate(op.targetId, { fingerprint: p['fingerprint'], subject: p['subject'] }, ctx);
        else await this.identities.unbindClientCertificate(op.targetId, ctx);
        return;
      default: {
        const never: never = op.operation;
        throw new KmsError('ILLEGAL_TRANSITION', `unknown approved operation ${String(never)}`);
      }
    }
  }
}
