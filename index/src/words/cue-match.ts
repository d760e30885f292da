/**
 * Which cues of a video hold a query's words. The words index finds videos by their tracks (one document
 * of all a track's cues); the moments a result shows are its cues that hold the query's words, found here
 * among the few hundred cues of the videos on a page. Same tokens and folding as the index
 * (word-terms.ts), so a cue is found for every word that made the track match.
 *
 * Score: Σ over the query's distinct words a cue holds of log(1 + n / df) × the word's length (at most
 * 10 characters), n the video's cues and df those holding the word: BM25's idf within the video, which
 * tells a word the video says often from one it says once; and, since a video's few hundred cues cannot
 * tell that "the" is common everywhere and a product's name rare, the length stands for that (Zipf's law
 * of abbreviation: the more frequent a word, the shorter). Ties go to the earlier cue.
 *
 * Hand-written: LanceDB's full-text search scores whole tables, and a per-query index of 200 cues costs
 * more to build than this loop.
 */
import { foldWord, wordTokens } from './word-terms.ts';
import type { StoredCue } from './words-store.ts';

/** A cue of a track, with its track and where it is in it. */
export interface TrackCue extends StoredCue {
  trackId: string;
}

/** The cues holding the query's words, best first, at most `limit`, each with its score (> 0). */
export function matchCues<T extends TrackCue>(
  cues: readonly T[],
  query: string,
  limit: number,
): (T & { score: number })[] {
  const wanted = new Set(wordTokens(query).map((t) => foldWord(t.text)));
  if (wanted.size === 0 || cues.length === 0) return [];
  const held = cues.map((cue) => {
    const words = new Set<string>();
    for (const token of wordTokens(cue.text)) {
      const word = foldWord(token.text);
      if (wanted.has(word)) words.add(word);
    }
    return words;
  });
  const df = new Map<string, number>();
  for (const words of held) for (const w of words) df.set(w, (df.get(w) ?? 0) + 1);
  const scored: (T & { score: number })[] = [];
  cues.forEach((cue, i) => {
    let score = 0;
    for (const w of held[i]!) score += Math.log(1 + cues.length / df.get(w)!) * Math.min(10, [...w].length);
    if (score > 0) scored.push({ ...cue, score });
  });
  return scored.sort((a, b) => b.score - a.score || a.start - b.start).slice(0, limit);
}
