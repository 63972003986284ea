import { prefixUpperBound, streamPrefixFilter } from './postgres-subscription';

describe('the range of stream ids a prefix matches', () => {
  it('ends at the prefix with its last code point raised by one', () => {
    expect(prefixUpperBound('identity-')).toBe('identity.');
    expect(prefixUpperBound('50%_off\\')).toBe('50%_off]');
    expect(prefixUpperBound('鍵')).toBe('鍶');
    // Past the Basic Multilingual Plane: a code point, not a UTF-16 unit, is raised.
    expect(prefixUpperBound('a\u{FFFF}')).toBe('a\u{10000}');
    expect(prefixUpperBound('a\u{1F511}')).toBe('a\u{1F512}');
  });

  it('steps over the surrogates, which no stored text holds', () => {
    expect(prefixUpperBound('a\u{D7FF}')).toBe('a\u{E000}');
  });

  it('drops trailing U+10FFFF, and has no end when the prefix is all U+10FFFF', () => {
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('ab\u{10FFFF}\u{10FFFF}')).toBe('ac');
    expect(prefixUpperBound('\u{10FFFF}')).toBeUndefined();
  });

  it('compares in the "C" collation with numbered parameters, one range per prefix', () => {
    expect(streamPrefixFilter(['identity-', '\u{10FFFF}'], 3)).toEqual({
      sql: '(stream_id COLLATE "C" >= $3 AND stream_id COLLATE "C" < $4) OR (stream_id COLLATE "C" >= $5)',
      params: ['identity-', 'identity.', '\u{10FFFF}'],
    });
  });
});
