/**
 * Everything the rest of reel needs of the index, by concern: the catalog of videos (`CatalogStore`),
 * each model's embeddings (`EmbeddingStore`), the first stage and rescoring reads of search
 * (`SearchStore`), the words index of subtitles, titles, file names and tags (`WordsStore`) and upkeep
 * (`UpkeepStore`). A consumer asks for the part it uses.
 * `LanceIndexStore` (adapters/lancedb-store.ts) implements all of it on LanceDB; an adapter for a
 * distributed vector engine (docs/SCALING.md, "Past one index node") implements this interface, applies
 * store-rules.ts before it writes, serialises its own writes if its engine needs it (callers take no
 * lock) and passes the contract in test/index-store.contract.ts.
 */
import type { ListFilters } from './search/filter-sql.ts';
import type { RescoreEntry } from './search/rescore-cache.ts';
import type { SearchStore } from './search/search-store.ts';
import type { VideoEmbeddings, VideoRecord, VideoStatus } from './video-record.ts';
import type { WordsStore } from './words/words-store.ts';

/** A video as scans return it: what deciding on it needs (sweeps, backfills), none of the heavy columns. */
export type VideoSummary = Pick<VideoRecord, 'tenant' | 'id' | 'title' | 'status' | 'error'>;

/** What `optimize()` did to one table. */
export interface TableUpkeep {
  table: string;
  rows: number;
  fragmentsRemoved: number;
  fragmentsAdded: number;
  versionsPruned: number;
  bytesPruned: number;
  indexesCreated: string[];
}

/** The orders `listVideos` knows. */
export type VideoSort = 'newest' | 'title';

/** Everything `listVideos` returns. */
export interface VideoPage {
  videos: VideoRecord[];
  nextCursor: string | null;
}

/** The catalog: one record per (tenant, video), whatever the model. */
export interface CatalogStore {
  /**
   * Inserts or replaces a record. Its title, file name (`source`'s base name) and tags are kept in the
   * words index: rewritten when they differ from what it holds, untouched otherwise (a status update
   * writes nothing there).
   */
  upsertVideo(record: VideoRecord): Promise<void>;
  /** `upsertVideo` for many records, the words-index rows of all of them in one write. */
  upsertVideos(records: readonly VideoRecord[]): Promise<void>;
  getVideo(tenant: string, id: string): Promise<VideoRecord | null>;
  /**
   * A page of a tenant's videos: newest first (creation time), or with `sort: 'title'` by title in
   * code-point order (capitals before lower case), the video key breaking ties.
   */
  listVideos(
    tenant: string,
    options?: { filters?: ListFilters; limit?: number; cursor?: string; sort?: VideoSort },
  ): Promise<VideoPage>;
  countByStatus(tenant?: string): Promise<Record<VideoStatus, number>>;
  /**
   * Every video (of every tenant) with one of these statuses, in batches of summaries: memory holds
   * one batch, whatever the catalogue's size.
   */
  scanVideos(
    statuses: readonly VideoStatus[],
    options?: { batchSize?: number },
  ): AsyncIterable<VideoSummary[]>;
  /** The records of those of `ids` the tenant has, by id, in one keyed read (not one per id). */
  getVideos(tenant: string, ids: readonly string[]): Promise<Map<string, VideoRecord>>;
  /**
   * Removes the video's record, its embeddings under every model and its words-index rows; false when
   * there was none of them.
   */
  deleteVideo(tenant: string, id: string): Promise<boolean>;
}

/** Embeddings, per model fingerprint: idempotent upserts by (tenant, video id). */
export interface EmbeddingStore {
  fingerprints(): Promise<string[]>;
  upsertEmbeddings(embeddings: VideoEmbeddings | readonly VideoEmbeddings[]): Promise<void>;
  getEmbeddings(tenant: string, id: string, fingerprint: string): Promise<VideoEmbeddings | null>;
  /** Which of `videos` have embeddings of this model, as video keys (videoKey), reading keys only. */
  embeddedVideos(
    fingerprint: string,
    videos: readonly { tenant: string; id: string }[],
  ): Promise<Set<string>>;
  countEmbeddings(fingerprint: string, tenant?: string): Promise<number>;
  /** Streams every video's rescoring data (to warm a cache); returns the rows read. */
  scanRescoreEntries(fingerprint: string, onEntries: (entries: RescoreEntry[]) => void): Promise<number>;
  /** Drops a model's embeddings (after a model switch); false when there were none. */
  dropModel(fingerprint: string): Promise<boolean>;
}

/** Upkeep: compaction, pruning and the indexes a table lacks (the words table's FTS index included). */
export interface UpkeepStore {
  optimize(options?: { pruneOlderThanMs?: number }): Promise<TableUpkeep[]>;
  /** Folds new words into the full-text index once more than `maxUnindexed` rows are outside it. */
  refreshWordsIndex(maxUnindexed?: number): Promise<{ unindexed: number; optimized: boolean }>;
}

export interface IndexStore extends CatalogStore, EmbeddingStore, SearchStore, WordsStore, UpkeepStore {
  close(): void;
}
