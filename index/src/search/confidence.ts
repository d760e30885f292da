/**
 * How far a result stands out, on a scale that does not depend on a model's raw cosines.
 *
 * Each model scores every video against a fixed set of texts that describe nothing in particular
 * ({@link CONFIDENCE_REFERENCE_TEXTS}: keyboard mashes, filler, placeholders), with the request's own
 * pooling. A result's confidence is its score's distance from those scores for the same video, in their
 * standard deviations: `(score − mean_ref) / max(sd_ref, floor)`. A query the model cannot tell from
 * nonsense lands among the references (confidence ≈ 0) whatever the model's cosine scale; a real match
 * stands well above them. Per video, so it works for a tenant with three videos as with a million, and
 * the same video's bias (some frames score high against any text) cancels out.
 *
 * The alternative, a z-score of the top result against the query's own other results, was measured
 * against it on the synthetic corpus (api/test/search-confidence.int.test.ts, 11 videos, 20 answerable
 * and 20 nonsense queries): these references told all 40 apart at the fixed threshold 3; the pool z-score,
 * even at the one cut that suited that corpus best (9.4, found after the fact), kept only 60% of the
 * answerable queries. It measures the pool, not the query: a small tenant or a corpus of look-alike
 * videos makes any best result stand out or none, and its scale changes with the corpus.
 *
 * A search by example (an image, a video) is measured the same way against pictures of nothing instead
 * of texts (SearchServiceOptions.confidenceReferenceImages): image–image cosines live on another scale
 * than text–image ones, so each kind of query is compared with references of its own kind.
 */

/** Texts no video matches; embedded once per model. */
export const CONFIDENCE_REFERENCE_TEXTS: readonly string[] = [
  'asdfghjkl',
  'qwertyuiop',
  'zxcvbnm',
  'qwxz vlpt krm',
  'lorem ipsum dolor sit amet',
  'untitled',
  'file 0001',
  'placeholder text',
  'foo bar baz',
  'hello world',
  'n/a',
  'tbd',
  'misc',
  'test test test',
  '12345 67890',
  'xkcd 9271',
  'aaaa bbbb',
  'none',
  'something',
  'random words here',
  'ok',
  'the',
  'and then',
  'etc',
];

/** Confidence at which a result counts as a match (`noGoodMatch` when no result reaches it). */
export const DEFAULT_MATCH_CONFIDENCE = 3;

/**
 * Smallest spread of the reference scores used as the unit, in cosine: a model that embeds every
 * reference alike (the synthetic one: unknown words carry nothing) would otherwise divide by zero.
 */
export const CONFIDENCE_SD_FLOOR = 0.01;

/** Mean and standard deviation of a video's reference scores. */
export function referenceStats(scores: ArrayLike<number>): { mean: number; sd: number } {
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < scores.length; i++) {
    sum += scores[i]!;
    sum2 += scores[i]! * scores[i]!;
  }
  const n = Math.max(1, scores.length);
  const mean = sum / n;
  return { mean, sd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}

/** The confidence of `score` against a video's reference statistics. */
export function confidenceOf(score: number, stats: { mean: number; sd: number }): number {
  return (score - stats.mean) / Math.max(stats.sd, CONFIDENCE_SD_FLOOR);
}
