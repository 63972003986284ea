import { join } from 'node:path';
import { type CallOptions, type ChannelCredentials, type Client, type ClientOptions, credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { KMS_PROTO_FILE, PROTO_LOADER_OPTIONS, PROTO_ROOT } from './proto-paths';

/** Every unary method of kms.v1.KeyManagementService. */
export const KMS_METHODS = [
  'CreateKey', 'GetKey', 'ListKeys', 'RotateKey', 'UpdateRotationPolicy', 'UpdateKeyLabels', 'DisableKeyVersion', 'EnableKeyVersion',
  'ScheduleKeyVersionDestruction', 'CancelKeyVersionDestruction', 'DestroyKeyVersion', 'SetMinDecryptionVersion',
  'Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'Sign', 'Verify', 'GetPublicKey', 'GenerateMac', 'VerifyMac',
  'GenerateRandom', 'BatchEncrypt', 'BatchDecrypt', 'BatchReEncrypt', 'SetKeyPolicy', 'GetKeyOriginStatement', 'ReportKeyCompromise', 'RegisterDependent', 'RemoveDependent', 'ConfirmKeyVersion', 'ReportOverdueConfirmations',
  'AsymmetricDecrypt', 'Decapsulate', 'GetImportParameters', 'ImportKeyVersion', 'GenerateDataKeyPair',
  'IssueProofToken', 'GetProofChain',
  'RecordDrill', 'CloseDrillFollowUp', 'GetDrillStatus', 'ReportDrillsOverdue',
  'SetResidencyRule', 'GetResidencyRules',
] as const;
export const IDENTITY_METHODS = [
  'IssueToken', 'RegisterIdentity', 'RotateCredential', 'SuspendIdentity', 'ReEnableIdentity', 'ChangeIdentityRoles', 'GetIdentity', 'ListIdentities', 'CreateEnrolmentLink', 'BindClientCertificate',
] as const;
export const APPROVAL_METHODS = ['GetApprovalRequest', 'ListApprovalRequests', 'ApproveRequest', 'RejectRequest'] as const;
/** kms.v1.EscrowService: break-glass escrow (docs/break-glass.md). */
export const ESCROW_METHODS = [
  'EnrolEscrowCustodian', 'SetEscrowPolicy', 'SealEscrow', 'CounterSignEscrowTranscript', 'DeclareEscrowPackageDestroyed', 'SettleEscrowDeclarations',
  'OpenEscrowReconstruction', 'SubmitEscrowShare', 'CompleteEscrowReconstruction', 'GetEscrowStatus', 'GetEscrowPackage',
] as const;
export const ALL_METHODS = [...KMS_METHODS, ...IDENTITY_METHODS, ...APPROVAL_METHODS, ...ESCROW_METHODS] as const;
export type KmsMethod = (typeof ALL_METHODS)[number];
export type KmsServiceName = 'KeyManagementService' | 'IdentityService' | 'ApprovalService' | 'EscrowService';

/** The kms.v1 service a method belongs to. */
export function serviceOfMethod(method: string): KmsServiceName {
  if ((IDENTITY_METHODS as readonly string[]).includes(method)) return 'IdentityService';
  if ((APPROVAL_METHODS as readonly string[]).includes(method)) return 'ApprovalService';
  if ((ESCROW_METHODS as readonly string[]).includes(method)) return 'EscrowService';
  return 'KeyManagementService';
}

/** Messages are plain objects with the proto's snake_case field names. */
export type KmsMessage = Record<string, unknown>;

export interface KmsCallOptions {
  /** Bearer token from IdentityService/IssueToken. */
  token?: string;
  requestId?: string;
  /** Extra metadata, e.g. authorization. */
  metadata?: Record<string, string>;
  deadlineMs?: number;
}

/** A gRPC failure with the KMS error code and field read from the trailers. */
export class KmsCallError extends Error {
  override readonly name = 'KmsCallError';
  constructor(
    readonly code: number,
    readonly details: string,
    readonly errorCode: string | undefined,
    readonly field: string | undefined,
  ) {
    super(`${code} ${errorCode ?? ''}: ${details}`);
  }
}

type UnaryFn = (req: KmsMessage, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res: KmsMessage) => void) => void;

export interface KmsClient {
  call<T extends KmsMessage = KmsMessage>(method: KmsMethod, request: KmsMessage, options?: KmsCallOptions): Promise<T>;
  close(): void;
  raw: Client;
}

/** A promise-based client for the key service (tests, benchmarks, other services). */
export function createKmsClient(address: string): KmsClient {
  const def = loadSync(join(PROTO_ROOT, KMS_PROTO_FILE), { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
  type Ctor = new (address: string, creds: ChannelCredentials, options?: ClientOptions) => Client;
  const pkg = loadPackageDefinition(def) as unknown as { kms: { v1: Record<KmsServiceName, Ctor> } };
  const creds = credentials.createInsecure();
  const client = new pkg.kms.v1.KeyManagementService(address, creds);
  // The three services share one channel.
  const identity = new pkg.kms.v1.IdentityService(address, creds, { channelOverride: client.getChannel() });
  const approvals = new pkg.kms.v1.ApprovalService(address, creds, { channelOverride: client.getChannel() });
  const escrow = new pkg.kms.v1.EscrowService(address, creds, { channelOverride: client.getChannel() });
  const clients: Record<KmsServiceName, Client> = { KeyManagementService: client, IdentityService: identity, ApprovalService: approvals, EscrowService: escrow };
  const target = (method: KmsMethod): Client => clients[serviceOfMethod(method)];
  return {
    raw: client,
    close: () => {
      identity.close();
      approvals.close();
      escrow.close();
      client.close();
    },
    call<T extends KmsMessage>(method: KmsMethod, request: KmsMessage, options: KmsCallOptions = {}): Promise<T> {
      const md = new Metadata();
      if (options.token) md.set('authorization', `Bearer ${options.token}`);
      if (options.requestId) md.set('x-request-id', options.requestId);
      for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
      const callOpts: CallOptions = options.deadlineMs ? { deadline: Date.now() + options.deadlineMs } : {};
      return new Promise<T>((resolve, reject) => {
        const c = target(method);
        (c as unknown as Record<KmsMethod, UnaryFn>)[method].call(c, request, md, callOpts, (err, res) => {
          if (err) {
            const code = err.metadata?.get('kms-error-code')[0];
            const field = err.metadata?.get('kms-error-field')[0];
            reject(new KmsCallError(err.code, err.details, code?.toString(), field?.toString()));
          } else resolve(res as T);
        });
      });
    },
  };
}
