import Table from 'cli-table3';
import { CliUsageError } from '../request/cli-usage.error';

/** A response as JSON-ready values: bytes (Buffers) become base64, as in grpcurl and the requests. */
export function toJsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  return v;
}

/** `--get a.b.0.c`: one value of the response, by field names and list indexes. */
export function pick(response: unknown, path: string): unknown {
  let cur: unknown = toJsonValue(response);
  for (const part of path.split('.')) {
    if (cur && typeof cur === 'object' && part in (cur as Record<string, unknown>)) cur = (cur as Record<string, unknown>)[part];
    else {
      const valid = cur && typeof cur === 'object' ? Object.keys(cur as object).join(', ') : '(not an object)';
      throw new CliUsageError(`--get ${path}: the response has no "${part}"; it has: ${valid}`, path);
    }
  }
  return cur;
}

/** What `--get` prints: strings and bytes bare (so shells can capture them), anything else as JSON. */
export function formatPicked(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isRowList = (v: unknown): v is Array<Record<string, unknown>> => Array.isArray(v) && v.length > 0 && v.every(isRecord);

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Nested objects as dotted keys; lists of objects are left out (they get a table of their own). */
function flatten(obj: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isRowList(v)) continue;
    if (isRecord(v) && Object.keys(v).length > 0) out.push(...flatten(v, key));
    else out.push([key, cell(v)]);
  }
  return out;
}

// Borders without a rule between rows: compact enough for a terminal, still aligned when pasted.
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/**
 * A list of objects as one table, a row per item: a column per field and per field of a nested message
 * (a batch item's `response.ciphertext`); deeper ones, like a key's policy map (a column per identity),
 * are left to --json, and so are columns empty in every row.
 */
function listTable(rows: Array<Record<string, unknown>>): string {
  const flat = rows.map((r) => new Map(flatten(r)));
  const columns = [...new Set(flat.flatMap((m) => [...m.keys()]))].filter(
    (c) => c.split('.').length <= 2 && flat.some((m) => !['', '[]', '{}'].includes(m.get(c) ?? '')),
  );
  const table = new Table({ head: columns, style: { head: [], border: [] }, chars: COMPACT });
  for (const m of flat) table.push(columns.map((c) => m.get(c) ?? ''));
  return table.toString();
}

/**
 * The default, human-readable output: the response's fields as a two-column table, then each list of
 * objects (a key's versions, a page of keys, batch results) as a table of its own. No colours: the
 * output is read by people and pasted into tickets.
 */
export function formatTable(response: unknown): string {
  const value = toJsonValue(response);
  if (!isRecord(value)) return cell(value);
  const parts: string[] = [];
  const fields = flatten(value);
  if (fields.length > 0) {
    const table = new Table({ style: { head: [], border: [] }, chars: COMPACT });
    for (const [k, v] of fields) table.push({ [k]: v });
    parts.push(table.toString());
  }
  for (const [k, v] of Object.entries(value)) if (isRowList(v)) parts.push(`${k} (${v.length})\n${listTable(v)}`);
  return parts.join('\n');
}
