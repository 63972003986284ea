/** KMIP 1.x tags and enumerations this server reads or writes (KMIP 1.4 §9.1.3). */
export const Tag = {
  ActivationDate: 0x420001,
  Attribute: 0x420008,
  AttributeIndex: 0x420009,
  AttributeName: 0x42000a,
  AttributeValue: 0x42000b,
  Authentication: 0x42000c,
  BatchCount: 0x42000d,
  BatchErrorContinuationOption: 0x42000e,
  BatchItem: 0x42000f,
  BatchOrderOption: 0x420010,
  BlockCipherMode: 0x420011,
  CompromiseOccurrenceDate: 0x420021,
  CryptographicAlgorithm: 0x420028,
  CryptographicLength: 0x42002a,
  CryptographicParameters: 0x42002b,
  CryptographicUsageMask: 0x42002c,
  HashingAlgorithm: 0x420038,
  InitialDate: 0x420039,
  IvCounterNonce: 0x42003d,
  LastChangeDate: 0x420048,
  MacSignature: 0x42004d,
  MaximumItems: 0x42004f,
  MaximumResponseSize: 0x420050,
  Name: 0x420053,
  NameType: 0x420054,
  NameValue: 0x420055,
  ObjectType: 0x420057,
  Operation: 0x42005c,
  PaddingMethod: 0x42005f,
  PrivateKeyTemplateAttribute: 0x420065,
  PrivateKeyUniqueIdentifier: 0x420066,
  ProtocolVersion: 0x420069,
  ProtocolVersionMajor: 0x42006a,
  ProtocolVersionMinor: 0x42006b,
  PublicKeyTemplateAttribute: 0x42006e,
  PublicKeyUniqueIdentifier: 0x42006f,
  QueryFunction: 0x420074,
  ReplacedUniqueIdentifier: 0x420076,
  RequestHeader: 0x420077,
  RequestMessage: 0x420078,
  RequestPayload: 0x420079,
  ResponseHeader: 0x42007a,
  ResponseMessage: 0x42007b,
  ResponsePayload: 0x42007c,
  ResultMessage: 0x42007d,
  ResultReason: 0x42007e,
  ResultStatus: 0x42007f,
  RevocationMessage: 0x420080,
  RevocationReason: 0x420081,
  RevocationReasonCode: 0x420082,
  ServerInformation: 0x420088,
  State: 0x42008d,
  CommonTemplateAttribute: 0x42001f,
  TemplateAttribute: 0x420091,
  TimeStamp: 0x420092,
  UniqueBatchItemId: 0x420093,
  UniqueIdentifier: 0x420094,
  ValidityIndicator: 0x42009b,
  VendorIdentification: 0x42009d,
  EncryptionKeyInformation: 0x420036,
  KeyBlock: 0x420040,
  KeyFormatType: 0x420042,
  KeyMaterial: 0x420043,
  KeyValue: 0x420045,
  KeyWrappingData: 0x420046,
  SymmetricKey: 0x42008f,
  WrappingMethod: 0x42009e,
  EncodingOption: 0x4200a3,
  DigitalSignatureAlgorithm: 0x4200ae,
  Data: 0x4200c2,
  SignatureData: 0x4200c3,
  MacData: 0x4200c6,
  AuthenticatedEncryptionAdditionalData: 0x4200fe,
  AuthenticatedEncryptionTag: 0x4200ff,
} as const;

export const Operation = {
  Create: 0x01,
  CreateKeyPair: 0x02,
  Register: 0x03,
  ReKey: 0x04,
  Locate: 0x08,
  Get: 0x0a,
  GetAttributes: 0x0b,
  GetAttributeList: 0x0c,
  AddAttribute: 0x0d,
  ModifyAttribute: 0x0e,
  DeleteAttribute: 0x0f,
  Activate: 0x12,
  Revoke: 0x13,
  Destroy: 0x14,
  Query: 0x18,
  DiscoverVersions: 0x1e,
  Encrypt: 0x1f,
  Decrypt: 0x20,
  Sign: 0x21,
  SignatureVerify: 0x22,
  MAC: 0x23,
  MACVerify: 0x24,
} as const;
export type OperationName = keyof typeof Operation;
export const OPERATION_NAMES = new Map<number, OperationName>(Object.entries(Operation).map(([k, v]) => [v, k as OperationName]));

export const ResultStatus = { Success: 0, OperationFailed: 1 } as const;

export const ResultReason = {
  ItemNotFound: 0x01,
  ResponseTooLarge: 0x02,
  AuthenticationNotSuccessful: 0x03,
  InvalidMessage: 0x04,
  OperationNotSupported: 0x05,
  MissingData: 0x06,
  InvalidField: 0x07,
  FeatureNotSupported: 0x08,
  CryptographicFailure: 0x0a,
  IllegalOperation: 0x0b,
  PermissionDenied: 0x0c,
  KeyValueNotPresent: 0x13,
  Sensitive: 0x16,
  NotExtractable: 0x17,
  ObjectAlreadyExists: 0x18,
  GeneralFailure: 0x100,
} as const;
export type ResultReasonName = keyof typeof ResultReason;

export const ObjectType = { SymmetricKey: 0x02, PublicKey: 0x03, PrivateKey: 0x04 } as const;
// ML-DSA-65 and ML-KEM-768 have no value in KMIP 1.0-1.4: reported in the extension range (0x8XXXXXXX,
// KMIP 1.4 section 9.1.3.2.13), documented in docs/kmip.md.
export const CryptographicAlgorithm = { AES: 0x03, RSA: 0x04, ECDSA: 0x06, HMAC_SHA256: 0x09, EC: 0x1a, Ed25519: 0x38, ML_DSA_65_EXTENSION: 0x8000_0001, ML_KEM_768_EXTENSION: 0x8000_0002 } as const;
export const KeyState = { PreActive: 1, Active: 2, Deactivated: 3, Compromised: 4, Destroyed: 5, DestroyedCompromised: 6 } as const;
export const RevocationReasonCode = { Unspecified: 1, KeyCompromise: 2, CACompromise: 3, AffiliationChanged: 4, Superseded: 5, CessationOfOperation: 6, PrivilegeWithdrawn: 7 } as const;
export const QueryFunction = { Operations: 1, Objects: 2, ServerInformation: 3 } as const;
export const NameType = { UninterpretedTextString: 1 } as const;
export const KeyFormatType = { Raw: 0x01, X509: 0x05, TransparentSymmetricKey: 0x07 } as const;
export const WrappingMethod = { Encrypt: 0x01 } as const;
export const BlockCipherMode = { GCM: 9 } as const;
export const ValidityIndicator = { Valid: 1, Invalid: 2 } as const;
export const BatchErrorContinuation = { Continue: 1, Stop: 2, Undo: 3 } as const;

/** Cryptographic Usage Mask bits (KMIP 1.4 §9.1.3.3.1). */
export const UsageMask = { Sign: 0x01, Verify: 0x02, Encrypt: 0x04, Decrypt: 0x08, MacGenerate: 0x80, MacVerify: 0x100 } as const;

/** Protocol versions this server speaks, newest first (DiscoverVersions). */
export const SUPPORTED_VERSIONS: ReadonlyArray<{ major: number; minor: number }> = [
  { major: 1, minor: 4 },
  { major: 1, minor: 3 },
  { major: 1, minor: 2 },
  { major: 1, minor: 1 },
  { major: 1, minor: 0 },
];
