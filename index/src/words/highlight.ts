/**
 * Where a query's words are in a text the words index returned, for display: the same tokens and
 * folding as the index (word-terms.ts), so a highlight marks what made the row match.
 */
import { foldWord, wordTokens } from './word-terms.ts';

/**
 * [start, end) UTF-16 offsets in `text` (the original, as stored) of the words of `query`: case and
 * Latin accents ignored ("CAFÉ" marks "café"), scripts without spaces by character pairs (a query
 * "東京タワー" marks the whole of "東京タワー", "タワー" only that part). Sorted; overlapping and
 * touching ranges merged. [] when nothing matches.
 */
export function highlightRanges(text: string, query: string): [number, number][] {
  const wanted = new Set(wordTokens(query).map((t) => foldWord(t.text)));
  if (wanted.size === 0) return [];
  const ranges = wordTokens(text)
    .filter((t) => wanted.has(foldWord(t.text)))
    .map((t): [number, number] => [t.start, t.end])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}
