import type { FieldInfo, ProtoCatalog, ScalarType } from '../proto/proto-catalog';
import { CliUsageError } from './cli-usage.error';

// Standard base64 with padding, as grpcurl and the API's JSON mapping use (url-safe letters refused:
// the server's decoder would read them differently).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT = /^-?\d+$/;
const UINT = /^\d+$/;
const RANGES: Partial<Record<ScalarType, [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function checkScalar(type: ScalarType, value: unknown, path: string): void {
  const fail = (what: string): never => {
    throw new CliUsageError(`field ${path}: ${what}`, path);
  };
  switch (type) {
    case 'string':
      if (typeof value !== 'string') fail(`expected a string, got ${kindOf(value)}`);
      return;
    case 'bytes':
      if (typeof value !== 'string') fail(`expected base64 bytes as a string, got ${kindOf(value)}`);
      if (!BASE64.test(value as string)) fail(`"${String(value).slice(0, 40)}" is not valid base64 (standard alphabet, padded with "=")`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail(`expected true or false, got ${JSON.stringify(value)}`);
      return;
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'int64':
    case 'sint64':
    case 'sfixed64':
    case 'uint64':
    case 'fixed64': {
      const unsigned = type === 'uint64' || type === 'fixed64';
      const ok = (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && (unsigned ? UINT : INT).test(value));
      if (!ok || (unsigned && Number(value) < 0)) fail(`expected ${unsigned ? 'a non-negative' : 'an'} integer (number or decimal string), got ${JSON.stringify(value)}`);
      return;
    }
    default: {
      const [min, max] = RANGES[type] ?? [-Infinity, Infinity];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(`expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
  }
}

function checkField(catalog: ProtoCatalog, f: FieldInfo, value: unknown, path: string): void {
  if (f.repeated) {
    if (!Array.isArray(value)) throw new CliUsageError(`field ${path}: expected an array, got ${kindOf(value)}`, path);
    value.forEach((v, i) => checkField(catalog, { ...f, repeated: false }, v, `${path}[${i}]`));
    return;
  }
  switch (f.kind) {
    case 'scalar':
      return checkScalar(f.type, value, path);
    case 'enum':
      if (typeof value !== 'string' || !f.values.includes(value)) {
        throw new CliUsageError(`field ${path}: ${JSON.stringify(value)} is not a ${f.type}; one of ${f.values.join(', ')}`, path);
      }
      return;
    case 'map':
      if (kindOf(value) !== 'object') throw new CliUsageError(`field ${path}: expected an object (map<${f.key}, …>), got ${kindOf(value)}`, path);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (f.key !== 'string') checkScalar(f.key, f.key === 'bool' ? k === 'true' : Number(k), `${path} key "${k}"`);
        checkField(catalog, f.value, v, `${path}.${k}`);
      }
      return;
    case 'message':
      return validateMessage(catalog, f.type, value, path);
  }
}

/**
 * Check a request against its proto message before it is sent: every field known (an unknown one is
 * refused with the list of valid ones, where the server would silently drop it), types right, bytes
 * valid base64, enum values known, at most one member of each oneof.
 */
export function validateMessage(catalog: ProtoCatalog, type: string, value: unknown, path = ''): void {
  const where = path === '' ? type : `${path} (${type})`;
  if (kindOf(value) !== 'object') throw new CliUsageError(`${where}: expected a JSON object, got ${kindOf(value)}`, path || undefined);
  const fields = catalog.fields(type);
  const byName = new Map(fields.map((f) => [f.name, f]));
  const oneofSet = new Map<string, string>();
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const f = byName.get(name);
    const fieldPath = path === '' ? name : `${path}.${name}`;
    if (!f) {
      throw new CliUsageError(`unknown field "${fieldPath}" in ${type}; valid fields: ${fields.map((x) => x.name).join(', ') || '(none)'}`, fieldPath);
    }
    if (v === null) continue;
    if (f.oneof) {
      const other = oneofSet.get(f.oneof);
      if (other) throw new CliUsageError(`fields ${other} and ${name} of ${type} are alternatives (oneof ${f.oneof}): give one`, fieldPath);
      oneofSet.set(f.oneof, name);
    }
    checkField(catalog, f, v, fieldPath);
  }
}
