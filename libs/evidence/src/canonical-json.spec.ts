import { canonicalJson, canonicalJsonBytes } from './canonical-json';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('gives the same text for the same value however it was written', () => {
    const a = JSON.parse('{ "version": 2,\n  "keyId": "k" }');
    const b = JSON.parse('{"keyId":"k","version":2.0}');
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('serialises numbers and strings the ECMAScript way (RFC 8785 appendix B samples)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.000001, Number('333333333.33333329'), -0])).toBe('[1e+21,1e-7,0.000001,333333333.3333333,0]');
    expect(canonicalJson({ '\u20ac': 'Euro', '\r': 'cr', '1': 'one' })).toBe('{"\\r":"cr","1":"one","€":"Euro"}');
    expect(canonicalJson('\u2028 \u000f "')).toBe('"\u2028 \\u000f \\""');
  });

  it('refuses what JSON cannot represent', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => canonicalJson(undefined)).toThrow('value has no JSON representation');
  });

  it('canonicalJsonBytes is the UTF-8 encoding', () => {
    expect(canonicalJsonBytes({ s: 'é' }).equals(Buffer.from('{"s":"é"}', 'utf8'))).toBe(true);
  });
});
