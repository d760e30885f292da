/**
 * What the words index covers of a text (word-terms.ts): NFKC, character pairs for scripts without
 * spaces, the tokens with their offsets in the original text and the folding highlights compare with.
 * test/words.int.test.ts checks the same tokens against LanceDB's own tokenizer.
 */
import { describe, expect, it } from 'vitest';
import { foldWord, wordTerms, wordTokens } from '../src/words/word-terms.ts';

describe('wordTerms', () => {
  it('rewrites runs of scripts without spaces as overlapping pairs, the rest as written', () => {
    expect(wordTerms('東京タワー')).toBe('東京 京タ タワ ワー');
    expect(wordTerms('Visit 東京タワー today!')).toBe('Visit 東京 京タ タワ ワー today!');
    expect(wordTerms('abc東京')).toBe('abc 東京');
    expect(wordTerms('한국어 자막')).toBe('한국 국어 자막');
    expect(wordTerms('สวัสดี')).toBe('สว วั ัส สด ดี');
    expect(wordTerms('Plain English, untouched.')).toBe('Plain English, untouched.');
  });

  it('keeps a lone character, and cuts runs where the script class changes', () => {
    expect(wordTerms('猫')).toBe('猫');
    expect(wordTerms('猫 と 犬')).toBe('猫 と 犬');
    // Japanese mixes Han and kana in one run; Hangul next to it is another run
    expect(wordTerms('日本語한국')).toBe('日本 本語 한국');
  });

  it('normalises with NFKC first: full-width, half-width kana, ligatures, composed accents', () => {
    expect(wordTerms('ＣＡＦＥ')).toBe('CAFE');
    expect(wordTerms('ﾄｳｷｮｳ')).toBe('トウ ウキ キョ ョウ');
    expect(wordTerms('ﬁne')).toBe('fine');
    expect(wordTerms('e\u0301te')).toBe('\u00e9te');
    expect(wordTerms('㍿')).toBe('株式 式会 会社');
  });

  it('drops marks that would break a pair (Thai tone marks) and collapses spaces', () => {
    // ่ (U+0E48, a tone mark) is not a letter: the pair goes on across it
    expect(wordTerms('ไม่ใช่')).toBe('ไม มใ ใช');
    expect(wordTerms('  a \n\t b  ')).toBe('a b');
    expect(wordTerms('')).toBe('');
  });
});

describe('wordTokens', () => {
  it('gives each token its UTF-16 range in the original text', () => {
    const text = 'Hé, 東京タワー!';
    const tokens = wordTokens(text);
    expect(tokens.map((t) => [t.text, text.slice(t.start, t.end)])).toEqual([
      ['Hé', 'Hé'],
      ['東京', '東京'],
      ['京タ', '京タ'],
      ['タワ', 'タワ'],
      ['ワー', 'ワー'],
    ]);
  });

  it('maps normalised characters back to the originals, astral ones included', () => {
    const text = 'ＡＢ 𝐱𝐲 e\u0301t';
    const tokens = wordTokens(text);
    expect(tokens.map((t) => t.text)).toEqual(['AB', 'xy', 'e\u0301t']);
    expect(tokens.map((t) => text.slice(t.start, t.end))).toEqual(['ＡＢ', '𝐱𝐲', 'e\u0301t']);
  });

  it('splits where the simple tokenizer does: anything but letters and digits', () => {
    expect(wordTokens("don't stop_me-now 3.14 x²").map((t) => t.text)).toEqual([
      'don',
      't',
      'stop',
      'me',
      'now',
      '3',
      '14',
      'x2',
    ]);
  });
});

describe('foldWord', () => {
  it('lower-cases and folds Latin letters to ASCII, as the index does', () => {
    expect(foldWord('CAFÉ')).toBe('cafe');
    expect(foldWord('Straße')).toBe('strasse');
    expect(foldWord('Œuvre')).toBe('oeuvre');
    expect(foldWord('Łódź')).toBe('lodz');
    expect(foldWord('Ærø')).toBe('aero');
    expect(foldWord('e\u0301te')).toBe('ete');
  });

  it('keeps the marks of other scripts, as the index does', () => {
    expect(foldWord('Ωμέγα')).toBe('ωμέγα');
    expect(foldWord('ЙОД')).toBe('йод');
    expect(foldWord('東京')).toBe('東京');
  });
});
