/** Highlights of the query's words in a words-index row (highlight.ts): folding, pairs, offsets, merging. */
import { describe, expect, it } from 'vitest';
import { highlightRanges } from '../src/words/highlight.ts';

/** The highlighted parts of `text`. */
function marked(text: string, query: string): string[] {
  return highlightRanges(text, query).map(([start, end]) => text.slice(start, end));
}

describe('highlightRanges', () => {
  it('marks the query’s words, ignoring case and Latin accents, in the original text', () => {
    expect(highlightRanges('Un café crème', 'CAFE')).toEqual([[3, 7]]);
    expect(marked('Un café crème, s’il vous plaît', 'creme CAFÉ plait')).toEqual(['café', 'crème', 'plaît']);
    expect(marked('Die Straße', 'strasse')).toEqual(['Straße']);
    expect(marked('ＦＵＬＬ width', 'full')).toEqual(['ＦＵＬＬ']);
  });

  it('marks whole words only, every occurrence, sorted', () => {
    expect(marked('cat catalogue cat', 'cat')).toEqual(['cat', 'cat']);
    expect(highlightRanges('cat catalogue cat', 'cat')).toEqual([
      [0, 3],
      [14, 17],
    ]);
    expect(highlightRanges('a dog', 'cat')).toEqual([]);
    expect(highlightRanges('a dog', '  !? ')).toEqual([]);
  });

  it('marks runs without spaces by their pairs, merging overlaps', () => {
    expect(marked('昨日東京タワーに行きました', '東京タワー')).toEqual(['東京タワー']);
    expect(marked('昨日東京タワーに行きました', 'タワー')).toEqual(['タワー']);
    // two words of the query side by side come out as one range
    expect(marked('東京タワー', '東京 タワー')).toEqual(['東京タワー']);
    expect(marked('京都と東京', '東京')).toEqual(['東京']);
    expect(marked('한국어 자막입니다', '자막')).toEqual(['자막']);
  });

  it('counts UTF-16 offsets past astral characters and combining marks', () => {
    const text = '😀 e\u0301te 𝐜𝐚𝐭';
    expect(highlightRanges(text, 'ete')).toEqual([[3, 7]]);
    expect(marked(text, 'ÉTÉ cat')).toEqual(['e\u0301te', '𝐜𝐚𝐭']);
  });
});
