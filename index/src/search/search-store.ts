/**
 * What the search service needs of storage: a filtered first-stage vector search, the rescoring data of
 * candidates, and the details of the videos on the returned page. The LanceDB adapter implements it;
 * unit tests use an in-memory fake.
 */
import type { VideoFilters } from './filter-sql.ts';
import type { RescoreEntry } from './rescore-cache.ts';

/** One first-stage candidate. */
export interface StageOneCandidate {
  /** Row key (see {@link videoKey}). */
  key: string;
  /** The store's row id at the snapshot searched (for fast fetches of the same rows). */
  rowId: bigint | number;
  /** Revision of the stored embeddings (rescoring data cached under another revision is stale). */
  revision: number;
  /** Cosine distance (1 − cosine) to the mean-pooled vector; approximate under a PQ index. */
  distance: number;
}

export interface CandidateRequest {
  tenant: string;
  /** Normalised filters (see normalizeFilters). */
  filters: VideoFilters;
  /** K': candidates wanted. */
  limit: number;
  /** Table version to search (a cursor's snapshot); latest when omitted or no longer available. */
  snapshot?: number;
  /** Skip the ANN index: exact (flat) search, for measuring the index's recall. */
  exact?: boolean;
}

/** A page result's display fields. */
export interface ResultDetails {
  videoId: string;
  title: string;
  tags: string[];
  createdAt: Date;
  durationSeconds: number | null;
  /** F thumbnail references of the stored embeddings. */
  thumbnails: (string | null)[];
}

export interface SearchStore {
  /** The model's table: its D and current version; null when nothing is stored for that model. */
  modelTable(fingerprint: string): Promise<{ dim: number; version: number } | null>;
  /** Stage 1: the `limit` nearest mean-pooled vectors passing tenant and filters (prefiltered). */
  candidates(
    fingerprint: string,
    vector: Float32Array,
    request: CandidateRequest,
  ): Promise<{
    snapshot: number;
    candidates: StageOneCandidate[];
    /** The HNSW search width the query used (an IVF index ignores it); absent for exact searches. */
    searchWidth?: number;
  }>;
  /**
   * Stage-one rows of the given videos (by videoKey) under this model that pass tenant and filters, at
   * the snapshot if given; rows not stored or filtered out are left out. Distance is the cosine
   * distance to `vector` (exact, whatever index the table has). For videos another ranking found (the
   * words) that the vector search did not.
   */
  candidatesByKeys(
    fingerprint: string,
    vector: Float32Array,
    keys: readonly string[],
    request: Omit<CandidateRequest, 'limit' | 'exact'>,
  ): Promise<StageOneCandidate[]>;
  /**
   * Rescoring data of the given rows as they are now (a row rewritten since stage 1 comes back with its
   * new revision); rows that no longer exist are left out.
   */
  rescoreEntries(fingerprint: string, rows: readonly StageOneCandidate[]): Promise<RescoreEntry[]>;
  /** The rescoring data of one video by key, as it is now; null when it is not stored for the model. */
  rescoreEntryByKey?(fingerprint: string, key: string): Promise<RescoreEntry | null>;
  /** Display fields of the given rows, by key, from the latest records: a deleted video is left out. */
  resultDetails(fingerprint: string, rows: readonly StageOneCandidate[]): Promise<Map<string, ResultDetails>>;
}
