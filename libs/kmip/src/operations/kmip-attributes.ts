import type { ExistingKeyState, KeyRecord } from '@kms/domain';
import { Fields, KmipError } from '../ttlv/kmip-message';
import { CryptographicAlgorithm, KeyState, NameType, ObjectType, Tag, UsageMask } from '../ttlv/kmip-tags';
import { ttlv, type TtlvItem } from '../ttlv/ttlv';

/** The public half of a key pair has its own KMIP object id: the key id with this suffix. */
export const PUBLIC_KEY_SUFFIX = ':public';

/** The custom attribute naming a key's jurisdiction (CreateKey's `jurisdiction`) on Create/CreateKeyPair; reported by GetAttributes. */
export const JURISDICTION_ATTRIBUTE = 'x-kms-jurisdiction';

/** A KMIP object: a KMS key, or the public half of a signing key. */
export interface KmipObject {
  keyId: string;
  publicHalf: boolean;
}

export function parseUid(uid: string): KmipObject {
  return uid.endsWith(PUBLIC_KEY_SUFFIX) ? { keyId: uid.slice(0, -PUBLIC_KEY_SUFFIX.length), publicHalf: true } : { keyId: uid, publicHalf: false };
}

/** An attribute a client sent (Template-Attribute, AddAttribute, Locate). */
export interface ClientAttribute {
  name: string;
  value: TtlvItem;
}

/** The attributes of a (Common/Private/Public) Template-Attribute, or of a Locate request. */
export function readAttributes(f: Fields | undefined): ClientAttribute[] {
  if (!f) return [];
  const out: ClientAttribute[] = [];
  // KMIP 1.x: a Template-Attribute carries Name and Attribute structures.
  for (const a of f.all(Tag.Attribute, 'Structure')) {
    const af = new Fields(a.value, 'Attribute');
    const name = af.req(Tag.AttributeName, 'TextString');
    const value = af.items.find((i) => i.tag === Tag.AttributeValue);
    if (!value) throw new KmipError('MissingData', `Attribute "${name}": AttributeValue is required`);
    out.push({ name, value });
  }
  return out;
}

export function attributeNamed(attributes: ClientAttribute[], name: string): TtlvItem | undefined {
  return attributes.find((a) => a.name === name)?.value;
}

export function enumValue(item: TtlvItem | undefined, name: string): number | undefined {
  if (!item) return undefined;
  if (item.type !== 'Enumeration') throw new KmipError('InvalidField', `attribute "${name}": must be an Enumeration`);
  return item.value;
}

export function intValue(item: TtlvItem | undefined, name: string): number | undefined {
  if (!item) return undefined;
  if (item.type !== 'Integer') throw new KmipError('InvalidField', `attribute "${name}": must be an Integer`);
  return item.value;
}

export function textValue(item: TtlvItem | undefined, name: string): string | undefined {
  if (!item) return undefined;
  if (item.type !== 'TextString') throw new KmipError('InvalidField', `attribute "${name}": must be a Text String`);
  return item.value;
}

/** The Name attribute's text (a structure of Name Value and Name Type). */
export function nameValue(item: TtlvItem | undefined): string | undefined {
  if (!item) return undefined;
  return Fields.of(item, 'attribute "Name"').req(Tag.NameValue, 'TextString');
}

/** Custom attributes ("x-…") become labels: "x-team" → label "team". */
export function customLabels(attributes: ClientAttribute[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const a of attributes) {
    if (!a.name.startsWith('x-') || a.name.startsWith('x-kms-')) continue;
    const value = textValue(a.value, a.name);
    if (value !== undefined) labels[a.name.slice(2)] = value;
  }
  return labels;
}

/** The KMIP state of a KMS key: its primary version's state, Destroyed once every version is. */
export function kmipState(key: KeyRecord): number {
  if (key.versions.every((v) => v.state === 'DESTROYED')) return key.versions.some((v) => v.compromisedAt) ? KeyState.DestroyedCompromised : KeyState.Destroyed;
  const primary = key.versions[key.primaryVersion - 1];
  if (!primary) return KeyState.PreActive;
  if (primary.compromisedAt) return KeyState.Compromised;
  return primary.state === 'ENABLED' ? KeyState.Active : KeyState.Deactivated;
}

function algorithmOf(key: KeyRecord): { algorithm: number; length: number; privateMask: number; objectType: number } {
  switch (key.algorithm) {
    case 'AES_256_GCM':
      return { algorithm: CryptographicAlgorithm.AES, length: 256, privateMask: UsageMask.Encrypt | UsageMask.Decrypt, objectType: ObjectType.SymmetricKey };
    case 'HMAC_SHA256':
      return { algorithm: CryptographicAlgorithm.HMAC_SHA256, length: 256, privateMask: UsageMask.MacGenerate | UsageMask.MacVerify, objectType: ObjectType.SymmetricKey };
    case 'ECDSA_P256_SHA256':
      return { algorithm: CryptographicAlgorithm.ECDSA, length: 256, privateMask: UsageMask.Sign, objectType: ObjectType.PrivateKey };
    case 'ED25519':
      return { algorithm: CryptographicAlgorithm.Ed25519, length: 256, privateMask: UsageMask.Sign, objectType: ObjectType.PrivateKey };
    case 'RSA_PSS_3072_SHA256':
      return { algorithm: CryptographicAlgorithm.RSA, length: 3072, privateMask: UsageMask.Sign, objectType: ObjectType.PrivateKey };
    case 'RSA_OAEP_3072_SHA256':
      return { algorithm: CryptographicAlgorithm.RSA, length: 3072, privateMask: UsageMask.Decrypt, objectType: ObjectType.PrivateKey };
    case 'ML_DSA_65':
      return { algorithm: CryptographicAlgorithm.ML_DSA_65_EXTENSION, length: 1952 * 8, privateMask: UsageMask.Sign, objectType: ObjectType.PrivateKey };
    case 'ML_KEM_768':
      return { algorithm: CryptographicAlgorithm.ML_KEM_768_EXTENSION, length: 1184 * 8, privateMask: UsageMask.Decrypt, objectType: ObjectType.PrivateKey };
    default: {
      const never: never = key.algorithm;
      throw new Error(`unknown algorithm ${String(never)}`);
    }
  }
}

/** Every attribute this server reports for an object, by KMIP name (GetAttributes, GetAttributeList). */
export function objectAttributes(state: ExistingKeyState, object: KmipObject): Array<{ name: string; value: TtlvItem }> {
  const key = state.key;
  const a = algorithmOf(key);
  const objectType = object.publicHalf ? ObjectType.PublicKey : a.objectType;
  const mask = object.publicHalf ? UsageMask.Verify : a.privateMask;
  const created = new Date(key.createdAt);
  const value = Tag.AttributeValue;
  const attrs: Array<{ name: string; value: TtlvItem }> = [
    { name: 'Unique Identifier', value: ttlv.text(value, object.publicHalf ? `${key.keyId}${PUBLIC_KEY_SUFFIX}` : key.keyId) },
    { name: 'Object Type', value: ttlv.enum(value, objectType) },
    { name: 'Cryptographic Algorithm', value: ttlv.enum(value, a.algorithm) },
    { name: 'Cryptographic Length', value: ttlv.int(value, a.length) },
    { name: 'Cryptographic Usage Mask', value: ttlv.int(value, mask) },
    { name: 'Name', value: ttlv.struct(value, [ttlv.text(Tag.NameValue, key.name), ttlv.enum(Tag.NameType, NameType.UninterpretedTextString)]) },
    { name: 'State', value: ttlv.enum(value, kmipState(key)) },
    { name: 'Initial Date', value: ttlv.date(value, created) },
    { name: 'Activation Date', value: ttlv.date(value, created) },
    { name: 'x-kms-purpose', value: ttlv.text(value, key.purpose) },
    { name: 'x-kms-protection-level', value: ttlv.text(value, key.protectionLevel) },
    { name: 'x-kms-primary-version', value: ttlv.text(value, String(key.primaryVersion)) },
    { name: JURISDICTION_ATTRIBUTE, value: ttlv.text(value, key.jurisdiction) },
  ];
  for (const [k, v] of Object.entries(key.labels)) attrs.push({ name: `x-${k}`, value: ttlv.text(value, v) });
  return attrs;
}

/** An Attribute structure as KMIP 1.x carries it. */
export function attributeItem(name: string, value: TtlvItem): TtlvItem {
  return ttlv.struct(Tag.Attribute, [ttlv.text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue }]);
}
