import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON of a JSON-compatible value: sorted keys, no whitespace, ECMAScript
 * number and string serialisation. Throws on values JSON cannot represent (undefined at the top,
 * NaN, Infinity, functions).
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

/** UTF-8 bytes of canonicalJson(value): what gets signed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
