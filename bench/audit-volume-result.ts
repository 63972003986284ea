/*
 * What bench:audit-volume measured, kept for bench:scale to print: the query latencies at the largest
 * audit size run on this machine. One JSON file under .kms-state/bench/ (never committed).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** One timed operation: p50 and p99 over the run's repetitions. */
export interface AuditQueryLatency {
  name: string;
  p50Ms: number;
  p99Ms: number;
}

export interface AuditVolumeResult {
  /** Audit records in the read model and ledger the queries ran on. */
  records: number;
  /** When the run finished (ISO 8601). */
  date: string;
  /** Repetitions of each operation. */
  runs: number;
  targetMs: number;
  queries: AuditQueryLatency[];
}

const ROOT = join(__dirname, '..');
const FILE = join(ROOT, '.kms-state', 'bench', 'audit-volume.json');

/** Where the result is kept, relative to the repository. */
export const AUDIT_VOLUME_RESULT_FILE = relative(ROOT, FILE);

/** The saved result, or undefined when none was saved; throws when the file is not one. */
export function loadAuditVolumeResult(): AuditVolumeResult | undefined {
  let text: string;
  try {
    text = readFileSync(FILE, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const r = JSON.parse(text) as Partial<AuditVolumeResult>;
  const valid =
    Number.isInteger(r.records) &&
    typeof r.date === 'string' &&
    Number.isInteger(r.runs) &&
    typeof r.targetMs === 'number' &&
    Array.isArray(r.queries) &&
    r.queries.every((q) => typeof q?.name === 'string' && typeof q.p50Ms === 'number' && typeof q.p99Ms === 'number');
  if (!valid) throw new Error(`${AUDIT_VOLUME_RESULT_FILE} is not a saved bench:audit-volume result`);
  return r as AuditVolumeResult;
}

/**
 * Keep `result` unless a result of more records is saved already (a smaller run never replaces a larger
 * one; one of the same size replaces it, being newer). Returns what is saved afterwards.
 */
export function saveAuditVolumeResult(result: AuditVolumeResult): { kept: 'this run' | 'the larger saved run'; saved: AuditVolumeResult } {
  let current: AuditVolumeResult | undefined;
  try {
    current = loadAuditVolumeResult();
  } catch {
    current = undefined; // not a result: replaced
  }
  if (current && current.records > result.records) return { kept: 'the larger saved run', saved: current };
  mkdirSync(dirname(FILE), { recursive: true });
  // Written beside it and renamed: an interrupted write leaves the previous result whole.
  writeFileSync(`${FILE}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${FILE}.tmp`, FILE);
  return { kept: 'this run', saved: result };
}
