import type { FieldInfo, ProtoCatalog, ScalarType } from '../proto/proto-catalog';
import { CliUsageError } from './cli-usage.error';
import { validateMessage } from './request-validator';

/** `key_id` -> `--key-id`. */
export function flagName(field: string): string {
  return `--${field.replace(/_/g, '-')}`;
}

/** The option key commander stores a flag under (`--key-id` -> `keyId`). */
export function optionKey(field: string): string {
  return field.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function parseJson(text: string, what: string, field?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliUsageError(`${what} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, field);
  }
}

const INTEGER_TYPES = new Set<ScalarType>(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

/** One flag value (a string from the command line) as the JSON value of `f`. */
function fromFlag(f: FieldInfo, raw: string): unknown {
  if (f.kind === 'message') return parseJson(raw, `--${f.name.replace(/_/g, '-')}`, f.name);
  if (f.kind === 'enum') return raw;
  if (f.kind === 'map') throw new Error('maps are handled by the caller');
  if (f.type === 'bool') {
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw new CliUsageError(`field ${f.name}: expected true or false, got "${raw}"`, f.name);
  }
  if (INTEGER_TYPES.has(f.type) || f.type === 'double' || f.type === 'float') {
    // Left as a string when it is not a number, so the validator names the field and the problem.
    return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return raw;
}

/** Flags of one request: field name -> the value(s) commander collected. */
export type FieldFlags = Record<string, string | string[] | undefined>;

/**
 * The request of a command: the JSON argument (if any) with the flags laid over it, checked against
 * the request message (see validateMessage). Throws CliUsageError naming the field.
 */
export function buildRequest(catalog: ProtoCatalog, requestType: string, json: string | undefined, flags: FieldFlags): Record<string, unknown> {
  const base = json === undefined || json.trim() === '' ? {} : parseJson(json, 'the request');
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new CliUsageError(`the request must be a JSON object ({"field": value, …}), got ${JSON.stringify(base)}`);
  const request: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const f of catalog.fields(requestType)) {
    const given = flags[f.name];
    if (given === undefined || (Array.isArray(given) && given.length === 0)) continue;
    const values = Array.isArray(given) ? given : [given];
    if (f.kind === 'map') {
      const map: Record<string, unknown> = {};
      for (const pair of values) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new CliUsageError(`${flagName(f.name)} takes key=value, got "${pair}"`, f.name);
        const v = pair.slice(eq + 1);
        map[pair.slice(0, eq)] = f.value.kind === 'message' ? parseJson(v, `${flagName(f.name)} ${pair.slice(0, eq)}`, f.name) : fromFlag(f.value, v);
      }
      request[f.name] = map;
    } else if (f.repeated) {
      // A message list comes as one JSON array; scalars as repeated flags.
      request[f.name] = f.kind === 'message' ? values.flatMap((v) => parseJson(v, flagName(f.name), f.name) as unknown[]) : values.map((v) => fromFlag(f, v));
    } else {
      request[f.name] = fromFlag(f, values[values.length - 1]);
    }
  }
  validateMessage(catalog, requestType, request);
  return request;
}
