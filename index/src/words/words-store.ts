/**
 * The words index: a per-tenant full-text (BM25) index over what is said and written about a video —
 * its subtitle cues, title, file name and tags — beside its vectors, kept in step by the same writes.
 * Cues are written through `replaceCues`; title, file-name and tag rows are the store's own business
 * (every `upsertVideo(s)` that changes them rewrites them, `deleteVideo` removes them). Text is matched
 * with case and Latin accents ignored, and scripts written without spaces (Chinese, Japanese, Korean,
 * Thai) by overlapping character pairs (see word-terms.ts), the same way for queries as for rows.
 */

import type { CaptionTrackInfo } from '../video-record.ts';

/** What a word row was read from. String values: they are stored as text and shown in the API. */
export type WordsField = 'cue' | 'title' | 'file' | 'tag';

/** Every field, in display order. */
export const WORDS_FIELDS: readonly WordsField[] = ['cue', 'title', 'file', 'tag'];

/** One subtitle cue: seconds from the start of the video, and its text as read. */
export interface StoredCue {
  start: number;
  end: number;
  text: string;
}

/**
 * The cues of one caption track of a video, and what the track is (its listing, see CaptionTrackInfo,
 * whose `id` is `trackId`). A track given without `info` keeps no listing: given with no cues either, it
 * is gone.
 */
export interface CaptionTrackCues {
  trackId: string;
  cues: readonly StoredCue[];
  info?: CaptionTrackInfo;
}

/**
 * One row of the words index that matched a query. A `cue` hit of `searchWords` is a track whose cues
 * hold the query's words (`start`, `end` null, `text` ''): `matchingCues` says which cues.
 */
export interface WordsHit {
  videoId: string;
  field: WordsField;
  /** The row's text as written (a cue's text, the title, the file's base name, one tag), for display. */
  text: string;
  /** A cue's times in seconds; null for the other fields. */
  start: number | null;
  end: number | null;
  /** A cue's track; null for the other fields. */
  trackId: string | null;
  /** BM25, higher is better (not comparable across queries). */
  score: number;
}

export interface WordsStore {
  /**
   * Replaces the cues of the given tracks of a video (all of its cue rows when `replaceAll`): a track
   * given with no cues loses its rows. Idempotent: cues already stored as given are not rewritten.
   */
  replaceCues(
    tenant: string,
    videoId: string,
    tracks: readonly CaptionTrackCues[],
    options?: { replaceAll?: boolean },
  ): Promise<void>;
  /** The cues of one track, in time order; null when the video has no such track (or it has no cues). */
  trackCues(tenant: string, videoId: string, trackId: string): Promise<StoredCue[] | null>;
  /**
   * The video's caption tracks as listed by `replaceCues` (`info`): tracks inside its file first (by
   * stream), then the others by id. Each track is a row of its own beside its cues, so writers of
   * different tracks (an ingest, an upload's caption file) never undo each other's listing.
   */
  captionTracks(tenant: string, videoId: string): Promise<CaptionTrackInfo[]>;
  /**
   * BM25 hits of the query's words among the tenant's rows, best first, at most `limit` rows (default
   * 200). Only this tenant's rows, ever (prefiltered). A query without a word finds nothing.
   */
  searchWords(
    tenant: string,
    query: string,
    options?: { limit?: number; snapshot?: number },
  ): Promise<WordsHit[]>;
  /**
   * The cues of each video (of the tracks named) that hold the query's words, best first, at most
   * `limit` per video (default 10): `cue` hits with their times and text, by video id, in one read.
   */
  matchingCues(
    tenant: string,
    videos: readonly { videoId: string; trackIds: readonly string[] }[],
    query: string,
    options?: { limit?: number },
  ): Promise<Map<string, WordsHit[]>>;
  /**
   * The words table's current version (0 when there is none): pass it back as `snapshot` so that the
   * pages of one search read the same words (a version pruned by upkeep reads the latest).
   */
  wordsVersion(): Promise<number>;
  /** Whether the tenant has any word rows (may be a few seconds stale). */
  hasWords(tenant: string): Promise<boolean>;
}
