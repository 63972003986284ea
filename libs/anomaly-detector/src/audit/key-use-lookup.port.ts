import type { UsageRecord } from '@kms/anomaly-rules';

/** An audit record as the rules read it, with its audit log position. */
export interface PositionedUsage extends UsageRecord {
  position: bigint;
}

/** Which uses of a key to look up: `afterPosition < position <= throughPosition`, time at or after `from`. */
export interface KeyUseQuery {
  keyId: string;
  /** Only this version; null for every version. */
  version: number | null;
  from: Date;
  afterPosition: bigint;
  throughPosition: bigint;
  limit: number;
}

/**
 * Audit records of one key by time, for judging again records evaluated before a lifecycle fact
 * about their key reached the detector (a compromise, a break-glass key). A port of the detector's
 * own: the audit feed only reads by position.
 */
export interface KeyUseLookup {
  /** Matching records in position order, at most `limit`. */
  usesOf(query: KeyUseQuery): Promise<PositionedUsage[]>;
}
