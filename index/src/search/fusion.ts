/**
 * Hybrid ranking: one ordering from two, the visual one (rescored cosines) and the words one (BM25 over
 * cues, titles, file names and tags).
 *
 * Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009) is the base: an item's fused score
 * is Σ w / (k + rank) over the lists it is in, k = 60. It reads ranks only, so it needs no calibration
 * between a cosine (CLIP's sit in a band about 0.1 wide) and a BM25 score (unbounded, its scale changing
 * with the query's words and the corpus). Search uses {@link fuseHybrid}: RRF with the words weighed by
 * how few videos they point at. The normalised weighted sum (each list min-max scaled to [0, 1] per
 * query, then mixed) is kept for the measurement in `index/bench/hybrid-fusion.bench.ts`, which is why
 * search fuses this way (numbers in index/README.md, "Words").
 */

/** RRF's k: 60, the paper's value and the one most engines (Elasticsearch, OpenSearch, Vespa) default to. */
export const RRF_K = 60;

/** How two rankings are fused. */
export type Fusion = 'rrf' | 'weighted';

/**
 * Fused RRF scores of every item in any list: Σ weight / (k + rank), ranks 1-based; a plain list weighs
 * 1 (weighted RRF, as Elasticsearch's and Vespa's).
 */
export function reciprocalRankFusion(
  lists: readonly (readonly string[] | { items: readonly string[]; weight: number })[],
  k: number = RRF_K,
): Map<string, number> {
  const fused = new Map<string, number>();
  for (const list of lists) {
    const { items, weight } = Array.isArray(list)
      ? { items: list as readonly string[], weight: 1 }
      : (list as { items: readonly string[]; weight: number });
    for (const [i, item] of items.entries()) fused.set(item, (fused.get(item) ?? 0) + weight / (k + i + 1));
  }
  return fused;
}

/** Videos the query's words may point at and still pick a video out (see {@link fuseHybrid}). */
export const SPECIFIC_WORD_VIDEOS = 10;

/** Share of the best words score a video needs to contend (see {@link contenders}). */
export const CONTENDER_SHARE = 0.5;

/**
 * Videos whose words score reaches half the best one's: how many videos the query's words point at.
 * A rare word (a name) scores far above common ones (BM25's idf), so "zorblax on the beach" points at
 * the few videos that say "zorblax", however many say "beach".
 */
export function contenders(scores: readonly number[]): number {
  let best = 0;
  for (const s of scores) if (s > best) best = s;
  let n = 0;
  for (const s of scores) if (s >= CONTENDER_SHARE * best) n++;
  return n;
}

/**
 * How much the words ranking weighs against the frames': 1 when the words point at a few videos,
 * falling as 1 / n when they point at many (common words: the words ranking is then the order of
 * incidental mentions, and the frames know better).
 */
export function wordsWeight(pointedAt: number): number {
  return pointedAt <= SPECIFIC_WORD_VIDEOS ? 1 : SPECIFIC_WORD_VIDEOS / pointedAt;
}

/**
 * Hybrid search's order: reciprocal-rank fusion of the visual order and the words order, the words
 * weighted by {@link wordsWeight}; when the words point at a few videos (at most
 * {@link SPECIFIC_WORD_VIDEOS} contenders) those come first, in their fused order. Measured against
 * plain RRF and the weighted sum in `index/bench/hybrid-fusion.bench.ts`: plain RRF lets the frames'
 * first place (which a name's query vector picks at random) beat a video that says the name, and lets
 * incidental common words push a visual match down; this keeps each kind of query at the better of
 * its two rankings.
 *
 * Videos the frames match clearly (`clear`: their confidence reaches the match confidence) come before
 * all of that, in the frames' order: a word of the query in another video's title ("a purple sky" and a
 * video titled "clear sky") is weaker evidence than frames that stand out, and RRF's flat k = 60 would
 * let one shared word lift a video over the frames' clear first place. The words rank what the frames
 * cannot tell apart, and lead when the frames find nothing clear (a name they cannot know).
 *
 * @param visualOrder every candidate, best first by the frames
 * @param words the videos the words found, best first, with their BM25 scores
 * @param pointedAt {@link contenders} among every video the words found, when `words` is cut short
 * @param clear the videos the frames match clearly (none: the frames' confidence is not known)
 */
export function fuseHybrid(
  visualOrder: readonly string[],
  words: readonly { key: string; score: number }[],
  pointedAt: number = contenders(words.map((w) => w.score)),
  clear: ReadonlySet<string> = new Set(),
): string[] {
  if (words.length === 0) return [...visualOrder];
  const fused = reciprocalRankFusion([
    visualOrder,
    { items: words.map((w) => w.key), weight: wordsWeight(pointedAt) },
  ]);
  const best = words[0]!.score;
  const first = new Set(
    pointedAt <= SPECIFIC_WORD_VIDEOS
      ? words.filter((w) => w.score >= CONTENDER_SHARE * best).map((w) => w.key)
      : [],
  );
  const place = new Map(visualOrder.map((key, i) => [key, i]));
  const rest = [...fused.keys()].filter((key) => !clear.has(key));
  const lead = visualOrder.filter((key) => clear.has(key));
  return lead.concat(
    rest.sort(
      (a, b) =>
        Number(first.has(b)) - Number(first.has(a)) ||
        fused.get(b)! - fused.get(a)! ||
        (place.get(a) ?? Number.MAX_SAFE_INTEGER) - (place.get(b) ?? Number.MAX_SAFE_INTEGER) ||
        (a < b ? -1 : a > b ? 1 : 0),
    ),
  );
}

/**
 * Fused weighted scores: each list's scores min-max scaled to [0, 1] (a list whose scores are all equal
 * scales to 1), multiplied by its weight and added; an item missing from a list gets 0 from it.
 */
export function weightedScoreFusion(
  lists: readonly { scores: ReadonlyMap<string, number>; weight: number }[],
): Map<string, number> {
  const fused = new Map<string, number>();
  for (const { scores, weight } of lists) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const s of scores.values()) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    const span = max - min;
    for (const [item, s] of scores)
      fused.set(item, (fused.get(item) ?? 0) + weight * (span > 0 ? (s - min) / span : 1));
  }
  return fused;
}
