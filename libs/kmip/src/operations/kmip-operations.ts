import { constants, createCipheriv, createHash, createPublicKey, publicEncrypt, randomBytes, randomUUID } from 'node:crypto';
import {
  type CallPipeline,
  type CallScope,
  type ChangeContext,
  type CryptoService,
  type DualAuthorization,
  type IncomingCall,
  type KeyCatalog,
  type KeyLifecycleService,
  validateKeyId,
} from '@kms/application';
import { type Algorithm, type ExistingKeyState, isUuid, type KeyPermission, type KeyPurpose, KmsError, validatePurpose } from '@kms/domain';
import { type ClientAttribute, attributeItem, JURISDICTION_ATTRIBUTE, attributeNamed, customLabels, enumValue, intValue, type KmipObject, nameValue, objectAttributes, parseUid, PUBLIC_KEY_SUFFIX, readAttributes, textValue } from './kmip-attributes';
import { KmipRefusal, toKmipFailure } from './kmip-error.mapper';
import { Fields, KmipError, type ProtocolVersion } from '../ttlv/kmip-message';
import { CryptographicAlgorithm, KeyFormatType, NameType, ObjectType, type OperationName, Operation, QueryFunction, RevocationReasonCode, SUPPORTED_VERSIONS, Tag, ValidityIndicator, WrappingMethod } from '../ttlv/kmip-tags';
import { ttlv, type TtlvItem } from '../ttlv/ttlv';

/** The application services a KMIP operation calls: the same ones the gRPC controllers call. */
export interface KmipApplication {
  pipeline: CallPipeline;
  lifecycle: KeyLifecycleService;
  catalog: KeyCatalog;
  crypto: CryptoService;
  dual: DualAuthorization;
  options?: KmipOptions;
}

/** How this server treats what KMIP allows but the KMS does not by default (docs/kmip.md). */
export interface KmipOptions {
  /** KMS_KMIP_ALLOW_CLEAR_REGISTER: accept Register of a key sent in clear (default false: wrapped only). */
  allowClearRegister?: boolean;
}

/** The KMIP object a client Gets to receive a fresh one-time import wrapping key (a public key) for Register. */
export const IMPORT_WRAPPING_KEY_UID = 'kms-import-wrapping-key';

/** `kms-import-wrapping-key:<key id>:<import token>`: the wrapping key a Register's Key Wrapping Data names. */
function importWrappingKeyUid(keyId: string, token: string): string {
  return `${IMPORT_WRAPPING_KEY_UID}:${keyId}:${token}`;
}

function parseImportWrappingKeyUid(uid: string): { keyId: string; importToken: string } {
  const parts = uid.split(':');
  if (parts.length !== 3 || parts[0] !== IMPORT_WRAPPING_KEY_UID || !isUuid(parts[1]) || !isUuid(parts[2])) {
    throw new KmipRefusal(
      'INVALID_ARGUMENT',
      'InvalidField',
      `Key Wrapping Data.Encryption Key Information.Unique Identifier: must name an import wrapping key (${IMPORT_WRAPPING_KEY_UID}:<key id>:<token>, as Get of "${IMPORT_WRAPPING_KEY_UID}" returns)`,
      'encryption_key_information',
    );
  }
  return { keyId: parts[1] as string, importToken: parts[2] as string };
}

/** Create attribute asking for an exportable key (text "true"/"false"): takes two people. */
const EXPORTABLE_ATTRIBUTE = 'x-kms-exportable';
/** Create attribute carrying the change ticket an approval request needs (exportable keys). */
const CHANGE_TICKET_ATTRIBUTE = 'x-kms-change-ticket';

function exportableAsked(attributes: ClientAttribute[]): boolean {
  const text = textValue(attributeNamed(attributes, EXPORTABLE_ATTRIBUTE), EXPORTABLE_ATTRIBUTE);
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', `${EXPORTABLE_ATTRIBUTE}: must be "true" or "false"`, 'exportable');
}

/** Largest wrapped key a Register carries (as ImportKeyVersion): RSA-OAEP of the AES key plus the KWP of the material. */
const MAX_WRAPPED_BYTES = 8 * 1024;

/**
 * Wrap clear material the way ImportKeyVersion expects (RSA-OAEP-SHA256 of a one-time AES-256 key,
 * then AES-KWP of the material): only for KMS_KMIP_ALLOW_CLEAR_REGISTER, so a clear Register takes
 * the very import path a wrapped one does.
 */
export function wrapForImport(wrappingPublicKeySpki: Buffer, material: Buffer): Buffer {
  const ephemeral = randomBytes(32);
  try {
    const key = createPublicKey({ key: wrappingPublicKeySpki, format: 'der', type: 'spki' });
    const head = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, ephemeral);
    const kwp = createCipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('a65959a6', 'hex'));
    return Buffer.concat([head, kwp.update(material), kwp.final()]);
  } finally {
    ephemeral.fill(0);
  }
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Who is on the other end of a TLS connection: the verified client certificate and the peer address. */
export interface KmipSession {
  certificate: { fingerprint: string; subject: string };
  peer: string;
  version: ProtocolVersion;
}

/** What an operation returns: the response payload's fields, and the object id later items may use (ID Placeholder). */
export interface OperationResult {
  payload: TtlvItem[];
  uid?: string;
  /** Key material in the payload (or the request): zeroed by the server once the response is encoded and sent. */
  secrets?: Buffer[];
}

/** Operations whose application twin is not on this branch: refused by name (docs/kmip.md). */

const GCM_NONCE_BYTES = 12;
const KMS_HEADER_BYTES = 23;
const GCM_TAG_BYTES = 16;
const VERSION_PREFIX_BYTES = 4;

/** What a Create asks for, in the KMS's terms. */
function algorithmFor(kmipAlgorithm: number | undefined, length: number | undefined, curveOrLength: 'symmetric' | 'pair'): Algorithm {
  if (curveOrLength === 'symmetric') {
    if (kmipAlgorithm === CryptographicAlgorithm.AES) {
      if (length !== undefined && length !== 256) throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', 'Cryptographic Length: AES keys here are 256 bits (AES-256-GCM)', 'cryptographic_length');
      return 'AES_256_GCM';
    }
    if (kmipAlgorithm === CryptographicAlgorithm.HMAC_SHA256) return 'HMAC_SHA256';
    throw new KmipRefusal('INVALID_ARGUMENT', 'FeatureNotSupported', 'Cryptographic Algorithm: Create makes AES (256) or HMAC-SHA256 keys', 'cryptographic_algorithm');
  }
  if (kmipAlgorithm === CryptographicAlgorithm.RSA) {
    if (length !== undefined && length !== 3072) throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', 'Cryptographic Length: RSA keys here are 3072 bits (RSA-PSS-SHA256)', 'cryptographic_length');
    return 'RSA_PSS_3072_SHA256';
  }
  if (kmipAlgorithm === CryptographicAlgorithm.EC || kmipAlgorithm === CryptographicAlgorithm.ECDSA) {
    if (length !== undefined && length !== 256) throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', 'Cryptographic Length: EC keys here are P-256', 'cryptographic_length');
    return 'ECDSA_P256_SHA256';
  }
  if (kmipAlgorithm === CryptographicAlgorithm.Ed25519) return 'ED25519';
  throw new KmipRefusal('INVALID_ARGUMENT', 'FeatureNotSupported', 'Cryptographic Algorithm: CreateKeyPair makes RSA (3072), EC (P-256) or Ed25519 key pairs', 'cryptographic_algorithm');
}

/** What the creator may do with a key it created over KMIP (a key policy grant to itself). */
function creatorGrant(algorithm: Algorithm): KeyPermission[] {
  switch (algorithm) {
    case 'AES_256_GCM':
      return ['ENCRYPT', 'DECRYPT', 'ADMINISTER'];
    case 'HMAC_SHA256':
      return ['MAC', 'ADMINISTER'];
    case 'ECDSA_P256_SHA256':
    case 'ED25519':
    case 'RSA_PSS_3072_SHA256':
    case 'ML_DSA_65':
      return ['SIGN', 'VERIFY', 'ADMINISTER'];
    case 'RSA_OAEP_3072_SHA256':
    case 'ML_KEM_768':
      return ['DECRYPT', 'ADMINISTER'];
    default: {
      const never: never = algorithm;
      throw new Error(`unknown algorithm ${String(never)}`);
    }
  }
}

/** Errors the call pipeline answered (and so audited): anything else an item throws was refused before it. */
const PIPELINE_ANSWERED = new WeakSet<object>();

function answered<T>(call: Promise<T>): Promise<T> {
  return call.catch((e: unknown) => {
    if (typeof e === 'object' && e !== null) PIPELINE_ANSWERED.add(e);
    throw e;
  });
}

/**
 * The KMIP transport adapter over the one audited-call pipeline: every operation is admitted by the
 * client certificate, authorized under its gRPC twin's name, audited fail-closed with the protocol
 * named, and calls the same application service as the gRPC controller. Nothing of authentication,
 * authorization or audit lives here; only translation between KMIP fields and the application.
 */
export class KmipOperations {
  constructor(private readonly app: KmipApplication) {}

  private incoming(operation: string, kmipOperation: OperationName, session: KmipSession): IncomingCall {
    return {
      operation,
      peer: session.peer,
      clientCertificate: session.certificate,
      details: { protocol: 'KMIP', kmipVersion: `${session.version.major}.${session.version.minor}`, kmipOperation },
    };
  }

  /** Parsing errors inside an admitted call are refusals of the request (audited as such), not faults. */
  private static translated<T>(work: () => Promise<T> | T): Promise<T> {
    return Promise.resolve()
      .then(work)
      .catch((e: unknown) => {
        if (e instanceof KmipError) throw new KmipRefusal('INVALID_ARGUMENT', e.reason, e.message);
        throw e;
      });
  }

  /** An audited call that changes nothing, authorized as `operation`. */
  private run<T>(operation: string, kmip: OperationName, session: KmipSession, fn: (scope: CallScope) => Promise<T> | T): Promise<T> {
    const incoming = this.incoming(operation, kmip, session);
    const ctx = this.app.pipeline.begin(incoming);
    return answered(this.app.pipeline.run(ctx, incoming, (scope) => KmipOperations.translated(() => fn(scope))));
  }

  /** An audited change (its events commit with its audit record), authorized as `operation`. */
  private change<T>(operation: string, kmip: OperationName, session: KmipSession, request: unknown, fn: (scope: CallScope) => Promise<T> | T): Promise<T> {
    const incoming = this.incoming(operation, kmip, session);
    const ctx = this.app.pipeline.begin(incoming);
    return answered(this.app.pipeline.runChange(ctx, incoming, request, (scope) => KmipOperations.translated(() => fn(scope))));
  }

  private context(scope: CallScope, kmip: OperationName): ChangeContext {
    return { actor: scope.principal.identityId, correlationId: scope.ctx.requestId, reason: `KMIP ${kmip}` };
  }

  /** The key an object id names, checked against the caller's grant like the gRPC twin does. */
  private async key(scope: CallScope, uid: string, permission: KeyPermission): Promise<{ state: ExistingKeyState; object: KmipObject }> {
    const object = parseUid(uid);
    const keyId = validateKeyId(object.keyId, 'unique_identifier');
    scope.facts.keyId = keyId;
    let state: ExistingKeyState;
    try {
      state = await this.app.catalog.get(keyId);
    } catch (e) {
      if (e instanceof KmsError && e.code === 'KEY_NOT_FOUND' && scope.access.hidesMissingKeys) scope.access.check(undefined, permission);
      throw e;
    }
    scope.access.check(state, permission);
    return { state, object };
  }

  /**
   * Run one batch item; `placeholder` is the id an earlier item of the batch returned. An item refused
   * before it reached the call pipeline (a required field missing, a wrong type) is audited here, as a
   * malformed request of the certificate's identity, so every refusal leaves a record.
   */
  async execute(operation: OperationName, payload: Fields, session: KmipSession, placeholder: string | undefined): Promise<OperationResult> {
    try {
      return await this.dispatch(operation, payload, session, placeholder);
    } catch (e) {
      if (!PIPELINE_ANSWERED.has(e as object)) await this.refusedBeforeCall(operation, session, e);
      throw e;
    }
  }

  private async refusedBeforeCall(kmip: OperationName, session: KmipSession, error: unknown): Promise<void> {
    const failure = toKmipFailure(error);
    const incoming: IncomingCall = {
      ...this.incoming('KmipRequest', kmip, session),
      malformed: { message: `malformed request: ${failure.message}`, size: 0, reason: failure.reason },
    };
    await this.app.pipeline.run(this.app.pipeline.begin(incoming), incoming, () => undefined).catch(() => undefined);
  }

  private async dispatch(operation: OperationName, payload: Fields, session: KmipSession, placeholder: string | undefined): Promise<OperationResult> {
    const uid = (): string => {
      const given = payload.opt(Tag.UniqueIdentifier, 'TextString') ?? placeholder;
      if (given === undefined) throw new KmipRefusal('INVALID_ARGUMENT', 'MissingData', 'Unique Identifier: is required (or an earlier batch item must have returned one)', 'unique_identifier');
      return given;
    };
    switch (operation) {
      case 'DiscoverVersions':
        return this.run('GetKey', operation, session, () => ({ payload: this.discoverVersions(payload) }));
      case 'Query':
        return this.run('GetKey', operation, session, () => ({ payload: this.query(payload) }));
      case 'Create':
        return this.create(payload, session);
      case 'CreateKeyPair':
        return this.createKeyPair(payload, session);
      case 'Register':
        return this.register(payload, session);
      case 'Locate':
        return this.locate(payload, session);
      case 'Get':
        return this.get(uid, session);
      case 'GetAttributes':
      case 'GetAttributeList':
        return this.attributes(operation, payload, uid, session);
      case 'Activate':
        return this.run('GetKey', operation, session, async (scope) => {
          const { state, object } = await this.key(scope, uid(), 'ADMINISTER');
          // KMS keys are usable from creation: Activate confirms it, and refuses a key that is not.
          if (state.status !== 'Enabled') throw new KmipRefusal('ILLEGAL_TRANSITION', 'IllegalOperation', `Activate: the key's primary version ${state.key.primaryVersion} is not enabled`);
          return { payload: [ttlv.text(Tag.UniqueIdentifier, object.publicHalf ? `${state.key.keyId}${PUBLIC_KEY_SUFFIX}` : state.key.keyId)] };
        });
      case 'Revoke':
        return this.revoke(payload, uid, session);
      case 'Destroy':
        return this.destroy(uid, session);
      case 'ReKey':
        return this.change('RotateKey', operation, session, { kmip: operation, uid: uid() }, async (scope) => {
          const { state } = await this.key(scope, uid(), 'ADMINISTER');
          const change = this.context(scope, operation);
          await this.app.dual.guard(scope.principal, change, { operation: 'RotateKey', key: state.key, reason: 'MANUAL' }, scope.facts);
          const key = await this.app.lifecycle.rotateKey(state.key.keyId, 'MANUAL', change);
          scope.facts.keyVersion = key.primaryVersion;
          // The KMS keeps one object per key (versions inside it): the replacement has the same id.
          return { payload: [ttlv.text(Tag.UniqueIdentifier, key.keyId)], uid: key.keyId };
        });
      case 'Encrypt':
        return this.encrypt(payload, uid, session);
      case 'Decrypt':
        return this.decrypt(payload, uid, session);
      case 'Sign':
        return this.run('Sign', operation, session, async (scope) => {
          const data = payload.req(Tag.Data, 'ByteString');
          const r = await this.app.crypto.sign(scope.access, parseUid(uid()).keyId, data, undefined, scope.facts);
          return { payload: [ttlv.text(Tag.UniqueIdentifier, r.keyId), ttlv.bytes(Tag.SignatureData, r.signature)] };
        });
      case 'SignatureVerify':
        return this.run('Verify', operation, session, async (scope) => {
          const data = payload.req(Tag.Data, 'ByteString');
          const signature = payload.req(Tag.SignatureData, 'ByteString');
          const object = parseUid(uid());
          const r = await this.app.crypto.verify(scope.access, object.keyId, undefined, data, undefined, signature, scope.facts);
          return { payload: [ttlv.text(Tag.UniqueIdentifier, uid()), ttlv.enum(Tag.ValidityIndicator, r.valid ? ValidityIndicator.Valid : ValidityIndicator.Invalid)] };
        });
      case 'MAC':
        return this.run('GenerateMac', operation, session, async (scope) => {
          const r = await this.app.crypto.generateMac(scope.access, uid(), payload.req(Tag.Data, 'ByteString'), scope.facts);
          return { payload: [ttlv.text(Tag.UniqueIdentifier, r.keyId), ttlv.bytes(Tag.MacData, r.mac)] };
        });
      case 'MACVerify':
        return this.run('VerifyMac', operation, session, async (scope) => {
          const r = await this.app.crypto.verifyMac(scope.access, uid(), undefined, payload.req(Tag.Data, 'ByteString'), payload.req(Tag.MacData, 'ByteString'), scope.facts);
          return { payload: [ttlv.text(Tag.UniqueIdentifier, r.keyId), ttlv.enum(Tag.ValidityIndicator, r.valid ? ValidityIndicator.Valid : ValidityIndicator.Invalid)] };
        });
      case 'ModifyAttribute':
        if (payload.struct(Tag.Attribute)?.opt(Tag.AttributeName, 'TextString') === 'Name') return this.rename(payload, uid, session);
        return this.changeAttribute(operation, payload, uid, session);
      case 'AddAttribute':
      case 'DeleteAttribute':
        return this.changeAttribute(operation, payload, uid, session);
      default: {
        const never: never = operation;
        throw new KmipError('OperationNotSupported', `operation ${String(never)} is not supported`);
      }
    }
  }

  /**
   * AddAttribute / ModifyAttribute / DeleteAttribute of a custom attribute (`x-<label>`): the key's
   * labels change through UpdateKeyLabels (same authorization, KeyLabelsChanged, audited). Custom
   * attributes are single-instance here (index 0 only). Everything else is the KMS's own and fixed:
   * `x-kms-…`, the Name (unique per tenant, named in the key's events) and the standard attributes.
   */
  private changeAttribute(operation: 'AddAttribute' | 'ModifyAttribute' | 'DeleteAttribute', payload: Fields, uid: () => string, session: KmipSession): Promise<OperationResult> {
    return this.change('UpdateKeyLabels', operation, session, { kmip: operation, uid: uid() }, async (scope) => {
      let name: string;
      let value: TtlvItem | undefined;
      let index: number | undefined;
      if (operation === 'DeleteAttribute') {
        name = payload.req(Tag.AttributeName, 'TextString');
        index = payload.opt(Tag.AttributeIndex, 'Integer');
      } else {
        const attribute = payload.struct(Tag.Attribute);
        if (!attribute) throw new KmipError('MissingData', `${operation}: Attribute is required`);
        name = attribute.req(Tag.AttributeName, 'TextString');
        value = attribute.items.find((i) => i.tag === Tag.AttributeValue);
        if (!value) throw new KmipError('MissingData', `${operation}: Attribute "${name}": AttributeValue is required`);
        index = attribute.opt(Tag.AttributeIndex, 'Integer');
      }
      if (name === 'Name') {
        throw new KmipRefusal('ILLEGAL_TRANSITION', 'IllegalOperation', `${operation}: a key has exactly one Name; rename it with ModifyAttribute`);
      }
      if (!name.startsWith('x-') || name.startsWith('x-kms-')) {
        throw new KmipRefusal('ILLEGAL_TRANSITION', 'IllegalOperation', `${operation}: attribute "${name}" is fixed by the KMS; only custom attributes (x-<label>, not x-kms-…) can change`);
      }
      if (index !== undefined && index !== 0) throw new KmipError('InvalidField', `${operation}: custom attributes have one instance (Attribute Index 0), got ${index}`);
      const { state, object } = await this.key(scope, uid(), 'ADMINISTER');
      const label = name.slice(2);
      const labels = { ...state.key.labels };
      const had = Object.prototype.hasOwnProperty.call(labels, label);
      if (operation === 'AddAttribute' && had) throw new KmipRefusal('ILLEGAL_TRANSITION', 'IllegalOperation', `AddAttribute: "${name}" is already set; use ModifyAttribute`);
      if (operation !== 'AddAttribute' && !had) throw new KmipRefusal('INVALID_ARGUMENT', 'ItemNotFound', `${operation}: the object has no attribute "${name}"`);
      const previous = labels[label];
      if (operation === 'DeleteAttribute') delete labels[label];
      else labels[label] = textValue(value, name) ?? '';
      const change = this.context(scope, operation);
      await this.app.dual.guard(scope.principal, change, { operation: 'UpdateKeyLabels', keyId: state.key.keyId, labels }, scope.facts);
      await this.app.lifecycle.setKeyLabels(state.key.keyId, labels, change);
      scope.facts.details = { attribute: name };
      const shown = operation === 'DeleteAttribute' ? ttlv.text(Tag.AttributeValue, previous ?? '') : ttlv.text(Tag.AttributeValue, labels[label] ?? '');
      const id = object.publicHalf ? `${state.key.keyId}${PUBLIC_KEY_SUFFIX}` : state.key.keyId;
      return { payload: [ttlv.text(Tag.UniqueIdentifier, id), attributeItem(name, shown)], uid: id };
    });
  }

  /**
   * ModifyAttribute of Name: the key is renamed (RenameKey: ADMINISTER on the key, KeyRenamed on its
   * stream, the new name reserved and the old one released in the same change), so Locate by the new
   * name finds it and the old name is free. A key has exactly one name (Attribute Index 0).
   */
  private rename(payload: Fields, uid: () => string, session: KmipSession): Promise<OperationResult> {
    return this.change('RenameKey', 'ModifyAttribute', session, { kmip: 'ModifyAttribute', uid: uid(), attribute: 'Name' }, async (scope) => {
      const attribute = payload.struct(Tag.Attribute) as Fields;
      const index = attribute.opt(Tag.AttributeIndex, 'Integer');
      if (index !== undefined && index !== 0) throw new KmipError('InvalidField', `ModifyAttribute: a key has one Name (Attribute Index 0), got ${index}`);
      const value = attribute.items.find((i) => i.tag === Tag.AttributeValue);
      if (!value) throw new KmipError('MissingData', 'ModifyAttribute: Attribute "Name": AttributeValue is required');
      const name = nameValue(value) as string;
      const { state, object } = await this.key(scope, uid(), 'ADMINISTER');
      const previousName = state.key.name;
      const change = this.context(scope, 'ModifyAttribute');
      await this.app.dual.guard(scope.principal, change, { operation: 'RenameKey', keyId: state.key.keyId, name }, scope.facts);
      const key = await this.app.lifecycle.renameKey(state.key.keyId, name, change);
      scope.facts.details = { attribute: 'Name', name: key.name, previousName };
      const id = object.publicHalf ? `${key.keyId}${PUBLIC_KEY_SUFFIX}` : key.keyId;
      const shown = ttlv.struct(Tag.AttributeValue, [ttlv.text(Tag.NameValue, key.name), ttlv.enum(Tag.NameType, NameType.UninterpretedTextString)]);
      return { payload: [ttlv.text(Tag.UniqueIdentifier, id), attributeItem('Name', shown)], uid: id };
    });
  }

  /** Whether `operation` is answered by this server (Query): every operation it knows. */
  static supported(operation: OperationName): boolean {
    return Object.hasOwn(Operation, operation);
  }

  private discoverVersions(payload: Fields): TtlvItem[] {
    const asked = payload.all(Tag.ProtocolVersion, 'Structure').map((s) => {
      const f = new Fields(s.value, 'ProtocolVersion');
      return { major: f.req(Tag.ProtocolVersionMajor, 'Integer'), minor: f.req(Tag.ProtocolVersionMinor, 'Integer') };
    });
    const answer = asked.length === 0 ? SUPPORTED_VERSIONS : SUPPORTED_VERSIONS.filter((v) => asked.some((a) => a.major === v.major && a.minor === v.minor));
    return answer.map((v) => ttlv.struct(Tag.ProtocolVersion, [ttlv.int(Tag.ProtocolVersionMajor, v.major), ttlv.int(Tag.ProtocolVersionMinor, v.minor)]));
  }

  private query(payload: Fields): TtlvItem[] {
    const functions = payload.all(Tag.QueryFunction, 'Enumeration').map((f) => f.value);
    const out: TtlvItem[] = [];
    if (functions.includes(QueryFunction.Operations)) {
      for (const [name, code] of Object.entries(Operation)) if (KmipOperations.supported(name as OperationName)) out.push(ttlv.enum(Tag.Operation, code));
    }
    if (functions.includes(QueryFunction.Objects)) out.push(ttlv.enum(Tag.ObjectType, 0x02), ttlv.enum(Tag.ObjectType, 0x03), ttlv.enum(Tag.ObjectType, 0x04));
    if (functions.includes(QueryFunction.ServerInformation)) {
      out.push(ttlv.text(Tag.VendorIdentification, 'kms (open-source key management service)'), ttlv.struct(Tag.ServerInformation, []));
    }
    return out;
  }

  private createInput(attributes: ClientAttribute[], algorithm: Algorithm, scope: CallScope, defaultPurpose: KeyPurpose) {
    const name = nameValue(attributeNamed(attributes, 'Name')) ?? `kmip-${randomUUID()}`;
    const purposeText = textValue(attributeNamed(attributes, 'x-kms-purpose'), 'x-kms-purpose');
    const jurisdiction = textValue(attributeNamed(attributes, JURISDICTION_ATTRIBUTE), JURISDICTION_ATTRIBUTE);
    return {
      tenant: 'default',
      name,
      purpose: purposeText === undefined ? defaultPurpose : validatePurpose(purposeText, 'x-kms-purpose'),
      algorithm,
      protectionLevel: 'SOFTWARE' as const,
      labels: customLabels(attributes),
      // Where the key is kept (docs/jurisdictions.md): validated by CreateKey, required when several are configured.
      ...(jurisdiction === undefined ? {} : { jurisdiction }),
      owner: scope.principal.name,
      policy: { grants: { [scope.principal.identityId]: creatorGrant(algorithm) } },
    };
  }

  private create(payload: Fields, session: KmipSession): Promise<OperationResult> {
    return this.change('CreateKey', 'Create', session, { kmip: 'Create' }, async (scope) => {
      const attributes = readAttributes(payload.struct(Tag.TemplateAttribute));
      const algorithm = algorithmFor(
        enumValue(attributeNamed(attributes, 'Cryptographic Algorithm'), 'Cryptographic Algorithm'),
        intValue(attributeNamed(attributes, 'Cryptographic Length'), 'Cryptographic Length'),
        'symmetric',
      );
      const input = this.createInput(attributes, algorithm, scope, algorithm === 'AES_256_GCM' ? 'DATA_PROTECTION' : 'SERVICE_ENVELOPE');
      const change = this.context(scope, 'Create');
      if (exportableAsked(attributes)) {
        // Material that may leave the KMS takes two people: recorded as an approval request (a change
        // ticket is needed), answered Permission Denied naming it; a person's approval creates the key.
        const ticket = textValue(attributeNamed(attributes, CHANGE_TICKET_ATTRIBUTE), CHANGE_TICKET_ATTRIBUTE);
        await this.app.dual.guard(scope.principal, { ...change, ...(ticket ? { changeTicket: ticket } : {}) }, { operation: 'CreateExportableKey', keyId: randomUUID(), input }, scope.facts);
      }
      const key = await this.app.lifecycle.createKey(input, change);
      scope.facts.keyId = key.keyId;
      scope.facts.keyVersion = key.primaryVersion;
      scope.facts.details = { purpose: key.purpose, algorithm: key.algorithm, protectionLevel: key.protectionLevel, jurisdiction: key.jurisdiction };
      return { payload: [ttlv.enum(Tag.ObjectType, 0x02), ttlv.text(Tag.UniqueIdentifier, key.keyId)], uid: key.keyId };
    });
  }

  private createKeyPair(payload: Fields, session: KmipSession): Promise<OperationResult> {
    return this.change('CreateKey', 'CreateKeyPair', session, { kmip: 'CreateKeyPair' }, async (scope) => {
      const attributes = [
        ...readAttributes(payload.struct(Tag.CommonTemplateAttribute)),
        ...readAttributes(payload.struct(Tag.PrivateKeyTemplateAttribute)),
        ...readAttributes(payload.struct(Tag.PublicKeyTemplateAttribute)),
      ];
      const algorithm = algorithmFor(
        enumValue(attributeNamed(attributes, 'Cryptographic Algorithm'), 'Cryptographic Algorithm'),
        intValue(attributeNamed(attributes, 'Cryptographic Length'), 'Cryptographic Length'),
        'pair',
      );
      if (exportableAsked(attributes)) throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', `${EXPORTABLE_ATTRIBUTE}: only symmetric keys can be exportable; a private key never leaves the KMS`, 'exportable');
      const key = await this.app.lifecycle.createKey(this.createInput(attributes, algorithm, scope, 'SERVICE_ENVELOPE'), this.context(scope, 'CreateKeyPair'));
      scope.facts.keyId = key.keyId;
      scope.facts.keyVersion = key.primaryVersion;
      scope.facts.details = { purpose: key.purpose, algorithm: key.algorithm, protectionLevel: key.protectionLevel, jurisdiction: key.jurisdiction };
      return {
        payload: [ttlv.text(Tag.PrivateKeyUniqueIdentifier, key.keyId), ttlv.text(Tag.PublicKeyUniqueIdentifier, `${key.keyId}${PUBLIC_KEY_SUFFIX}`)],
        uid: key.keyId,
      };
    });
  }

  private locate(payload: Fields, session: KmipSession): Promise<OperationResult> {
    return this.run('LocateKeys', 'Locate', session, async (scope) => {
      const attributes = readAttributes(new Fields(payload.items, 'Locate'));
      const name = nameValue(attributeNamed(attributes, 'Name'));
      const objectType = enumValue(attributeNamed(attributes, 'Object Type'), 'Object Type');
      const algorithm = enumValue(attributeNamed(attributes, 'Cryptographic Algorithm'), 'Cryptographic Algorithm');
      const labels = customLabels(attributes);
      const maximum = payload.opt(Tag.MaximumItems, 'Integer') ?? 1000;
      const visible = (await this.app.catalog.listChecked(Object.keys(labels).length > 0 ? { labels } : {})).filter((s) => scope.principal.kind === 'HUMAN' || Object.hasOwn(s.key.policy.grants, scope.principal.identityId));
      const ids: string[] = [];
      for (const s of visible) {
        if (name !== undefined && s.key.name !== name) continue;
        if (Object.entries(labels).some(([k, v]) => s.key.labels[k] !== v)) continue;
        const object: KmipObject = { keyId: s.key.keyId, publicHalf: false };
        const attrs = objectAttributes(s, object);
        const privateType = (attrs.find((a) => a.name === 'Object Type')?.value as { value: number }).value;
        const alg = (attrs.find((a) => a.name === 'Cryptographic Algorithm')?.value as { value: number }).value;
        if (algorithm !== undefined && alg !== algorithm) continue;
        if (objectType === undefined || objectType === privateType) ids.push(s.key.keyId);
        if (privateType === 0x04 && (objectType === undefined || objectType === 0x03)) ids.push(`${s.key.keyId}${PUBLIC_KEY_SUFFIX}`);
      }
      const found = ids.slice(0, Math.max(0, maximum));
      scope.facts.details = { returned: found.length };
      return { payload: found.map((id) => ttlv.text(Tag.UniqueIdentifier, id)), ...(found.length === 1 ? { uid: found[0] } : {}) };
    });
  }

  private get(uid: () => string, session: KmipSession): Promise<OperationResult> {
    const given = uid();
    if (given === IMPORT_WRAPPING_KEY_UID) return this.importWrappingKey(session);
    const object = parseUid(given);
    if (object.publicHalf) {
      return this.run('GetPublicKey', 'Get', session, async (scope) => {
        const r = await this.app.crypto.getPublicKey(scope.access, object.keyId, undefined, scope.facts);
        const der = Buffer.from(r.pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
        const state = await this.app.catalog.get(object.keyId);
        const attrs = objectAttributes(state, object);
        const pick = (n: string): TtlvItem => attrs.find((a) => a.name === n)?.value as TtlvItem;
        const keyBlock = ttlv.struct(Tag.KeyBlock, [
          ttlv.enum(Tag.KeyFormatType, KeyFormatType.X509),
          ttlv.struct(Tag.KeyValue, [ttlv.bytes(Tag.KeyMaterial, der)]),
          { ...pick('Cryptographic Algorithm'), tag: Tag.CryptographicAlgorithm },
          { ...pick('Cryptographic Length'), tag: Tag.CryptographicLength },
        ]);
        return { payload: [ttlv.enum(Tag.ObjectType, ObjectType.PublicKey), ttlv.text(Tag.UniqueIdentifier, given), ttlv.struct(0x42006d, [keyBlock])] };
      });
    }
    // Secret material leaves only for a key created exportable by two people (SOFTWARE, symmetric),
    // through the same audited pipeline; the audit record says it was exported, never what.
    return this.run('ExportKeyMaterial', 'Get', session, async (scope) => {
      const { state } = await this.key(scope, given, 'ADMINISTER');
      const version = state.key.primaryVersion;
      scope.facts.keyVersion = version;
      if (state.key.exportable !== true) {
        throw new KmipRefusal('PERMISSION_DENIED', 'NotExtractable', 'Get: key material never leaves the KMS unless the key was created exportable (two people); use Encrypt/Decrypt/Sign/MAC here (public keys: Get the ":public" object)');
      }
      const a = objectAttributes(state, object);
      if ((a.find((x) => x.name === 'Object Type')?.value as { value: number }).value !== ObjectType.SymmetricKey) {
        throw new KmipRefusal('PERMISSION_DENIED', 'NotExtractable', 'Get: only symmetric keys are exported; a private key never leaves the KMS');
      }
      let material: Buffer;
      try {
        material = await this.app.lifecycle.exportableMaterial(state, version);
      } catch (e) {
        if (e instanceof KmsError && e.code === 'PERMISSION_DENIED') throw new KmipRefusal('PERMISSION_DENIED', 'NotExtractable', `Get: ${e.message}`);
        throw e;
      }
      scope.facts.details = { exported: 'true', protectionLevel: state.key.protectionLevel, algorithm: state.key.algorithm };
      const pick = (n: string): TtlvItem => a.find((x) => x.name === n)?.value as TtlvItem;
      const keyBlock = ttlv.struct(Tag.KeyBlock, [
        ttlv.enum(Tag.KeyFormatType, KeyFormatType.Raw),
        ttlv.struct(Tag.KeyValue, [ttlv.bytes(Tag.KeyMaterial, material)]),
        { ...pick('Cryptographic Algorithm'), tag: Tag.CryptographicAlgorithm },
        { ...pick('Cryptographic Length'), tag: Tag.CryptographicLength },
      ]);
      return { payload: [ttlv.enum(Tag.ObjectType, ObjectType.SymmetricKey), ttlv.text(Tag.UniqueIdentifier, state.key.keyId), ttlv.struct(Tag.SymmetricKey, [keyBlock])], secrets: [material] };
    });
  }

  /**
   * Get of "kms-import-wrapping-key": a fresh one-time RSA-3072 wrapping key (valid 24 hours) for a key
   * Register will create, as GetImportParameters makes them (the key's id is chosen now). Authorized as
   * creating a key; audited with the token's digest, like GetImportParameters.
   */
  private importWrappingKey(session: KmipSession): Promise<OperationResult> {
    return this.run('GetImportParametersForNewKey', 'Get', session, async (scope) => {
      const p = await this.app.lifecycle.importParametersForNewKey('AES_256_GCM', 'SOFTWARE');
      scope.facts.details = { importTokenSha256: sha256(p.importToken), expiresAt: p.expiresAt.toISOString(), forKeyId: p.keyId };
      const keyBlock = ttlv.struct(Tag.KeyBlock, [
        ttlv.enum(Tag.KeyFormatType, KeyFormatType.X509),
        ttlv.struct(Tag.KeyValue, [ttlv.bytes(Tag.KeyMaterial, p.wrappingPublicKeySpki)]),
        ttlv.enum(Tag.CryptographicAlgorithm, CryptographicAlgorithm.RSA),
        ttlv.int(Tag.CryptographicLength, 3072),
      ]);
      return { payload: [ttlv.enum(Tag.ObjectType, ObjectType.PublicKey), ttlv.text(Tag.UniqueIdentifier, importWrappingKeyUid(p.keyId, p.importToken)), ttlv.struct(0x42006d, [keyBlock])] };
    });
  }

  /**
   * Register (BYOK) of a symmetric key: a new key whose first version is the caller's material
   * (origin IMPORTED), through CreateKey with the import path of ImportKeyVersion — the material
   * arrives wrapped for a one-time import wrapping key (Get "kms-import-wrapping-key") and is opened
   * by the backend only. Authorized as CreateKey (key-provisioner); the key is granted to its creator
   * (ADMINISTER: what ImportKeyVersion needs). Clear material only with KMS_KMIP_ALLOW_CLEAR_REGISTER.
   */
  private register(payload: Fields, session: KmipSession): Promise<OperationResult> {
    return this.change('CreateKey', 'Register', session, { kmip: 'Register' }, async (scope) => {
      // A person's import takes two people (gRPC ImportKeyVersion); KMIP clients are workloads.
      if (scope.principal.kind === 'HUMAN') throw new KmipRefusal('PERMISSION_DENIED', 'PermissionDenied', 'Register: a person imports key material over gRPC (ImportKeyVersion, two people), not over KMIP');
      const objectType = payload.req(Tag.ObjectType, 'Enumeration');
      if (objectType !== ObjectType.SymmetricKey) throw new KmipRefusal('INVALID_ARGUMENT', 'FeatureNotSupported', 'Object Type: Register imports symmetric keys (AES-256, HMAC-SHA256) only', 'object_type');
      const symmetric = payload.struct(Tag.SymmetricKey);
      if (!symmetric) throw new KmipError('MissingData', 'Register: Symmetric Key is required');
      const block = symmetric.struct(Tag.KeyBlock);
      if (!block) throw new KmipError('MissingData', 'Register: Symmetric Key.Key Block is required');
      const attributes = readAttributes(payload.struct(Tag.TemplateAttribute));
      if (exportableAsked(attributes)) throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', `${EXPORTABLE_ATTRIBUTE}: a registered key is not made exportable (exportable keys are created, by two people)`, 'exportable');
      const algorithm = algorithmFor(
        block.opt(Tag.CryptographicAlgorithm, 'Enumeration') ?? enumValue(attributeNamed(attributes, 'Cryptographic Algorithm'), 'Cryptographic Algorithm'),
        block.opt(Tag.CryptographicLength, 'Integer') ?? intValue(attributeNamed(attributes, 'Cryptographic Length'), 'Cryptographic Length'),
        'symmetric',
      );
      const valueItem = block.items.find((i) => i.tag === Tag.KeyValue);
      if (!valueItem) throw new KmipError('MissingData', 'Register: Key Block.Key Value is required');
      // Key Value: a Byte String when wrapped (KMIP), or a structure with Key Material (what PyKMIP sends).
      const keyBytes = valueItem.type === 'ByteString' ? valueItem.value : Fields.of(valueItem, 'Key Value').req(Tag.KeyMaterial, 'ByteString');
      const wrapping = block.struct(Tag.KeyWrappingData);
      const input = this.createInput(attributes, algorithm, scope, algorithm === 'AES_256_GCM' ? 'DATA_PROTECTION' : 'SERVICE_ENVELOPE');
      let initial: { keyId: string; importToken: string; wrappedMaterial: Buffer };
      if (wrapping) {
        const method = wrapping.req(Tag.WrappingMethod, 'Enumeration');
        if (method !== WrappingMethod.Encrypt) throw new KmipRefusal('INVALID_ARGUMENT', 'FeatureNotSupported', 'Key Wrapping Data.Wrapping Method: only Encrypt (RSA-OAEP-SHA256 + AES-KWP for the import wrapping key) is accepted', 'wrapping_method');
        const info = wrapping.struct(Tag.EncryptionKeyInformation);
        if (!info) throw new KmipError('MissingData', 'Key Wrapping Data.Encryption Key Information is required: the import wrapping key it is wrapped for');
        const named = parseImportWrappingKeyUid(info.req(Tag.UniqueIdentifier, 'TextString'));
        if (keyBytes.length === 0 || keyBytes.length > MAX_WRAPPED_BYTES) {
          throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', `Key Value: the wrapped key must be 1 to ${MAX_WRAPPED_BYTES} bytes`, 'wrapped_key_material');
        }
        initial = { ...named, wrappedMaterial: keyBytes };
      } else {
        if (this.app.options?.allowClearRegister !== true) {
          throw new KmipRefusal(
            'PERMISSION_DENIED',
            'PermissionDenied',
            `Register: key material must arrive wrapped (Key Wrapping Data naming a wrapping key from Get "${IMPORT_WRAPPING_KEY_UID}"); clear material is refused on this server (KMS_KMIP_ALLOW_CLEAR_REGISTER)`,
          );
        }
        // Clear material (explicitly allowed): wrapped here for fresh import parameters, so it takes the same import path.
        const p = await this.app.lifecycle.importParametersForNewKey(algorithm, 'SOFTWARE');
        initial = { keyId: p.keyId, importToken: p.importToken, wrappedMaterial: wrapForImport(p.wrappingPublicKeySpki, keyBytes) };
      }
      const key = await this.app.lifecycle.createKey(input, this.context(scope, 'Register'), { initial });
      scope.facts.keyId = key.keyId;
      scope.facts.keyVersion = key.primaryVersion;
      scope.facts.details = {
        purpose: key.purpose,
        algorithm: key.algorithm,
        protectionLevel: key.protectionLevel,
        jurisdiction: key.jurisdiction,
        origin: 'IMPORTED',
        keyArrived: wrapping ? 'wrapped' : 'clear',
        importTokenSha256: sha256(initial.importToken),
        ...(wrapping ? { wrappedKeyMaterialSha256: sha256(initial.wrappedMaterial) } : {}),
      };
      // Clear material (allowed) is wiped from the request once answered.
      return { payload: [ttlv.text(Tag.UniqueIdentifier, key.keyId)], uid: key.keyId, ...(wrapping ? {} : { secrets: [keyBytes] }) };
    });
  }

  private attributes(operation: 'GetAttributes' | 'GetAttributeList', payload: Fields, uid: () => string, session: KmipSession): Promise<OperationResult> {
    return this.run('GetKey', operation, session, async (scope) => {
      const { state, object } = await this.key(scope, uid(), 'ADMINISTER');
      const all = objectAttributes(state, object);
      const id = ttlv.text(Tag.UniqueIdentifier, uid());
      if (operation === 'GetAttributeList') return { payload: [id, ...all.map((a) => ttlv.text(Tag.AttributeName, a.name))] };
      const wanted = payload.all(Tag.AttributeName, 'TextString').map((n) => n.value);
      const chosen = wanted.length === 0 ? all : all.filter((a) => wanted.includes(a.name));
      return { payload: [id, ...chosen.map((a) => attributeItem(a.name, a.value))] };
    });
  }

  private revoke(payload: Fields, uid: () => string, session: KmipSession): Promise<OperationResult> {
    const reason = payload.struct(Tag.RevocationReason);
    const code = reason?.req(Tag.RevocationReasonCode, 'Enumeration');
    if (code === undefined) throw new KmipError('MissingData', 'Revoke.RevocationReason: is required');
    if (code === RevocationReasonCode.KeyCompromise) {
      // The existing compromise rotation: the primary is marked compromised and replaced at once.
      return this.change('ReportKeyCompromise', 'Revoke', session, { kmip: 'Revoke', uid: uid(), code }, async (scope) => {
        const { state } = await this.key(scope, uid(), 'ADMINISTER');
        const version = state.key.primaryVersion;
        scope.facts.keyVersion = version;
        const change = this.context(scope, 'Revoke');
        await this.app.dual.guard(scope.principal, change, { operation: 'ReportKeyCompromise', key: state.key, version }, scope.facts);
        const key = await this.app.lifecycle.reportKeyCompromise(state.key.keyId, version, change);
        scope.facts.details = { compromisedVersion: version, newPrimaryVersion: key.primaryVersion, revocationReason: 'KeyCompromise' };
        return { payload: [ttlv.text(Tag.UniqueIdentifier, uid())] };
      });
    }
    // Any other reason: the primary version is disabled (no new use), as DisableKeyVersion does.
    return this.change('DisableKeyVersion', 'Revoke', session, { kmip: 'Revoke', uid: uid(), code }, async (scope) => {
      const { state } = await this.key(scope, uid(), 'ADMINISTER');
      const version = state.key.primaryVersion;
      scope.facts.keyVersion = version;
      const change = this.context(scope, 'Revoke');
      await this.app.dual.guard(scope.principal, change, { operation: 'DisableKeyVersion', keyId: state.key.keyId, version, overrideDependents: false }, scope.facts);
      await this.app.lifecycle.disableKeyVersion(state.key.keyId, version, change);
      scope.facts.details = { revocationReasonCode: code };
      return { payload: [ttlv.text(Tag.UniqueIdentifier, uid())] };
    });
  }

  private destroy(uid: () => string, session: KmipSession): Promise<OperationResult> {
    // The existing scheduled destruction: every retired version is scheduled (policy delay); the
    // primary stays protected, so a key is destroyed by revoking (rotating) it first.
    return this.change('ScheduleKeyVersionDestruction', 'Destroy', session, { kmip: 'Destroy', uid: uid() }, async (scope) => {
      const { state } = await this.key(scope, uid(), 'ADMINISTER');
      const retired = state.key.versions.filter((v) => v.version !== state.key.primaryVersion && (v.state === 'ENABLED' || v.state === 'DISABLED'));
      const primary = state.key.versions[state.key.primaryVersion - 1];
      if (retired.length === 0) {
        if (primary?.state === 'DISABLED') {
          throw new KmipRefusal('ILLEGAL_TRANSITION', 'IllegalOperation', 'Destroy: the only version is the primary, which the KMS keeps; revoke with reason Key Compromise (rotates) first');
        }
        throw new KmipRefusal('ILLEGAL_TRANSITION', 'IllegalOperation', 'Destroy: the key is active; revoke it first');
      }
      const change = this.context(scope, 'Destroy');
      for (const v of retired) {
        await this.app.dual.guard(scope.principal, change, { operation: 'ScheduleKeyVersionDestruction', keyId: state.key.keyId, version: v.version, overrideDependents: false }, scope.facts);
        await this.app.lifecycle.scheduleKeyVersionDestruction(state.key.keyId, v.version, undefined, change);
      }
      scope.facts.keyVersion = retired[retired.length - 1]?.version;
      scope.facts.details = { scheduledVersions: retired.map((v) => v.version).join(',') };
      return { payload: [ttlv.text(Tag.UniqueIdentifier, uid())] };
    });
  }

  private encrypt(payload: Fields, uid: () => string, session: KmipSession): Promise<OperationResult> {
    return this.run('Encrypt', 'Encrypt', session, async (scope) => {
      if (payload.opt(Tag.IvCounterNonce, 'ByteString') !== undefined) {
        throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', 'IV/Counter/Nonce: the KMS chooses every GCM nonce itself (a repeated nonce would break GCM); leave it out', 'iv_counter_nonce');
      }
      const data = payload.req(Tag.Data, 'ByteString');
      const aad = payload.opt(Tag.AuthenticatedEncryptionAdditionalData, 'ByteString') ?? Buffer.alloc(0);
      const r = await this.app.crypto.encrypt(scope.access, uid(), data, aad, scope.facts);
      // KMS ciphertext: 23-byte header (key id, version) | 12-byte nonce | GCM ciphertext | 16-byte tag.
      const nonce = r.ciphertext.subarray(KMS_HEADER_BYTES, KMS_HEADER_BYTES + GCM_NONCE_BYTES);
      const body = r.ciphertext.subarray(KMS_HEADER_BYTES + GCM_NONCE_BYTES, r.ciphertext.length - GCM_TAG_BYTES);
      const tag = r.ciphertext.subarray(r.ciphertext.length - GCM_TAG_BYTES);
      const version = Buffer.alloc(VERSION_PREFIX_BYTES);
      version.writeUInt32BE(r.keyVersion);
      return {
        payload: [
          ttlv.text(Tag.UniqueIdentifier, r.keyId),
          // The tag follows the ciphertext in Data (as most KMIP clients expect) and is also sent on its own (KMIP 1.4).
          ttlv.bytes(Tag.Data, Buffer.concat([body, tag])),
          // The key version leads the nonce so Decrypt finds the version that encrypted (KMS keys rotate under one id).
          ttlv.bytes(Tag.IvCounterNonce, Buffer.concat([version, nonce])),
          ...(session.version.minor >= 4 ? [ttlv.bytes(Tag.AuthenticatedEncryptionTag, Buffer.from(tag))] : []),
        ],
      };
    });
  }

  private decrypt(payload: Fields, uid: () => string, session: KmipSession): Promise<OperationResult> {
    return this.run('Decrypt', 'Decrypt', session, async (scope) => {
      const keyId = validateKeyId(uid(), 'unique_identifier');
      const data = payload.req(Tag.Data, 'ByteString');
      const iv = payload.req(Tag.IvCounterNonce, 'ByteString');
      if (iv.length !== VERSION_PREFIX_BYTES + GCM_NONCE_BYTES) {
        throw new KmipRefusal('INVALID_ARGUMENT', 'InvalidField', 'IV/Counter/Nonce: must be the 16 bytes Encrypt returned (key version, then the GCM nonce)', 'iv_counter_nonce');
      }
      const separateTag = payload.opt(Tag.AuthenticatedEncryptionTag, 'ByteString');
      const sealed = separateTag ? Buffer.concat([data, separateTag]) : data;
      const header = Buffer.alloc(KMS_HEADER_BYTES);
      header.write('KM', 0, 'ascii');
      header.writeUInt8(1, 2);
      Buffer.from(keyId.replace(/-/g, ''), 'hex').copy(header, 3);
      iv.copy(header, 19, 0, VERSION_PREFIX_BYTES);
      const aad = payload.opt(Tag.AuthenticatedEncryptionAdditionalData, 'ByteString') ?? Buffer.alloc(0);
      const r = await this.app.crypto.decrypt(scope.access, Buffer.concat([header, iv.subarray(VERSION_PREFIX_BYTES), sealed]), aad, scope.facts, 'data', 'authenticated_encryption_additional_data');
      return { payload: [ttlv.text(Tag.UniqueIdentifier, r.keyId), ttlv.bytes(Tag.Data, r.plaintext)] };
    });
  }
}
