const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The text with one character replaced by a different one, mid-way by default. A tampering test
 * must never write a fixed character at a fixed place: when the text already holds it there, the
 * "tampered" copy is the original (1 in 64 for base64url) and the test fails at random. Mid-way
 * also keeps the change out of the padding bits of a base64 text's last character.
 */
export function withOneCharChanged(text: string, at = Math.floor(text.length / 2)): string {
  if (at < 0 || at >= text.length) throw new RangeError(`withOneCharChanged: position ${at} is outside a text of ${text.length} characters`);
  const current = text[at];
  const index = B64URL.indexOf(current);
  const replacement = index >= 0 ? B64URL[(index + 1) % B64URL.length] : current === 'A' ? 'B' : 'A';
  return text.slice(0, at) + replacement + text.slice(at + 1);
}
