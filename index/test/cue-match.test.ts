import { describe, expect, it } from 'vitest';
import { matchCues } from '../src/words/cue-match.ts';

const cue = (start: number, text: string) => ({ trackId: 'en', start, end: start + 1, text });

describe('matchCues', () => {
  const cues = [
    cue(0, 'the people of the town'),
    cue(2, 'the Zorblax arrives'),
    cue(4, 'the people cheer the zorblax'),
    cue(6, 'nothing here'),
  ];

  it('ranks the cues that hold the rarer words of the query first, ties to the earlier cue', () => {
    const found = matchCues(cues, 'the zorblax', 10);
    // "zorblax" is in 2 of 4 cues, "the" in 3: both cues with zorblax first (the one with more words
    // of the query wins), then the one with "the" only
    expect(found.map((c) => c.start)).toEqual([2, 4, 0]);
    expect(found[0]!.score).toBeCloseTo(found[1]!.score, 12);
    expect(found.every((c) => c.score > 0)).toBe(true);
  });

  it("prefers the cue with the query's long word when the video says each word once", () => {
    const two = [cue(0.5, 'Welcome to the quarterly results'), cue(2, 'Our new Zorblax ships')];
    expect(matchCues(two, 'the Zorblax launch', 2).map((c) => c.start)).toEqual([2, 0.5]);
  });

  it('folds case and accents as the index does, and reads scripts without spaces by pairs', () => {
    const words = [cue(0, 'Un CAFÉ noir'), cue(1, '東京タワーに行きました'), cue(2, 'cafe')];
    expect(matchCues(words, 'café', 5).map((c) => c.start)).toEqual([0, 2]);
    expect(matchCues(words, 'タワー', 5).map((c) => c.start)).toEqual([1]);
  });

  it('finds nothing for no words, or words no cue has, and keeps the limit', () => {
    expect(matchCues(cues, ' ?! ', 5)).toEqual([]);
    expect(matchCues(cues, 'walrus', 5)).toEqual([]);
    expect(matchCues([], 'the', 5)).toEqual([]);
    expect(matchCues(cues, 'the', 2)).toHaveLength(2);
  });
});
