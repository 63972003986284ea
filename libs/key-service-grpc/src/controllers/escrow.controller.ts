import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { DualAuthorization, EscrowService, type EscrowStatus, KeyCatalog } from '@kms/application';
import type {
  CompleteEscrowReconstructionRequest__Output,
  CounterSignEscrowTranscriptRequest__Output,
  DeclareEscrowPackageDestroyedRequest__Output,
  EnrolEscrowCustodianRequest__Output,
  EscrowVersionRequest__Output,
  OpenEscrowReconstructionRequest__Output,
  SetEscrowPolicyRequest__Output,
  SubmitEscrowShareRequest__Output,
} from '@kms/contracts';
import { invalidArgument, isKmsError, KmsError } from '@kms/domain';
import type { SealedBox, SignedDestructionDeclaration } from '@kms/evidence';
import { CallGate, type CallScope } from '../call-gate';
import { administeredKey, changeContext, requiredVersion } from './request-helpers';

type Call = ServerUnaryCall<unknown, unknown>;

/** The escrow service of this process, or null where the KMS has no attestation key to sign transcripts. */
export const ESCROW_SERVICE = Symbol('ESCROW_SERVICE');

const ESCROW_SERVICE_NAME = 'EscrowService';

function json<T>(text: unknown, field: string): T {
  if (typeof text !== 'string' || text.length === 0) throw invalidArgument(field, 'is required');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw invalidArgument(field, 'must be JSON');
  }
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(field, 'is required');
  return value;
}

/** EscrowStatus as the proto carries it, with the open reconstructions (from the ceremony events). */
function toProtoStatus(s: EscrowStatus, open: Awaited<ReturnType<EscrowService['openReconstructionsOf']>>) {
  return {
    key_id: s.keyId,
    key_version: s.version,
    ceremony_id: s.ceremonyId,
    status: s.status,
    threshold: s.threshold,
    share_count: s.shareCount,
    custodians: s.custodians,
    counter_signed: s.counterSigned,
    pending_declarations: s.pendingDeclarations,
    declare_by: s.declareBy ?? '',
    last_drill_time: s.lastDrillAt ?? '',
    usable_until: s.usableUntil ?? '',
    open_reconstructions: open.map((r) => ({ reconstruction_id: r.reconstructionId, ceremony_public_key: r.ceremonyPublicKey, expire_time: r.expiresAt, purpose: r.purpose })),
  };
}

/**
 * kms.v1.EscrowService (docs/break-glass.md): thin — admit the caller, check the key, send custodian
 * enrolment, escrow policies and emergency unseals through DualAuthorization, call EscrowService. A
 * custodian acts as the calling person, never as someone named in the request.
 */
@Controller()
export class EscrowController {
  constructor(
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(DualAuthorization) private readonly dual: DualAuthorization,
    @Inject(ESCROW_SERVICE) private readonly service: EscrowService | null,
  ) {}

  private get escrow(): EscrowService {
    if (!this.service) throw new KmsError('BACKEND_UNAVAILABLE', 'break-glass escrow needs the HSM attestation key (KMS_HSM_ENABLED)');
    return this.service;
  }

  private async keyVersion(scope: CallScope, req: { key_id: unknown; key_version?: number }): Promise<{ keyId: string; version: number }> {
    const key = (await administeredKey(this.catalog, scope, req.key_id)).key;
    const version = req.key_version ? req.key_version : key.primaryVersion;
    scope.facts.keyId = key.keyId;
    scope.facts.keyVersion = version;
    return { keyId: key.keyId, version };
  }

  private async status(keyId: string, version: number) {
    return toProtoStatus(await this.escrow.status(keyId, version), await this.escrow.openReconstructionsOf(keyId, version));
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'EnrolEscrowCustodian')
  enrolCustodian(req: EnrolEscrowCustodianRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('EnrolEscrowCustodian', req, metadata, call, async (scope) => {
      const identityId = text(req.identity_id, 'identity_id');
      scope.facts.details = { identityId };
      const change = changeContext(scope, req.context);
      await this.dual.guard(scope.principal, change, { operation: 'EnrolEscrowCustodian', identityId, encryptionPublicKey: text(req.encryption_public_key, 'encryption_public_key'), signingPublicKey: text(req.signing_public_key, 'signing_public_key') }, scope.facts);
      // Not reached: enrolment always takes a second person (DualAuthorization answers APPROVAL_REQUIRED).
      throw new KmsError('APPROVAL_REQUIRED', 'enrolling an escrow custodian needs a second person');
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'SetEscrowPolicy')
  setEscrowPolicy(req: SetEscrowPolicyRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SetEscrowPolicy', req, metadata, call, async (scope) => {
      const keyId = (await administeredKey(this.catalog, scope, req.key_id)).key.keyId;
      const change = changeContext(scope, req.context);
      await this.dual.guard(
        scope.principal,
        change,
        {
          operation: 'SetEscrowPolicy',
          keyId,
          threshold: req.threshold,
          custodians: [...(req.custodians ?? [])],
          witness: text(req.witness, 'witness'),
          ...(req.declaration_window_hours ? { declarationWindowHours: req.declaration_window_hours } : {}),
        },
        scope.facts,
      );
      throw new KmsError('APPROVAL_REQUIRED', 'an escrow policy needs a second person');
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'SealEscrow')
  seal(req: EscrowVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SealEscrow', req, metadata, call, async (scope) => {
      const { keyId, version } = await this.keyVersion(scope, req);
      const sealed = await this.escrow.seal(keyId, changeContext(scope, req.context), version);
      scope.facts.details = { ceremonyId: sealed.transcript.ceremonyId, threshold: String(sealed.transcript.threshold), shareCount: String(sealed.transcript.shareCount) };
      return {
        transcript_json: JSON.stringify(sealed.transcript),
        attestation_signature: sealed.attestationSignature,
        packages: sealed.packages.map((p) => ({ custodian_id: p.custodianId, share_index: p.shareIndex, package_fingerprint: p.packageFingerprint, package_json: JSON.stringify(p) })),
      };
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'CounterSignEscrowTranscript')
  counterSign(req: CounterSignEscrowTranscriptRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('CounterSignEscrowTranscript', req, metadata, call, async (scope) => {
      const version = requiredVersion(req.key_version);
      const keyId = text(req.key_id, 'key_id');
      scope.facts.keyId = keyId;
      scope.facts.keyVersion = version;
      await this.escrow.counterSign(keyId, version, scope.principal.identityId, text(req.signature, 'signature'), changeContext(scope, undefined));
      return this.status(keyId, version);
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'DeclareEscrowPackageDestroyed')
  declareDestroyed(req: DeclareEscrowPackageDestroyedRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('DeclareEscrowPackageDestroyed', req, metadata, call, async (scope) => {
      const declaration = json<SignedDestructionDeclaration['declaration']>(req.declaration_json, 'declaration_json');
      if (declaration?.custodianId !== scope.principal.identityId) throw new KmsError('PERMISSION_DENIED', 'permission denied: a custodian declares only their own package destroyed', 'declaration_json');
      scope.facts.keyId = declaration.keyId;
      scope.facts.keyVersion = declaration.version;
      await this.escrow.declareDestroyed({ declaration, signature: text(req.signature, 'signature') }, changeContext(scope, undefined));
      return this.status(declaration.keyId, declaration.version);
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'SettleEscrowDeclarations')
  settle(req: EscrowVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SettleEscrowDeclarations', req, metadata, call, async (scope) => {
      const { keyId } = await this.keyVersion(scope, req);
      const version = requiredVersion(req.key_version);
      scope.facts.keyVersion = version;
      const s = await this.escrow.settleDeclarations(keyId, version, changeContext(scope, req.context));
      scope.facts.details = { status: s.status, pendingDeclarations: s.pendingDeclarations.join(',') };
      return toProtoStatus(s, await this.escrow.openReconstructionsOf(keyId, version));
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'OpenEscrowReconstruction')
  openReconstruction(req: OpenEscrowReconstructionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('OpenEscrowReconstruction', req, metadata, call, async (scope) => {
      const { keyId, version } = await this.keyVersion(scope, req);
      const change = changeContext(scope, req.context);
      if (req.purpose === 'UNSEAL') {
        await this.dual.guard(scope.principal, change, { operation: 'EmergencyUnseal', keyId, version }, scope.facts);
        throw new KmsError('APPROVAL_REQUIRED', 'an emergency unseal needs a second person');
      }
      if (req.purpose !== 'DRILL') throw invalidArgument('purpose', 'must be DRILL or UNSEAL');
      const opened = await this.escrow.openReconstruction(keyId, version, 'DRILL', change);
      scope.facts.details = { reconstructionId: opened.reconstructionId, purpose: 'DRILL' };
      return { reconstruction_id: opened.reconstructionId, ceremony_public_key: opened.ceremonyPublicKey, expire_time: opened.expiresAt, purpose: 'DRILL' };
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'SubmitEscrowShare')
  submitShare(req: SubmitEscrowShareRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('SubmitEscrowShare', req, metadata, call, async (scope) => {
      const reconstructionId = text(req.reconstruction_id, 'reconstruction_id');
      const target = await this.escrow.reconstructionTarget(reconstructionId);
      scope.facts.keyId = target.keyId;
      scope.facts.keyVersion = target.version;
      scope.facts.details = { reconstructionId, custodian: scope.principal.identityId };
      try {
        const r = await this.escrow.submitShare(reconstructionId, scope.principal.identityId, json<SealedBox>(req.submission_json, 'submission_json'), changeContext(scope, undefined));
        return { accepted: r.accepted, threshold: r.threshold };
      } catch (e) {
        // A refused share: ShareSubmissionRefused is committed (the service keeps it), and the audit record says why.
        if (isKmsError(e) && e.field === 'share') scope.facts.details = { ...scope.facts.details, refused: e.message };
        throw e;
      }
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'CompleteEscrowReconstruction')
  completeReconstruction(req: CompleteEscrowReconstructionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.runChange('CompleteEscrowReconstruction', req, metadata, call, async (scope) => {
      const reconstructionId = text(req.reconstruction_id, 'reconstruction_id');
      const target = await this.escrow.reconstructionTarget(reconstructionId);
      await administeredKey(this.catalog, scope, target.keyId);
      scope.facts.keyVersion = target.version;
      scope.facts.details = { reconstructionId };
      const done = await this.escrow.completeReconstruction(reconstructionId, changeContext(scope, undefined));
      return { transcript_json: JSON.stringify(done.transcript), attestation_signature: done.attestationSignature };
    });
  }

  /** The caller's own package only: a custodian is the calling person. */
  @GrpcMethod(ESCROW_SERVICE_NAME, 'GetEscrowPackage')
  getPackage(req: EscrowVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetEscrowPackage', metadata, call, async (scope) => {
      const keyId = text(req.key_id, 'key_id');
      const version = requiredVersion(req.key_version);
      scope.facts.keyId = keyId;
      scope.facts.keyVersion = version;
      const p = await this.escrow.packageOf(keyId, version, scope.principal.identityId);
      const signed = await this.escrow.signedTranscript(keyId, version);
      return {
        custodian_id: p.custodianId,
        share_index: p.shareIndex,
        package_fingerprint: p.packageFingerprint,
        package_json: JSON.stringify(p),
        transcript_json: JSON.stringify(signed.transcript),
        attestation_signature: signed.attestationSignature,
      };
    });
  }

  @GrpcMethod(ESCROW_SERVICE_NAME, 'GetEscrowStatus')
  getStatus(req: EscrowVersionRequest__Output, metadata: Metadata, call: Call) {
    return this.gate.run('GetEscrowStatus', metadata, call, async (scope) => {
      const { keyId, version } = await this.keyVersion(scope, req);
      return this.status(keyId, version);
    });
  }
}
