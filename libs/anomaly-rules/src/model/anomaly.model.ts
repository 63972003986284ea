/** Severity of a finding; containment is configured per severity. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Every rule the detector evaluates. */
export const RULE_NAMES = ['spike', 'unexpected-origin', 'off-hours', 'refused-burst', 'version-state', 'break-glass', 'bulk-access'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** Cryptographic operation classes with their own spike thresholds. */
export const OPERATION_CLASSES = ['encrypt', 'decrypt', 'sign', 'mac', 'dataKey'] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];

/**
 * The slice of an audit record the rules read. Structurally the application's AuditRecord, so the
 * detector passes audit records as they are without this lib depending on the application layer.
 */
export interface UsageRecord {
  id: string;
  time: Date;
  operation: string;
  actor: string;
  outcome: 'SUCCESS' | 'FAILURE' | 'DENIED';
  keyId?: string;
  keyVersion?: number;
  errorCode?: string;
  sourceAddress?: string;
}

/** What a rule found: becomes an AnomalyDetected event. */
export interface AnomalyFinding {
  /** Deterministic (rule + scope + window): a replay of the same records yields the same id. */
  id: string;
  rule: RuleName;
  severity: Severity;
  /** Identity the finding is about (containment suspends it), or null for key/source findings. */
  identityId: string | null;
  keyId: string | null;
  keyVersion: number | null;
  /** Source address (IP) for origin and per-source findings. */
  source: string | null;
  window: { start: string; end: string };
  summary: string;
  evidence: FindingEvidence;
}

/** Counts and the audit records that show them (capped by config.evidenceMaxRecordIds). */
export interface FindingEvidence {
  count: number;
  auditRecordIds: string[];
  /** Rule-specific figures (baseline mean, threshold, region, ...). */
  facts: Record<string, string | number | boolean | null>;
}

/** Operation -> class for spike thresholds; operations outside the map are not crypto use. */
export const OPERATION_CLASS: Readonly<Record<string, OperationClass>> = {
  Encrypt: 'encrypt',
  BatchEncrypt: 'encrypt',
  Decrypt: 'decrypt',
  BatchDecrypt: 'decrypt',
  ReEncrypt: 'decrypt',
  BatchReEncrypt: 'decrypt',
  Sign: 'sign',
  Verify: 'sign',
  GenerateMac: 'mac',
  VerifyMac: 'mac',
  GenerateDataKey: 'dataKey',
};

/** Codes the key service answers for input it could not read: bad fields, damaged or forged ciphertexts, unparsable requests. */
export const MALFORMED_INPUT_CODES: ReadonlySet<string> = new Set(['INVALID_ARGUMENT', 'INVALID_CIPHERTEXT', 'MALFORMED_REQUEST']);

/**
 * Whether the call failed on malformed input. Never a reason to contain the caller: whoever can hand a
 * service a damaged ciphertext could otherwise get it suspended. A refusal of access answered with
 * such a code (a ciphertext naming a key the caller may not decrypt with) is audited as DENIED, so it
 * is not malformed input.
 */
export function isMalformedInput(r: Pick<UsageRecord, 'outcome' | 'errorCode'>): boolean {
  return r.outcome === 'FAILURE' && r.errorCode !== undefined && MALFORMED_INPUT_CODES.has(r.errorCode);
}

/** Whether an operation uses key material (the break-glass and version rules look only at these). */
export function isKeyUse(operation: string): boolean {
  return Object.hasOwn(OPERATION_CLASS, operation);
}
