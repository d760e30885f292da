/**
 * The `words` table: the words index of every tenant (see ../../words/words-store.ts), one row per
 * subtitle cue, title, file name and tag of a video, with a full-text (BM25) index on `terms`. Its
 * schema, its FTS settings, row keys, the Arrow batch of rows to write and the reader of hits; the
 * store facade (../lancedb-store.ts) decides what to read and write.
 */
import * as lancedb from '@lancedb/lancedb';
import { Field, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { sqlString } from '../../search/filter-sql.ts';
import { videoKey } from '../../video-record.ts';
import type { CueRow, WordRow } from '../../words/word-rows.ts';
import type { WordsField, WordsHit } from '../../words/words-store.ts';
import { arrowTable, float64Data, int32Data, numberOrNull, type Row, utf8Data } from './arrow-codec.ts';

export const WORDS_TABLE = 'words';
/** The FTS index's name (LanceDB would call it `terms_idx`). */
export const WORDS_FTS_INDEX = 'terms_fts';
const PK_METADATA = new Map([['lance-schema:unenforced-primary-key', 'true']]);

/**
 * `key` is JSON of [tenant, video id, field, track id or null, seq] (a declared primary key, so
 * concurrent upserts of the same rows conflict instead of duplicating); `video` is the video's
 * videoKey, for reading and deleting a video's rows by one indexed column.
 */
export function wordsSchema(): Schema {
  return new Schema(
    [
      new Field('key', new Utf8(), false, PK_METADATA),
      new Field('video', new Utf8(), false),
      new Field('tenant', new Utf8(), false),
      new Field('video_id', new Utf8(), false),
      new Field('field', new Utf8(), false),
      new Field('track_id', new Utf8(), true),
      new Field('seq', new Int32(), false),
      new Field('start', new Float64(), true),
      new Field('end', new Float64(), true),
      new Field('text', new Utf8(), false),
      new Field('terms', new Utf8(), false),
    ],
    new Map([
      ['reel:table', 'words'],
      ['reel:schema-version', '1'],
    ]),
  );
}

/**
 * The full-text index on `terms`. Cues come in any language, several in one table (one tenant's videos
 * in English and Japanese, one video's tracks in Portuguese and French), and stemming and stop words are
 * per language: an English stemmer mangles other languages' words and English stop words drop real
 * words of others (French "a", Italian "come"), while the words of a short query are few enough that
 * none can be spared. So no stemming and no stop-word removal: every word is indexed as written,
 * lower-cased and Latin-folded ("CAFÉ" = "café", "Straße" = "strasse"; Greek and Cyrillic keep their
 * marks). The `simple` tokenizer splits on everything but letters and digits; scripts written without
 * spaces arrive already cut into pairs (words/word-terms.ts). Positions are not kept (no phrase
 * queries): a smaller index that builds faster. Tokens over 40 bytes (hashes, run-together URLs) are
 * not indexed.
 */
export function wordsFtsIndex(): lancedb.Index {
  return lancedb.Index.fts({
    baseTokenizer: 'simple',
    lowercase: true,
    asciiFolding: true,
    stem: false,
    removeStopWords: false,
    withPosition: false,
    maxTokenLength: 40,
  });
}

/** A word row's key (see {@link wordsSchema}). */
export function wordRowKey(
  tenant: string,
  videoId: string,
  row: Pick<WordRow, 'field' | 'trackId' | 'seq'>,
): string {
  return JSON.stringify([tenant, videoId, row.field, row.trackId, row.seq]);
}

/** The rows of one video, as written. */
export interface VideoWordRows {
  tenant: string;
  videoId: string;
  rows: readonly WordRow[];
}

/** One Arrow batch of word rows of several videos. */
export function wordsData(videos: readonly VideoWordRows[]) {
  const flat = videos.flatMap((v) => v.rows.map((row) => ({ v, row })));
  return arrowTable(
    wordsSchema(),
    {
      key: utf8Data(flat.map(({ v, row }) => wordRowKey(v.tenant, v.videoId, row))),
      video: utf8Data(flat.map(({ v }) => videoKey(v.tenant, v.videoId))),
      tenant: utf8Data(flat.map(({ v }) => v.tenant)),
      video_id: utf8Data(flat.map(({ v }) => v.videoId)),
      field: utf8Data(flat.map(({ row }) => row.field)),
      track_id: utf8Data(flat.map(({ row }) => row.trackId)),
      seq: int32Data(flat.map(({ row }) => row.seq)),
      start: float64Data(flat.map(({ row }) => row.start)),
      end: float64Data(flat.map(({ row }) => row.end)),
      text: utf8Data(flat.map(({ row }) => row.text)),
      terms: utf8Data(flat.map(({ row }) => row.terms)),
    },
    flat.length,
  );
}

/** What a comparison with the stored rows reads. */
export const STORED_WORD_COLUMNS = [
  'key',
  'video',
  'field',
  'track_id',
  'seq',
  'start',
  'end',
  'text',
  'terms',
] as const;

/** Whether a stored row (STORED_WORD_COLUMNS) holds `row` as it would be written. */
export function sameWordRow(stored: Row, row: WordRow): boolean {
  return (
    stored.text === row.text &&
    stored.terms === row.terms &&
    numberOrNull(stored.start) === row.start &&
    numberOrNull(stored.end) === row.end
  );
}

/** What a words search reads. */
export const HIT_COLUMNS = [
  'tenant',
  'video_id',
  'field',
  'text',
  'start',
  'end',
  'track_id',
  '_score',
] as const;

/** A hit as search reads it: a track's row is a hit of its cues (which ones: WordsStore.matchingCues). */
export function toWordsHit(row: Row): WordsHit {
  const track = row.field === 'track';
  return {
    videoId: row.video_id as string,
    field: track ? 'cue' : (row.field as WordsField),
    text: track ? '' : (row.text as string),
    start: numberOrNull(row.start),
    end: numberOrNull(row.end),
    trackId: (row.track_id as string | null) ?? null,
    score: Number(row._score),
  };
}

/** The SQL naming the rows of these videos (their videoKeys). */
export function videosWhere(keys: readonly string[]): string {
  return keys.length === 1
    ? `video = ${sqlString(keys[0]!)}`
    : `video IN (${keys.map(sqlString).join(', ')})`;
}

// ---------- the cues table ----------

export const CUES_TABLE = 'cues';

/**
 * The `cues` table: every subtitle cue of every video, with its times and text, no full-text index.
 * Searches find a video's words through its track's row of the `words` table (all its cues' words in
 * one document: a common word's posting list then counts videos, not cues, about 200 times shorter) and
 * read the cues of the videos they show from here, by `video` (see ../../words/cue-match.ts).
 * `key` is JSON of [tenant, video id, track id, seq].
 */
export function cuesSchema(): Schema {
  return new Schema(
    [
      new Field('key', new Utf8(), false, PK_METADATA),
      new Field('video', new Utf8(), false),
      new Field('tenant', new Utf8(), false),
      new Field('video_id', new Utf8(), false),
      new Field('track_id', new Utf8(), false),
      new Field('seq', new Int32(), false),
      new Field('start', new Float64(), false),
      new Field('end', new Float64(), false),
      new Field('text', new Utf8(), false),
    ],
    new Map([
      ['reel:table', 'cues'],
      ['reel:schema-version', '1'],
    ]),
  );
}

/** A cue row's key (see {@link cuesSchema}). */
export function cueRowKey(tenant: string, videoId: string, row: Pick<CueRow, 'trackId' | 'seq'>): string {
  return JSON.stringify([tenant, videoId, row.trackId, row.seq]);
}

/** The cue rows of one video, as written. */
export interface VideoCueRows {
  tenant: string;
  videoId: string;
  rows: readonly CueRow[];
}

/** One Arrow batch of cue rows of several videos. */
export function cuesData(videos: readonly VideoCueRows[]) {
  const flat = videos.flatMap((v) => v.rows.map((row) => ({ v, row })));
  return arrowTable(
    cuesSchema(),
    {
      key: utf8Data(flat.map(({ v, row }) => cueRowKey(v.tenant, v.videoId, row))),
      video: utf8Data(flat.map(({ v }) => videoKey(v.tenant, v.videoId))),
      tenant: utf8Data(flat.map(({ v }) => v.tenant)),
      video_id: utf8Data(flat.map(({ v }) => v.videoId)),
      track_id: utf8Data(flat.map(({ row }) => row.trackId)),
      seq: int32Data(flat.map(({ row }) => row.seq)),
      start: float64Data(flat.map(({ row }) => row.start)),
      end: float64Data(flat.map(({ row }) => row.end)),
      text: utf8Data(flat.map(({ row }) => row.text)),
    },
    flat.length,
  );
}

/** What a comparison with the stored cues, and reading a video's cues, read. */
export const STORED_CUE_COLUMNS = ['key', 'video', 'track_id', 'seq', 'start', 'end', 'text'] as const;

/** Whether a stored cue row (STORED_CUE_COLUMNS) holds `row` as it would be written. */
export function sameCueRow(stored: Row, row: CueRow): boolean {
  return stored.text === row.text && Number(stored.start) === row.start && Number(stored.end) === row.end;
}
