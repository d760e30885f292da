/**
 * The first stage's ANN policy: which LanceDB vector index a model's table gets for its row count, what
 * it is named (its type and the rows it was trained on), when upkeep rebuilds it, and how wide a
 * prefiltered HNSW search walks. Pure functions but for {@link annIndexFor}, which builds LanceDB's
 * index definition.
 */
import * as lancedb from '@lancedb/lancedb';

/** The first-stage ANN index and its query parameters. */
export interface AnnIndexConfig {
  /**
   * IVF_FLAT, IVF_HNSW_SQ or IVF_PQ, or `auto` (the default): IVF_FLAT below {@link HNSW_FROM_ROWS} rows,
   * IVF_HNSW_SQ from there (see DESIGN.md for the benchmarks behind the choice).
   */
  type: 'auto' | 'ivf_pq' | 'ivf_hnsw_sq' | 'ivf_flat';
  /** IVF partitions; default √rows rounded, at least 1 (IVF_FLAT, IVF_PQ), or rows / 250 000 rounded, at least 1 (HNSW). */
  numPartitions?: number;
  /** IVF_PQ sub-vectors; default D / 8 (one byte per 8 dims). */
  numSubVectors?: number;
  /** IVF partitions probed per query; default 20. */
  nprobes?: number;
  /** HNSW search width as a multiple of the candidates asked for; default 5. */
  efFactor?: number;
  /** Re-rank refineFactor × limit PQ candidates by exact distance; default none (stage 2 is exact). */
  refineFactor?: number;
}

/** The concrete index types (what `auto` resolves to for a row count). */
export type AnnIndexType = Exclude<AnnIndexConfig['type'], 'auto'>;

/**
 * The default ANN settings: `auto`, 20 partitions probed, HNSW search width 5·K′. IVF_FLAT (exact
 * distances inside √N partitions) on the search benchmark's CLIP-like vectors at 100k returned K′ = 1000
 * candidates in ≈ 7-17 ms with top-10 agreement 1.000 after rescoring and built in 12 s, but at 1M its
 * recall fell (agreement 0.80 with 20 of 1000 partitions probed, p95 97 ms). IVF_HNSW_SQ at 1M, K′ = 500:
 * search width 5·K′ gave X-Pool p95 29 ms with agreement 0.995 (1.5·K′: 26 ms, 0.975); built in 8 min.
 * IVF_PQ (64 sub-vectors) lost true neighbours to PQ error (agreement 0.90 at 100k). See DESIGN.md.
 */
export const DEFAULT_ANN_INDEX = { type: 'auto', nprobes: 20, efFactor: 5 } as const satisfies AnnIndexConfig;
/** Rows from which `auto` builds IVF_HNSW_SQ instead of IVF_FLAT. */
export const HNSW_FROM_ROWS = 250_000;
/** Rows per IVF partition of an HNSW index by default (each partition holds its own graph). */
export const HNSW_ROWS_PER_PARTITION = 250_000;
/**
 * Upkeep rebuilds a model's ANN index once the table has grown to this many times the rows the index
 * was trained on (or when `auto` now means another type): LanceDB folds new rows into the existing
 * partitions without retraining them, so an index trained at 5 000 rows would probe ever larger
 * partitions (and IVF_FLAT's √N partition count falls behind). Doubling keeps the total build work
 * linear in the final size.
 */
export const ANN_REBUILD_GROWTH = 2;
/**
 * Rows of a model's table from which `optimize()` builds the ANN index; below it the first stage is an
 * exact flat scan (≈ 15-20 ms at 10k rows here, so the index pays off early; IVF_FLAT builds in ~1 s).
 */
export const DEFAULT_ANN_THRESHOLD = 5_000;

/** What `auto` (or an explicit type) means for a table of `rows` rows. */
export function annIndexType(config: AnnIndexConfig, rows: number): AnnIndexType {
  if (config.type !== 'auto') return config.type;
  return rows >= HNSW_FROM_ROWS ? 'ivf_hnsw_sq' : 'ivf_flat';
}

/**
 * HNSW search width for a prefiltered query whose filter passes `share` of the table's rows. LanceDB's
 * prefiltered HNSW walk goes on until it holds `ef` rows that pass, so it visits about ef / share
 * nodes: the unfiltered width efFactor·limit cost 2-3.5× an unfiltered search at 1M rows with filters
 * passing 10-50 % of the rows. Scaled by the share, the walk stays near the unfiltered one's; it never
 * goes below `limit`, the rows it must return. On the 1M benchmark (`index-filtered-first-stage`) the
 * first stage's recall@10 against exact search did not change while its latency fell 1.4-2.5×; a whole
 * search with a 10 % tag filter went from 91 / 121 to 41 / 48 ms p50 / p95 (DESIGN.md).
 */
export function filteredSearchWidth(limit: number, efFactor: number, share: number): number {
  const passing = Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 1;
  return Math.max(limit, Math.ceil(efFactor * limit * passing));
}

const ANN_NAME = /^mean_(ivf_flat|ivf_hnsw_sq|ivf_pq)_(\d+)$/;

/** The vector index's name records its type and the rows it was trained on: `mean_ivf_flat_5000`. */
export function annIndexName(type: AnnIndexType, rows: number): string {
  return `mean_${type}_${rows}`;
}

/** The type and training rows of a vector index named by {@link annIndexName}; null for other names. */
export function parseAnnIndexName(name: string): { type: AnnIndexType; rows: number } | null {
  const match = ANN_NAME.exec(name);
  return match === null ? null : { type: match[1] as AnnIndexType, rows: Number(match[2]) };
}

/**
 * Whether upkeep should rebuild a vector index named `name` for a table now holding `rows` rows: it
 * was trained on half as many rows or fewer ({@link ANN_REBUILD_GROWTH}), `auto` now means another
 * type, or the name does not say (an index built before names recorded it).
 */
export function annIndexDue(config: AnnIndexConfig, name: string, rows: number): boolean {
  const built = parseAnnIndexName(name);
  if (built === null) return true;
  return rows >= ANN_REBUILD_GROWTH * built.rows || annIndexType(config, rows) !== built.type;
}

/** ANN settings → a LanceDB index definition (defaults sized by the row count). */
export function annIndexFor(config: AnnIndexConfig, rows: number, dim: number | undefined): lancedb.Index {
  const d = dim ?? 512;
  const type = annIndexType(config, rows);
  if (type === 'ivf_hnsw_sq')
    return lancedb.Index.hnswSq({
      distanceType: 'cosine',
      numPartitions: config.numPartitions ?? Math.max(1, Math.round(rows / HNSW_ROWS_PER_PARTITION)),
    });
  if (type === 'ivf_flat')
    return lancedb.Index.ivfFlat({
      distanceType: 'cosine',
      numPartitions: config.numPartitions ?? Math.max(1, Math.round(Math.sqrt(rows))),
    });
  return lancedb.Index.ivfPq({
    distanceType: 'cosine',
    numPartitions: config.numPartitions ?? Math.max(1, Math.round(Math.sqrt(rows))),
    numSubVectors: config.numSubVectors ?? (d % 8 === 0 ? d / 8 : d % 4 === 0 ? d / 4 : 1),
  });
}
