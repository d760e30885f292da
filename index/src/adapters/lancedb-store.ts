/**
 * The index's storage: an embedded LanceDB folder. This file and ./lancedb/ (arrow-codec.ts: schemas,
 * column builders and row readers; ann-policy.ts: the vector index's type, name and rebuilds) are the
 * only ones that use @lancedb/lancedb and apache-arrow; everything they return is our own types. The
 * rules any adapter applies before a write (validation, revisions) are in ../store-rules.ts.
 *
 * Tables:
 * - `videos`: one row per (tenant, video id): title, tags, times, duration, source, sha256, model
 *   fingerprint, status and error.
 * - `emb_<hash of fingerprint>`: one table per model, one row per video: the mean-pooled vector (the
 *   first stage searches it), the int8 frames with per-frame statistics, times and thumbnails, the Gram of
 *   the normalised frames and the X-Pool terms, plus copies of the video's tenant, tags, creation time and
 *   duration so the vector search can prefilter on them. One table per model keeps each ANN index trained
 *   on one model's vectors, lets models of different D coexist, and makes "only the active model's
 *   vectors are searched" structural. The ANN index on `mean` is named after its type and the rows it
 *   was trained on (`mean_ivf_flat_5000`); upkeep retrains it as the table doubles (see
 *   ANN_REBUILD_GROWTH in lancedb/ann-policy.ts).
 * - `words`: the words index of every tenant (lancedb/words-table.ts), one row per subtitle cue, title,
 *   file name and tag of a video, with a BM25 full-text index on `terms` created with the table (so
 *   every search, indexed or not, tokenizes as the index does). Searches prefilter on the tenant. Rows
 *   written since the last upkeep are searched too (LanceDB scans them with the index's tokenizer; that
 *   part costs time in proportion to its size until `optimize()` folds it in). Title, file and tag rows
 *   follow the record in `upsertVideos` (rewritten only when they differ from what the table holds).
 *
 * Concurrency: every row has a `key` column carrying the Arrow field metadata
 * `lance-schema:unenforced-primary-key = "true"`, so concurrent `mergeInsert`s of the same new keys
 * from several processes conflict and retry instead of silently inserting duplicates (LanceDB only
 * detects that race for a declared primary key). Connections use `readConsistencyInterval` 0 by default,
 * so every read sees other processes' latest commits.
 */
import * as lancedb from '@lancedb/lancedb';
import { isReelError, ReelError, retrying } from '@reel/infra';
import type { Table as ArrowTable, RecordBatch, Schema } from 'apache-arrow';
import { IndexErrorCode } from '../errors.ts';
import { frameDataBytes } from '../frame-codec.ts';
import type { IndexStore, TableUpkeep, VideoPage, VideoSort, VideoSummary } from '../index-store.ts';
import { decodeCursor, encodeCursor, hashQuery } from '../search/cursor.ts';
import { filtersToSql, type ListFilters, normalizeFilters, sqlString } from '../search/filter-sql.ts';
import { LruCache } from '../search/query-cache.ts';
import type { RescoreEntry } from '../search/rescore-cache.ts';
import type { CandidateRequest, ResultDetails, StageOneCandidate } from '../search/search-store.ts';
import { checkId, checkVideoEmbeddings, checkVideoRecord, embeddingsRevision } from '../store-rules.ts';
import {
  type CaptionTrackInfo,
  parseVideoKey,
  VIDEO_STATUSES,
  type VideoEmbeddings,
  type VideoRecord,
  type VideoStatus,
  videoKey,
} from '../video-record.ts';
import { matchCues } from '../words/cue-match.ts';
import {
  type CueRow,
  checkCues,
  labelRows,
  trackInfoOf,
  trackRows,
  type WordRow,
} from '../words/word-rows.ts';
import { wordTerms } from '../words/word-terms.ts';
import type { CaptionTrackCues, StoredCue, WordsHit } from '../words/words-store.ts';
import {
  type AnnIndexConfig,
  annIndexDue,
  annIndexFor,
  annIndexName,
  annIndexType,
  DEFAULT_ANN_INDEX,
  DEFAULT_ANN_THRESHOLD,
  filteredSearchWidth,
} from './lancedb/ann-policy.ts';
import {
  type ArrowVectorLike,
  arrowTable,
  binaryData,
  compactFramesOf,
  EMB_PREFIX,
  embeddingsSchema,
  embeddingsTableName,
  flagData,
  float32ListData,
  float32s,
  float64Data,
  int32Data,
  nullableStringList,
  numberOrNull,
  RESCORE_COLUMNS,
  type Row,
  rescoreEntryOf,
  rowsOf,
  SUMMARY_COLUMNS,
  sameFilterFields,
  stringList,
  toVideoRecord,
  toVideoSummary,
  uint32Data,
  utf8Data,
  utf8ListData,
  VIDEO_COLUMNS,
  VIDEOS_TABLE,
  vectorData,
  videosSchema,
} from './lancedb/arrow-codec.ts';
import {
  CUES_TABLE,
  cueRowKey,
  cuesData,
  cuesSchema,
  HIT_COLUMNS,
  STORED_CUE_COLUMNS,
  STORED_WORD_COLUMNS,
  sameCueRow,
  sameWordRow,
  toWordsHit,
  type VideoCueRows,
  type VideoWordRows,
  videosWhere,
  WORDS_FTS_INDEX,
  WORDS_TABLE,
  wordRowKey,
  wordsData,
  wordsFtsIndex,
  wordsSchema,
} from './lancedb/words-table.ts';

export {
  ANN_REBUILD_GROWTH,
  type AnnIndexConfig,
  type AnnIndexType,
  annIndexDue,
  annIndexName,
  annIndexType,
  DEFAULT_ANN_INDEX,
  DEFAULT_ANN_THRESHOLD,
  filteredSearchWidth,
  HNSW_FROM_ROWS,
  HNSW_ROWS_PER_PARTITION,
  parseAnnIndexName,
} from './lancedb/ann-policy.ts';
export { embeddingsTableName } from './lancedb/arrow-codec.ts';

/** Filtered-row counts kept per (table, version, filter) for {@link filteredSearchWidth}. */
const FILTER_SHARE_ENTRIES = 256;

export interface LanceIndexStoreOptions {
  /** The database folder (created when missing), or an object store's URI (`s3://bucket/path`). */
  dir: string;
  /** Options of the object store (endpoint, region, credentials…: LanceDB's `storageOptions`). */
  storageOptions?: Record<string, string>;
  /** Seconds between checks for other processes' commits; 0 (default) checks on every read. */
  readConsistencyInterval?: number;
  /** See {@link DEFAULT_ANN_THRESHOLD}. */
  annThreshold?: number;
  ann?: AnnIndexConfig;
  /** Attempts of a write that hits a commit conflict. Default 8. */
  writeAttempts?: number;
  /**
   * How long per-table tenant statistics stay valid after the table changed (default 10 s). They let
   * a single-tenant table skip the tenant prefilter, which passes every row yet costs a full row mask.
   */
  tenantStatsTtlMs?: number;
  /** See {@link DEFAULT_COMPACT_VIDEOS_EVERY}; 0 leaves compaction to upkeep alone. */
  compactVideosEvery?: number;
}

/**
 * Upserts of the videos table after which this store compacts it (LanceDB `optimize` of that table).
 * Every upsert leaves a fragment of its own, and a record read or upsert scans them all until upkeep
 * compacts them: measured (`workers/bench/catalog-op-cost.ts`) a record read at 17 ms of CPU after 40
 * uncompacted upserts and 155 ms after 400, an upsert at 49 and 458 ms, against 3-4 ms for a read once
 * compacted. A video's stages read its record about seven times and upsert it two or three, so between
 * daily upkeeps a steady ingest slowed in proportion to the videos it had indexed that day.
 */
export const DEFAULT_COMPACT_VIDEOS_EVERY = 64;

/** See {@link LanceIndexStoreOptions.tenantStatsTtlMs}. */
const TENANT_STATS_TTL_MS = 10_000;

/**
 * Rows of the words table outside the FTS index past which `refreshWordsIndex` folds them in. Rows
 * outside are searched one by one, at a cost that grows with their words: at 100k videos, the 6 000 rows
 * of 1 000 new videos (a 200-cue track each) took a query's p50 from 17 to 182 ms; 1 000 rows (about 170
 * videos) keep that under about 30 ms.
 */
export const DEFAULT_MAX_UNINDEXED_WORDS = 1000;
/** How long `hasWords` answers from memory. */
const HAS_WORDS_TTL_MS = 5_000;

/** Default and largest `limit` of a words search. */
const WORD_HITS_DEFAULT = 200;
const WORD_HITS_MAX = 10_000;

/** A `replaceManyCues` item: the cues of some tracks of one video. */
export interface VideoCues {
  tenant: string;
  videoId: string;
  tracks: readonly CaptionTrackCues[];
  /** Drop the video's other tracks' cues too. */
  replaceAll?: boolean;
}

interface TenantStats {
  version: number;
  takenAt: number;
  tenants: Map<string, number> | null;
  refreshing: boolean;
}

function storeFailed(what: string, cause: unknown): ReelError {
  const message = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new ReelError(IndexErrorCode.INDEX_STORE_FAILED, `LanceDB ${what} failed: ${message}`, {
    retryable: true,
    cause,
  });
}

function isConflict(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /conflict|retryable|concurrent|too many concurrent writers|commit/i.test(message);
}

/**
 * A table's name, read from the native handle once: LanceDB's `Table.name` getter throws "cannot be
 * borrowed mutably while another borrow is active" while any async call on the same handle is pending,
 * which is always the case under concurrent searches.
 */
const TABLE_NAMES = new WeakMap<lancedb.Table, string>();
function tableName(table: lancedb.Table): string {
  let name = TABLE_NAMES.get(table);
  if (name === undefined) {
    name = table.name;
    TABLE_NAMES.set(table, name);
  }
  return name;
}

/** LanceDB-backed index store (see the file header). Open with {@link LanceIndexStore.open}. */
export class LanceIndexStore implements IndexStore {
  readonly dir: string;
  readonly annThreshold: number;
  readonly ann: AnnIndexConfig;
  readonly #db: lancedb.Connection;
  readonly #writeAttempts: number;
  readonly #tenantStatsTtlMs: number;
  readonly #tables = new Map<string, lancedb.Table>();
  readonly #embInfo = new Map<string, { fingerprint: string; dim: number }>();
  readonly #pinned = new Map<string, lancedb.Table>();
  readonly #tenantStats = new Map<string, TenantStats>();
  /** Words table handles whose FTS index has been checked. */
  readonly #wordsChecked = new WeakSet<lancedb.Table>();
  /** tenant → whether it has word rows, and when that was read. */
  readonly #hasWords = new Map<string, { value: boolean; at: number }>();
  /** `table\0version\0filter` → rows passing (the filter '' = every row). */
  readonly #filterCounts = new LruCache<string, number>(FILTER_SHARE_ENTRIES);
  /**
   * This store's writes, one after another: a LanceDB connection refuses concurrent writes to one table
   * handle ("cannot be borrowed mutably"). Other processes are LanceDB's business (commit conflicts,
   * retried by #retryWrite). Callers need no lock of their own.
   */
  #writes: Promise<unknown> = Promise.resolve();
  readonly #compactVideosEvery: number;
  /** Upserts of the videos table by this store since it last compacted it. */
  #videoUpserts = 0;

  #serialized<T>(write: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(write, write);
    this.#writes = next.catch(() => undefined);
    return next;
  }

  private constructor(db: lancedb.Connection, options: LanceIndexStoreOptions) {
    this.#db = db;
    this.dir = options.dir;
    this.annThreshold = options.annThreshold ?? DEFAULT_ANN_THRESHOLD;
    this.ann = { ...DEFAULT_ANN_INDEX, ...options.ann };
    this.#writeAttempts = Math.max(1, options.writeAttempts ?? 8);
    this.#tenantStatsTtlMs = options.tenantStatsTtlMs ?? TENANT_STATS_TTL_MS;
    this.#compactVideosEvery = Math.max(0, options.compactVideosEvery ?? DEFAULT_COMPACT_VIDEOS_EVERY);
  }

  /** Connects to (creating if needed) the database folder. */
  static async open(options: LanceIndexStoreOptions): Promise<LanceIndexStore> {
    try {
      const db = await lancedb.connect(options.dir, {
        readConsistencyInterval: options.readConsistencyInterval ?? 0,
        ...(options.storageOptions ? { storageOptions: options.storageOptions } : {}),
      });
      return new LanceIndexStore(db, options);
    } catch (error) {
      throw storeFailed(`connect to ${options.dir}`, error);
    }
  }

  close(): void {
    for (const table of [...this.#tables.values(), ...this.#pinned.values()]) table.close();
    this.#tables.clear();
    this.#pinned.clear();
    this.#db.close();
  }

  // ---------- tables ----------

  async #openTable(name: string): Promise<lancedb.Table | null> {
    const cached = this.#tables.get(name);
    if (cached !== undefined) return cached;
    try {
      const names = await this.#db.tableNames();
      if (!names.includes(name)) return null;
      const table = await this.#db.openTable(name);
      TABLE_NAMES.set(table, name);
      if (name === VIDEOS_TABLE) await this.#addMissingVideoColumns(table);
      this.#tables.set(name, table);
      return table;
    } catch (error) {
      if (isReelError(error)) throw error;
      // Listed but without a committed version: another process is creating it right now.
      if (String((error as Error)?.message ?? error).includes('was not found')) return null;
      throw storeFailed(`open table ${name}`, error);
    }
  }

  /** Opens or creates a table; concurrent creators in other processes end up with the same table. */
  async #ensureTable(name: string, schema: Schema): Promise<lancedb.Table> {
    const existing = await this.#openTable(name);
    if (existing !== null) return existing;
    const create = async (): Promise<lancedb.Table> => {
      try {
        const table = await this.#db.createEmptyTable(name, schema, { existOk: true });
        TABLE_NAMES.set(table, name);
        this.#tables.set(name, table);
        return table;
      } catch (error) {
        // another process created it between our check and our create
        const opened = await this.#openTable(name).catch(() => null);
        if (opened !== null) return opened;
        throw error;
      }
    };
    return retrying(create, { attempts: 9, firstDelayMs: 20, factor: 1, jitter: true }).catch((error) => {
      throw storeFailed(`create table ${name}`, error);
    });
  }

  async #videos(): Promise<lancedb.Table> {
    return this.#ensureTable(VIDEOS_TABLE, videosSchema());
  }

  /**
   * Brings a videos table written by an older reel up to today's schema when it is opened: columns
   * added since are added (null in old rows). Several processes may do it at once: a column another
   * just added is fine.
   */
  async #addMissingVideoColumns(table: lancedb.Table): Promise<void> {
    const added: [name: string, sql: string][] = [
      ['error_retryable', 'CAST(NULL AS INT)'],
      ['file_name', 'CAST(NULL AS STRING)'],
    ];
    for (const [name, sql] of added) {
      const has = async () => (await table.schema()).fields.some((f) => f.name === name);
      if (await has()) continue;
      try {
        await table.addColumns([{ name, valueSql: sql }]);
      } catch (error) {
        await table.checkoutLatest().catch(() => {});
        if (!(await has())) throw storeFailed(`add column ${name} to ${VIDEOS_TABLE}`, error);
      }
    }
  }

  /**
   * The words table, created when missing with its FTS index: a full-text search of a column without
   * one still runs, but with LanceDB's default tokenizer (English stop words, no folding), so the index
   * exists before the first row (LanceDB builds one on an empty table and searches the rows written
   * since with its tokenizer). A table found without one (a creator stopped between the two) gets it
   * here, on the first write through this handle.
   */
  async #wordsTable(): Promise<lancedb.Table> {
    const table = await this.#ensureTable(WORDS_TABLE, wordsSchema());
    if (this.#wordsChecked.has(table)) return table;
    const indexed = async () => (await table.listIndices()).some((i) => i.columns.includes('terms'));
    if (!(await indexed())) {
      try {
        await this.#retryWrite(`FTS index of ${WORDS_TABLE}`, () =>
          table.createIndex('terms', { config: wordsFtsIndex(), name: WORDS_FTS_INDEX }),
        );
      } catch (error) {
        // another process built it meanwhile
        await table.checkoutLatest().catch(() => {});
        if (!(await indexed())) throw error;
      }
    }
    this.#wordsChecked.add(table);
    return table;
  }

  /**
   * Stored rows (`columns`, `key` among them) of these videos (videoKeys) of the words or cues table,
   * passing `where` when given, by row key: 500 videos a read.
   */
  async #storedRows(
    table: lancedb.Table,
    videos: readonly string[],
    columns: readonly string[],
    where?: string,
  ): Promise<Map<string, Row>> {
    const out = new Map<string, Row>();
    const unique = [...new Set(videos)];
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const arrow = await this.#query(`read ${tableName(table)}`, () =>
        table
          .query()
          .where(where === undefined ? videosWhere(chunk) : `${videosWhere(chunk)} AND ${where}`)
          .select([...columns])
          .toArrow(),
      );
      for (const row of rowsOf(arrow, columns)) out.set(row.key as string, row);
    }
    return out;
  }

  /**
   * Writes rows of the words or cues table: one upsert of `data` (by row key; none when null), then one
   * delete of the `stale` keys. A row being replaced is never missing in between; a track that shrank
   * has its extra cues for that moment.
   */
  async #writeRows(
    table: lancedb.Table,
    data: ArrowTable | null,
    stale: readonly string[],
    what: string,
  ): Promise<void> {
    if (data !== null) await this.#upsert(table, data, `upsert ${what}`);
    for (let i = 0; i < stale.length; i += 500) {
      const chunk = stale.slice(i, i + 500);
      await this.#retryWrite(`delete ${what}`, () =>
        table.delete(`key IN (${chunk.map(sqlString).join(', ')})`),
      );
    }
  }

  /** Word rows (see #writeRows), and what `hasWords` knows of their tenants. */
  async #writeWords(
    table: lancedb.Table,
    write: readonly VideoWordRows[],
    stale: readonly string[],
    what: string,
  ): Promise<void> {
    const rows = write.some((v) => v.rows.length > 0);
    await this.#writeRows(table, rows ? wordsData(write) : null, stale, what);
    if (rows) for (const v of write) this.#hasWords.set(v.tenant, { value: true, at: Date.now() });
    if (stale.length > 0) this.#hasWords.clear();
  }

  /** A model's table with its schema checked; null when absent (and `create` not given). */
  async #embeddings(fingerprint: string, create?: { dim: number }): Promise<lancedb.Table | null> {
    const name = embeddingsTableName(fingerprint);
    const table =
      create !== undefined
        ? await this.#ensureTable(name, embeddingsSchema(fingerprint, create.dim))
        : await this.#openTable(name);
    if (table === null) return null;
    let info = this.#embInfo.get(name);
    if (info === undefined) {
      const schema = await table.schema();
      const storedFingerprint = schema.metadata.get('reel:fingerprint');
      const dim = Number(schema.metadata.get('reel:dim'));
      if (storedFingerprint !== fingerprint || !Number.isInteger(dim))
        throw new ReelError(
          IndexErrorCode.INDEX_SCHEMA_MISMATCH,
          `table ${name}: expected embeddings of model ${fingerprint}, found ${storedFingerprint ?? 'no fingerprint'} (D ${schema.metadata.get('reel:dim') ?? '?'})`,
        );
      info = { fingerprint, dim };
      this.#embInfo.set(name, info);
    }
    if (create !== undefined && info.dim !== create.dim)
      throw new ReelError(
        IndexErrorCode.EMBEDDING_DIM_MISMATCH,
        `model ${fingerprint}: the index holds D = ${info.dim} vectors, got D = ${create.dim}`,
      );
    return table;
  }

  /** Every model fingerprint with an embeddings table. */
  async fingerprints(): Promise<string[]> {
    const names = (await this.#db.tableNames()).filter((n) => n.startsWith(EMB_PREFIX));
    const out: string[] = [];
    for (const name of names) {
      const table = await this.#openTable(name);
      const fingerprint = (await table?.schema())?.metadata.get('reel:fingerprint');
      if (fingerprint !== undefined) out.push(fingerprint);
    }
    return out.sort();
  }

  async #embeddingTables(): Promise<lancedb.Table[]> {
    const names = (await this.#db.tableNames()).filter((n) => n.startsWith(EMB_PREFIX));
    const tables: lancedb.Table[] = [];
    for (const name of names) {
      const table = await this.#openTable(name);
      if (table !== null) tables.push(table);
    }
    return tables;
  }

  /** mergeInsert on `key`, retried on commit conflicts. */
  async #upsert(table: lancedb.Table, data: ArrowTable, what: string): Promise<void> {
    await this.#retryWrite(what, async () => {
      await table.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
    });
  }

  /**
   * Compacts the videos table every {@link LanceIndexStoreOptions.compactVideosEvery} upserts (inside
   * the serialized write that reaches the count, so no write of this store runs beside it). Versions
   * older than 10 minutes are pruned, as upkeep does; LanceDB's optimize also folds the new rows into
   * the table's existing indexes, while creating missing ones is left to upkeep. A failure is not the
   * write's: the count starts again and upkeep compacts later.
   */
  async #compactVideosWhenDue(table: lancedb.Table): Promise<void> {
    if (this.#compactVideosEvery === 0 || ++this.#videoUpserts < this.#compactVideosEvery) return;
    this.#videoUpserts = 0;
    await this.#retryWrite(`compact ${VIDEOS_TABLE}`, () =>
      table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) }),
    ).catch(() => {});
  }

  /** A write, tried again on a commit conflict with another writer (jittered, 20 ms doubling to 1 s). */
  async #retryWrite<T>(what: string, write: () => Promise<T>): Promise<T> {
    const policy = { attempts: this.#writeAttempts, firstDelayMs: 20, maxDelayMs: 1000, jitter: true };
    return retrying(write, { ...policy, retryIf: isConflict }).catch((error) => {
      throw storeFailed(what, error);
    });
  }

  async #query(what: string, run: () => Promise<ArrowTable>): Promise<ArrowTable> {
    try {
      return await run();
    } catch (error) {
      throw storeFailed(what, error);
    }
  }

  /** Rows of `table` whose key is one of `keys` (in chunks: IN lists stay short). */
  async #byKeys(table: lancedb.Table, keys: readonly string[], columns: readonly string[]): Promise<Row[]> {
    const rows: Row[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const arrow = await this.#query(`read ${tableName(table)}`, () =>
        table
          .query()
          .where(`key IN (${chunk.map(sqlString).join(', ')})`)
          .select([...columns])
          .toArrow(),
      );
      rows.push(...rowsOf(arrow, columns));
    }
    return rows;
  }

  // ---------- videos ----------

  /** Inserts or replaces one video record (idempotent per tenant and id). */
  async upsertVideo(record: VideoRecord): Promise<void> {
    await this.upsertVideos([record]);
  }

  /**
   * Inserts or replaces video records (idempotent per tenant and id; the last of duplicates wins). When
   * a stored video's tags, creation time or duration change, the copies beside its embeddings follow.
   */
  async upsertVideos(records: readonly VideoRecord[]): Promise<void> {
    return this.#serialized(() => this.#upsertVideos(records));
  }

  async #upsertVideos(records: readonly VideoRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byKey = new Map<string, VideoRecord>();
    for (const record of records) {
      checkVideoRecord(record);
      byKey.set(videoKey(record.tenant, record.id), record);
    }
    const unique = [...byKey.values()];
    const keys = [...byKey.keys()];
    const table = await this.#videos();
    const before = new Map(
      (await this.#byKeys(table, keys, ['key', 'tags', 'created_at', 'duration'])).map((r) => [
        r.key as string,
        r,
      ]),
    );
    const now = Date.now();
    const data = arrowTable(
      videosSchema(),
      {
        key: utf8Data(keys),
        tenant: utf8Data(unique.map((r) => r.tenant)),
        id: utf8Data(unique.map((r) => r.id)),
        title: utf8Data(unique.map((r) => r.title)),
        tags: utf8ListData(unique.map((r) => r.tags)),
        created_at: float64Data(unique.map((r) => r.createdAt.getTime())),
        ingested_at: float64Data(unique.map((r) => r.ingestedAt?.getTime() ?? null)),
        duration: float64Data(unique.map((r) => r.durationSeconds)),
        source: utf8Data(unique.map((r) => r.source)),
        sha256: utf8Data(unique.map((r) => r.sha256)),
        fingerprint: utf8Data(unique.map((r) => r.fingerprint)),
        status: utf8Data(unique.map((r) => r.status)),
        error_code: utf8Data(unique.map((r) => r.error?.code ?? null)),
        error_message: utf8Data(unique.map((r) => r.error?.message ?? null)),
        updated_at: float64Data(unique.map(() => now)),
        error_retryable: flagData(unique.map((r) => r.error?.retryable ?? null)),
        file_name: utf8Data(unique.map((r) => r.fileName ?? null)),
      },
      unique.length,
    );
    await this.#upsert(table, data, `upsert ${unique.length} video(s)`);
    await this.#compactVideosWhenDue(table);
    const changed = unique.filter((r) => {
      const old = before.get(videoKey(r.tenant, r.id));
      return old !== undefined && !sameFilterFields(old, r.tags, r.createdAt.getTime(), r.durationSeconds);
    });
    if (changed.length > 0) await this.#propagateFilterFields(changed);
    await this.#syncLabelWords(unique);
  }

  /**
   * Brings the title, file-name and tag rows of these videos in the words table in step with their
   * records: one read of the rows they have there, then at most one upsert of the rows that differ and
   * one delete of those no longer wanted (none at all when nothing differs, e.g. a status update).
   * Compared with the words table itself, not with the previous record, so a write that failed half-way
   * is repaired by the next upsert of the video.
   */
  async #syncLabelWords(records: readonly VideoRecord[]): Promise<void> {
    const table = await this.#wordsTable();
    const stored = await this.#storedRows(
      table,
      records.map((r) => videoKey(r.tenant, r.id)),
      STORED_WORD_COLUMNS,
      `field IN ('title', 'file', 'tag')`,
    );
    const wanted = new Set<string>();
    const write: VideoWordRows[] = [];
    for (const r of records) {
      const rows = labelRows(r).filter((row) => {
        const key = wordRowKey(r.tenant, r.id, row);
        wanted.add(key);
        const old = stored.get(key);
        return old === undefined || !sameWordRow(old, row);
      });
      if (rows.length > 0) write.push({ tenant: r.tenant, videoId: r.id, rows });
    }
    const stale = [...stored.keys()].filter((key) => !wanted.has(key));
    await this.#writeWords(table, write, stale, `words of ${records.length} video(s)`);
  }

  /** Copies tags, creation time and duration onto the video's embeddings rows in every model table. */
  async #propagateFilterFields(records: readonly VideoRecord[]): Promise<void> {
    for (const table of await this.#embeddingTables()) {
      for (const r of records) {
        const where = `key = ${sqlString(videoKey(r.tenant, r.id))}`;
        const count = await table.countRows(where).catch((error: unknown) => {
          throw storeFailed(`count ${tableName(table)}`, error);
        });
        if (count === 0) continue;
        await this.#retryWrite(`update filter fields of ${r.id} in ${tableName(table)}`, () =>
          table.update({
            where,
            valuesSql: {
              tags: `arrow_cast(make_array(${r.tags.map(sqlString).join(', ')}), 'List(Utf8)')`,
              created_at: String(r.createdAt.getTime()),
              duration: r.durationSeconds === null ? 'NULL' : String(r.durationSeconds),
            },
          }),
        );
      }
    }
  }

  /** One video record, or null. */
  async getVideo(tenant: string, id: string): Promise<VideoRecord | null> {
    checkId(tenant, 'tenant');
    checkId(id, 'video id');
    const table = await this.#openTable(VIDEOS_TABLE);
    if (table === null) return null;
    const rows = await this.#byKeys(table, [videoKey(tenant, id)], VIDEO_COLUMNS);
    return rows[0] === undefined ? null : toVideoRecord(rows[0]);
  }

  /**
   * A tenant's videos, newest first (by createdAt, then id), filtered like a search (plus statuses),
   * `limit` per page (1 to 1000, default 50).
   *
   * @throws ReelError SEARCH_INPUT_INVALID on bad filters or limit; CURSOR_INVALID for a cursor of
   *   another listing.
   */
  async listVideos(
    tenant: string,
    options: { filters?: ListFilters; limit?: number; cursor?: string; sort?: VideoSort } = {},
  ): Promise<VideoPage> {
    const filters = normalizeFilters(options.filters);
    const sort = options.sort ?? 'newest';
    if (sort !== 'newest' && sort !== 'title')
      throw new ReelError(
        IndexErrorCode.SEARCH_INPUT_INVALID,
        `sort: expected newest or title, got ${JSON.stringify(sort)}`,
      );
    const where = filtersToSql(tenant, filters);
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new ReelError(
        IndexErrorCode.SEARCH_INPUT_INVALID,
        `limit: expected an integer in [1, 1000], got ${limit}`,
      );
    const queryHash = hashQuery({ tenant, filters, ...(sort === 'newest' ? {} : { sort }) });
    const offset =
      options.cursor === undefined
        ? 0
        : decodeCursor(options.cursor, { kind: 'list', queryHash, fingerprintHash: '' }).offset;
    const table = await this.#openTable(VIDEOS_TABLE);
    if (table === null) return { videos: [], nextCursor: null };
    const arrow = await this.#query('list videos', () =>
      table
        .query()
        .where(where)
        .select([...VIDEO_COLUMNS])
        .orderBy([
          sort === 'title'
            ? { columnName: 'title', ascending: true }
            : { columnName: 'created_at', ascending: false },
          { columnName: 'key', ascending: true },
        ])
        .offset(offset)
        .limit(limit + 1)
        .toArrow(),
    );
    const rows = rowsOf(arrow, VIDEO_COLUMNS);
    const videos = rows.slice(0, limit).map(toVideoRecord);
    const nextCursor =
      rows.length > limit
        ? encodeCursor({ kind: 'list', offset: offset + limit, queryHash, fingerprintHash: '', snapshot: 0 })
        : null;
    return { videos, nextCursor };
  }

  /** Videos per status, for one tenant or all. */
  async countByStatus(tenant?: string): Promise<Record<VideoStatus, number>> {
    if (tenant !== undefined) checkId(tenant, 'tenant');
    const counts = Object.fromEntries(VIDEO_STATUSES.map((s) => [s, 0])) as Record<VideoStatus, number>;
    const table = await this.#openTable(VIDEOS_TABLE);
    if (table === null) return counts;
    const results = await Promise.all(
      VIDEO_STATUSES.map((status) =>
        table
          .countRows(
            tenant === undefined
              ? `status = ${sqlString(status)}`
              : `tenant = ${sqlString(tenant)} AND status = ${sqlString(status)}`,
          )
          .catch((error: unknown) => {
            throw storeFailed('count videos', error);
          }),
      ),
    );
    VIDEO_STATUSES.forEach((status, i) => {
      counts[status] = results[i]!;
    });
    return counts;
  }

  /**
   * Removes a video: its record, its embeddings under every model and its rows in the words index.
   *
   * @returns whether anything was removed.
   */
  async deleteVideo(tenant: string, id: string): Promise<boolean> {
    return this.#serialized(() => this.#deleteVideo(tenant, id));
  }

  async #deleteVideo(tenant: string, id: string): Promise<boolean> {
    checkId(tenant, 'tenant');
    checkId(id, 'video id');
    const key = videoKey(tenant, id);
    const byKey = `key = ${sqlString(key)}`;
    let removed = false;
    const videos = await this.#openTable(VIDEOS_TABLE);
    const words = await this.#openTable(WORDS_TABLE);
    const cues = await this.#openTable(CUES_TABLE);
    const targets: [lancedb.Table, string][] = [
      ...(videos === null ? [] : [[videos, byKey] as [lancedb.Table, string]]),
      ...(await this.#embeddingTables()).map((t): [lancedb.Table, string] => [t, byKey]),
      ...(words === null ? [] : [[words, videosWhere([key])] as [lancedb.Table, string]]),
      ...(cues === null ? [] : [[cues, videosWhere([key])] as [lancedb.Table, string]]),
    ];
    for (const [table, where] of targets) {
      // deleting nothing still commits a version: look first
      const count = await table.countRows(where).catch((error: unknown) => {
        throw storeFailed(`count ${tableName(table)}`, error);
      });
      if (count === 0) continue;
      await this.#retryWrite(`delete ${id} from ${tableName(table)}`, () => table.delete(where));
      removed = true;
    }
    if (removed) this.#hasWords.delete(tenant);
    return removed;
  }

  // ---------- words (WordsStore) ----------

  /**
   * Replaces the cues of the given tracks of a video (all of its cue rows when `replaceAll`); a track
   * given without cues loses its rows. The video must have a record.
   *
   * @throws ReelError VIDEO_INVALID on malformed cues, VIDEO_NOT_FOUND without a record.
   */
  async replaceCues(
    tenant: string,
    videoId: string,
    tracks: readonly CaptionTrackCues[],
    options: { replaceAll?: boolean } = {},
  ): Promise<void> {
    await this.replaceManyCues([{ tenant, videoId, tracks, replaceAll: options.replaceAll === true }]);
  }

  /**
   * `replaceCues` for many videos at once (bulk loads): one read of their stored cues, one upsert of
   * the rows that differ, one delete of those no longer wanted. Cues already stored as given are not
   * rewritten, so a repeated call writes nothing.
   *
   * @throws ReelError VIDEO_INVALID on malformed cues or a video given twice, VIDEO_NOT_FOUND for
   *   videos without a record (nothing is written then).
   */
  async replaceManyCues(items: readonly VideoCues[]): Promise<void> {
    return this.#serialized(() => this.#replaceManyCues(items));
  }

  async #replaceManyCues(items: readonly VideoCues[]): Promise<void> {
    if (items.length === 0) return;
    const keys: string[] = [];
    for (const item of items) {
      checkId(item.tenant, 'tenant');
      checkId(item.videoId, 'video id');
      checkCues(item.videoId, item.tracks);
      keys.push(videoKey(item.tenant, item.videoId));
    }
    if (new Set(keys).size !== keys.length)
      throw new ReelError(IndexErrorCode.VIDEO_INVALID, 'replaceManyCues: a video is given twice');
    const videos = await this.#openTable(VIDEOS_TABLE);
    const known = new Set(
      videos === null ? [] : (await this.#byKeys(videos, keys, ['key'])).map((r) => r.key as string),
    );
    const missing = items.filter((_, i) => !known.has(keys[i]!));
    if (missing.length > 0)
      throw new ReelError(
        IndexErrorCode.VIDEO_NOT_FOUND,
        `cues for ${missing.length} video(s) without a record (upsert the video first): ${missing
          .slice(0, 5)
          .map((m) => m.videoId)
          .join(', ')}`,
      );
    const words = await this.#wordsTable();
    const cues = await this.#ensureTable(CUES_TABLE, cuesSchema());
    const storedTracks = await this.#storedRows(words, keys, STORED_WORD_COLUMNS, `field = 'track'`);
    const storedCues = await this.#storedRows(cues, keys, STORED_CUE_COLUMNS);
    const byVideo = <R extends Row>(rows: Iterable<R>) => {
      const out = new Map<string, R[]>();
      for (const row of rows) {
        const list = out.get(row.video as string);
        if (list === undefined) out.set(row.video as string, [row]);
        else list.push(row);
      }
      return out;
    };
    const tracksByVideo = byVideo(storedTracks.values());
    const cuesByVideo = byVideo(storedCues.values());
    const writeTracks: VideoWordRows[] = [];
    const writeCues: VideoCueRows[] = [];
    const staleTracks: string[] = [];
    const staleCues: string[] = [];
    items.forEach((item, i) => {
      const named = new Set(item.tracks.map((t) => t.trackId));
      const replaced = (trackId: string) => item.replaceAll === true || named.has(trackId);
      const wantedTracks = new Set<string>();
      const wantedCues = new Set<string>();
      const trackWrites: WordRow[] = [];
      const cueWrites: CueRow[] = [];
      for (const track of item.tracks) {
        const rows = trackRows(track);
        for (const row of rows.cues) {
          const key = cueRowKey(item.tenant, item.videoId, row);
          wantedCues.add(key);
          const old = storedCues.get(key);
          if (old === undefined || !sameCueRow(old, row)) cueWrites.push(row);
        }
        if (rows.track !== null) {
          const key = wordRowKey(item.tenant, item.videoId, rows.track);
          wantedTracks.add(key);
          const old = storedTracks.get(key);
          if (old === undefined || !sameWordRow(old, rows.track)) trackWrites.push(rows.track);
        }
      }
      if (trackWrites.length > 0)
        writeTracks.push({ tenant: item.tenant, videoId: item.videoId, rows: trackWrites });
      if (cueWrites.length > 0)
        writeCues.push({ tenant: item.tenant, videoId: item.videoId, rows: cueWrites });
      for (const old of tracksByVideo.get(keys[i]!) ?? [])
        if (replaced(old.track_id as string) && !wantedTracks.has(old.key as string))
          staleTracks.push(old.key as string);
      for (const old of cuesByVideo.get(keys[i]!) ?? [])
        if (replaced(old.track_id as string) && !wantedCues.has(old.key as string))
          staleCues.push(old.key as string);
    });
    // Cues first: a search that finds a track finds its cues (it may miss a cue being replaced).
    const cueRowsWritten = writeCues.some((v) => v.rows.length > 0);
    await this.#writeRows(
      cues,
      cueRowsWritten ? cuesData(writeCues) : null,
      staleCues,
      `cues of ${items.length} video(s)`,
    );
    await this.#writeWords(words, writeTracks, staleTracks, `caption tracks of ${items.length} video(s)`);
  }

  /**
   * The cues of the video's tracks (all, or those named) that hold the query's words, best first (see
   * words/cue-match.ts), at most `limit` (default 10).
   */
  async matchingCues(
    tenant: string,
    videos: readonly { videoId: string; trackIds: readonly string[] }[],
    query: string,
    options: { limit?: number } = {},
  ): Promise<Map<string, WordsHit[]>> {
    checkId(tenant, 'tenant');
    const out = new Map<string, WordsHit[]>();
    const wanted = new Map<string, Set<string>>();
    for (const v of videos) {
      checkId(v.videoId, 'video id');
      if (v.trackIds.length > 0) wanted.set(videoKey(tenant, v.videoId), new Set(v.trackIds));
    }
    const table = await this.#openTable(CUES_TABLE);
    if (table === null || wanted.size === 0) return out;
    const stored = await this.#storedRows(table, [...wanted.keys()], STORED_CUE_COLUMNS);
    const byVideo = new Map<string, { trackId: string; start: number; end: number; text: string }[]>();
    for (const r of stored.values()) {
      if (!wanted.get(r.video as string)?.has(r.track_id as string)) continue;
      const list = byVideo.get(r.video as string) ?? [];
      if (list.length === 0) byVideo.set(r.video as string, list);
      list.push({
        trackId: r.track_id as string,
        start: Number(r.start),
        end: Number(r.end),
        text: r.text as string,
      });
    }
    for (const [key, cues] of byVideo) {
      const videoId = parseVideoKey(key)!.id;
      out.set(
        videoId,
        matchCues(cues, query, options.limit ?? 10).map((c) => ({
          videoId,
          field: 'cue' as const,
          text: c.text,
          start: c.start,
          end: c.end,
          trackId: c.trackId,
          score: c.score,
        })),
      );
    }
    return out;
  }

  /** The cues of one track, by start time (then as given); null when the video has none of it. */
  async trackCues(tenant: string, videoId: string, trackId: string): Promise<StoredCue[] | null> {
    checkId(tenant, 'tenant');
    checkId(videoId, 'video id');
    checkId(trackId, 'caption track id');
    const table = await this.#openTable(CUES_TABLE);
    if (table === null) return null;
    const columns = ['seq', 'start', 'end', 'text'] as const;
    const arrow = await this.#query(`read cues of ${videoId}`, () =>
      table
        .query()
        .where(`${videosWhere([videoKey(tenant, videoId)])} AND track_id = ${sqlString(trackId)}`)
        .select([...columns])
        .toArrow(),
    );
    const rows = rowsOf(arrow, columns);
    if (rows.length === 0) return null;
    return rows
      .map((r) => ({
        seq: Number(r.seq),
        start: Number(r.start),
        end: Number(r.end),
        text: r.text as string,
      }))
      .sort((a, b) => a.start - b.start || a.seq - b.seq)
      .map(({ start, end, text }) => ({ start, end, text }));
  }

  /** The video's caption tracks (its `track` rows): inside the file first, by stream, then by id. */
  async captionTracks(tenant: string, videoId: string): Promise<CaptionTrackInfo[]> {
    checkId(tenant, 'tenant');
    checkId(videoId, 'video id');
    const table = await this.#openTable(WORDS_TABLE);
    if (table === null) return [];
    const arrow = await this.#query(`read caption tracks of ${videoId}`, () =>
      table
        .query()
        .where(`${videosWhere([videoKey(tenant, videoId)])} AND field = 'track' AND text != ''`)
        .select(['text'])
        .toArrow(),
    );
    const stream = (t: CaptionTrackInfo) =>
      Number(/^embedded-(\d+)$/.exec(t.id)?.[1] ?? Number.POSITIVE_INFINITY);
    return rowsOf(arrow, ['text'] as const)
      .map((r) => trackInfoOf(r.text as string))
      .filter((t): t is CaptionTrackInfo => t !== null)
      .sort((a, b) => stream(a) - stream(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * BM25 hits of the query's words (wordTerms, OR: a row matching any word is a hit, rows matching more
   * and rarer words first) among the tenant's rows, best first: a prefiltered search, so other tenants'
   * rows never take a place in the `limit` (their rows do count in the BM25 statistics, which are the
   * table's). Rows written since the last upkeep are searched too.
   *
   * @throws ReelError SEARCH_INPUT_INVALID on a bad limit.
   */
  async wordsVersion(): Promise<number> {
    const table = await this.#openTable(WORDS_TABLE);
    return table === null ? 0 : table.version();
  }

  /** The words table at a version (a cursor's), or the latest when that version is gone or not given. */
  async #wordsAt(snapshot: number | undefined): Promise<lancedb.Table | null> {
    const latest = await this.#openTable(WORDS_TABLE);
    return latest === null ? null : (await this.#pinnedAt(latest, snapshot)).table;
  }

  async searchWords(
    tenant: string,
    query: string,
    options: { limit?: number; snapshot?: number } = {},
  ): Promise<WordsHit[]> {
    checkId(tenant, 'tenant');
    const limit = options.limit ?? WORD_HITS_DEFAULT;
    if (!Number.isInteger(limit) || limit < 1 || limit > WORD_HITS_MAX)
      throw new ReelError(
        IndexErrorCode.SEARCH_INPUT_INVALID,
        `words limit: expected an integer in [1, ${WORD_HITS_MAX}], got ${limit}`,
      );
    const terms = wordTerms(query);
    if (!/[\p{Alphabetic}\p{N}]/u.test(terms)) return [];
    const table = await this.#wordsAt(options.snapshot);
    if (table === null) return [];
    const arrow = await this.#query('words search', () =>
      table
        .query()
        .fullTextSearch(terms, { columns: ['terms'] })
        .where(`tenant = ${sqlString(tenant)}`)
        .select([...HIT_COLUMNS])
        .limit(limit)
        .toArrow(),
    );
    return rowsOf(arrow, HIT_COLUMNS)
      .filter((row) => row.tenant === tenant)
      .map(toWordsHit)
      .sort((a, b) => b.score - a.score);
  }

  /** Whether the tenant has word rows; answered from memory for a few seconds after it was read. */
  async hasWords(tenant: string): Promise<boolean> {
    checkId(tenant, 'tenant');
    const known = this.#hasWords.get(tenant);
    if (known !== undefined && Date.now() - known.at < HAS_WORDS_TTL_MS) return known.value;
    const table = await this.#openTable(WORDS_TABLE);
    let value = false;
    if (table !== null) {
      const arrow = await this.#query('look for words', () =>
        table
          .query()
          .where(`tenant = ${sqlString(tenant)} AND terms != ''`)
          .select(['key'])
          .limit(1)
          .toArrow(),
      );
      value = arrow.numRows > 0;
    }
    this.#hasWords.set(tenant, { value, at: Date.now() });
    return value;
  }

  // ---------- embeddings ----------

  /**
   * Inserts or replaces embeddings (idempotent per tenant, video id and fingerprint). Each video must
   * have a record: its tenant, tags, creation time and duration are copied beside the vectors for
   * prefiltering.
   *
   * @throws ReelError EMBEDDINGS_INVALID on malformed input, VIDEO_NOT_FOUND for videos without a
   *   record, EMBEDDING_DIM_MISMATCH when D differs from the model's table.
   */
  async upsertEmbeddings(embeddings: VideoEmbeddings | readonly VideoEmbeddings[]): Promise<void> {
    return this.#serialized(() => this.#upsertEmbeddings(embeddings));
  }

  async #upsertEmbeddings(embeddings: VideoEmbeddings | readonly VideoEmbeddings[]): Promise<void> {
    const list = Array.isArray(embeddings) ? embeddings : [embeddings as VideoEmbeddings];
    if (list.length === 0) return;
    const byModel = new Map<string, Map<string, VideoEmbeddings>>();
    for (const e of list) {
      checkVideoEmbeddings(e);
      let group = byModel.get(e.fingerprint);
      if (group === undefined) {
        group = new Map();
        byModel.set(e.fingerprint, group);
      }
      group.set(videoKey(e.tenant, e.videoId), e);
    }
    const videos = await this.#videos();
    for (const [fingerprint, group] of byModel) {
      const keys = [...group.keys()];
      const records = new Map(
        (await this.#byKeys(videos, keys, ['key', 'tags', 'created_at', 'duration'])).map((r) => [
          r.key as string,
          r,
        ]),
      );
      const missing = keys.filter((k) => !records.has(k));
      if (missing.length > 0)
        throw new ReelError(
          IndexErrorCode.VIDEO_NOT_FOUND,
          `embeddings for ${missing.length} video(s) without a record (upsert the video first): ${missing
            .slice(0, 5)
            .map((k) => parseVideoKey(k)?.id ?? k)
            .join(', ')}`,
        );
      const items = [...group.values()];
      const dim = items[0]!.dim;
      for (const e of items)
        if (e.dim !== dim)
          throw new ReelError(
            IndexErrorCode.EMBEDDING_DIM_MISMATCH,
            `model ${fingerprint}: embeddings of D = ${dim} and D = ${e.dim} in one write`,
          );
      const table = (await this.#embeddings(fingerprint, { dim }))!;
      const schema = embeddingsSchema(fingerprint, dim);
      const meta = keys.map((k) => records.get(k)!);
      const data = arrowTable(
        schema,
        {
          key: utf8Data(keys),
          tenant: utf8Data(items.map((e) => e.tenant)),
          video_id: utf8Data(items.map((e) => e.videoId)),
          fingerprint: utf8Data(items.map(() => fingerprint)),
          tags: utf8ListData(meta.map((m) => stringList(m.tags))),
          created_at: float64Data(meta.map((m) => Number(m.created_at))),
          duration: float64Data(meta.map((m) => numberOrNull(m.duration))),
          revision: float64Data(items.map(embeddingsRevision)),
          frame_count: int32Data(items.map((e) => e.frameCount)),
          timestamps: float32ListData(items.map((e) => e.timestamps)),
          thumbnails: utf8ListData(items.map((e) => e.thumbnails)),
          mean: vectorData(
            items.map((e) => e.mean),
            dim,
            schema.fields.find((f) => f.name === 'mean')!.type,
          ),
          frame_codec: utf8Data(items.map((e) => e.frames.codec)),
          frames: binaryData(items.map((e) => frameDataBytes(e.frames))),
          frame_scales: float32ListData(items.map((e) => e.frames.scales)),
          frame_norms: float32ListData(items.map((e) => e.frames.norms)),
          frame_means: float32ListData(items.map((e) => e.frames.means)),
          frame_vars: float32ListData(items.map((e) => e.frames.variances)),
          gram: float32ListData(items.map((e) => e.gram)),
          xpool_head: uint32Data(
            items.map((e) => (e.xpoolCache === undefined ? null : e.xpoolCache.headChecksum >>> 0)),
          ),
          xpool: float32ListData(items.map((e) => e.xpoolCache?.data ?? null)),
        },
        items.length,
      );
      await this.#upsert(table, data, `upsert embeddings of ${items.length} video(s)`);
      // a concurrent upsertVideo may have changed tags between our read and our write: re-check
      const after = await this.#byKeys(videos, keys, [
        'key',
        'tenant',
        'id',
        'tags',
        'created_at',
        'duration',
      ]);
      const stale = after.filter((r) => {
        const old = records.get(r.key as string);
        return (
          old !== undefined &&
          !sameFilterFields(old, stringList(r.tags), Number(r.created_at), numberOrNull(r.duration))
        );
      });
      if (stale.length > 0) {
        const full = await this.#byKeys(
          videos,
          stale.map((r) => r.key as string),
          VIDEO_COLUMNS,
        );
        await this.#propagateFilterFields(full.map(toVideoRecord));
      }
    }
  }

  /** A video's stored embeddings under one model, or null. */
  async getEmbeddings(tenant: string, id: string, fingerprint: string): Promise<VideoEmbeddings | null> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return null;
    const columns = [...RESCORE_COLUMNS, 'tenant', 'video_id', 'fingerprint', 'thumbnails', 'mean'];
    const rows = await this.#byKeys(table, [videoKey(tenant, id)], columns);
    const row = rows[0];
    if (row === undefined) return null;
    const dim = this.#embInfo.get(embeddingsTableName(fingerprint))!.dim;
    const frames = compactFramesOf(row, dim);
    const e: VideoEmbeddings = {
      tenant: row.tenant as string,
      videoId: row.video_id as string,
      fingerprint: row.fingerprint as string,
      dim,
      frameCount: frames.frameCount,
      timestamps: Array.from(float32s(row.timestamps)),
      thumbnails: nullableStringList(row.thumbnails),
      frames,
      mean: Float32Array.from(float32s(row.mean)),
      gram: Float32Array.from(float32s(row.gram)),
    };
    if (row.xpool !== null && row.xpool_head !== null)
      e.xpoolCache = {
        headChecksum: Number(row.xpool_head),
        frameCount: frames.frameCount,
        data: Float32Array.from(float32s(row.xpool)),
      };
    return e;
  }

  /** Embeddings rows stored for a model, for one tenant or all. */
  async countEmbeddings(fingerprint: string, tenant?: string): Promise<number> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return 0;
    try {
      return await table.countRows(tenant === undefined ? undefined : `tenant = ${sqlString(tenant)}`);
    } catch (error) {
      throw storeFailed('count embeddings', error);
    }
  }

  // ---------- search (SearchStore) ----------

  async modelTable(fingerprint: string): Promise<{ dim: number; version: number } | null> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return null;
    try {
      return { dim: this.#embInfo.get(tableName(table))!.dim, version: await table.version() };
    } catch (error) {
      throw storeFailed(`read version of ${tableName(table)}`, error);
    }
  }

  /** The model's table at `snapshot` when that version still exists and is not the latest. */
  async #atSnapshot(
    fingerprint: string,
    snapshot: number | undefined,
  ): Promise<{ table: lancedb.Table; version: number } | null> {
    const latest = await this.#embeddings(fingerprint);
    return latest === null ? null : this.#pinnedAt(latest, snapshot);
  }

  /**
   * A table at a version (a cursor's snapshot): the latest handle when none is given, it is the latest,
   * or it was pruned by optimize() (the search continues on the latest); a handful stay open.
   */
  async #pinnedAt(
    latest: lancedb.Table,
    snapshot: number | undefined,
  ): Promise<{ table: lancedb.Table; version: number }> {
    const version = await latest.version();
    if (snapshot === undefined || snapshot === 0 || snapshot === version) return { table: latest, version };
    const name = tableName(latest);
    const id = `${name}@${snapshot}`;
    let pinned = this.#pinned.get(id);
    if (pinned === undefined) {
      try {
        pinned = await this.#db.openTable(name, undefined, { version: snapshot });
        TABLE_NAMES.set(pinned, name);
      } catch {
        return { table: latest, version };
      }
      this.#pinned.set(id, pinned);
      while (this.#pinned.size > 4) {
        const [oldestId, oldest] = this.#pinned.entries().next().value as [string, lancedb.Table];
        oldest.close();
        this.#pinned.delete(oldestId);
      }
    }
    return { table: pinned, version: snapshot };
  }

  async candidates(
    fingerprint: string,
    vector: Float32Array,
    request: CandidateRequest,
  ): Promise<{ snapshot: number; candidates: StageOneCandidate[]; searchWidth?: number }> {
    const at = await this.#atSnapshot(fingerprint, request.snapshot);
    if (at === null) return { snapshot: 0, candidates: [] };
    const dim = this.#embInfo.get(embeddingsTableName(fingerprint))!.dim;
    if (vector.length !== dim)
      throw new ReelError(
        IndexErrorCode.EMBEDDING_DIM_MISMATCH,
        `query vector: the index of model ${fingerprint} holds D = ${dim}, got ${vector.length} values`,
      );
    // A prefilter that every row passes still costs LanceDB a full row mask (≈ 30 ms at 1M rows): when
    // the table is known to hold only this tenant, the tenant clause is left out (rows of a tenant
    // that arrived since the statistics were taken are dropped below, so tenants never mix).
    const sole = this.#soleTenant(at.table, at.version);
    let where: string | undefined = filtersToSql(request.tenant, request.filters);
    if (sole === request.tenant) where = filtersToSql(request.tenant, request.filters, { omitTenant: true });
    const efFactor = this.ann.efFactor ?? DEFAULT_ANN_INDEX.efFactor;
    let ef = Math.ceil(efFactor * request.limit);
    if (where !== undefined && request.exact !== true) {
      const share = await this.#filterShare(at.table, at.version, where);
      if (share !== null) ef = filteredSearchWidth(request.limit, efFactor, share);
    }
    const arrow = await this.#query('vector search', () => {
      let query = at.table
        .vectorSearch(vector)
        .column('mean')
        .distanceType('cosine')
        .withRowId()
        .select(['key', 'revision', '_distance'])
        .limit(request.limit);
      if (where !== undefined) query = query.where(where);
      if (request.exact === true) query = query.bypassVectorIndex();
      else {
        // ef only matters to an HNSW index; IVF_FLAT and IVF_PQ ignore it, so it is always set
        query = query.nprobes(this.ann.nprobes ?? DEFAULT_ANN_INDEX.nprobes).ef(ef);
        if (this.ann.refineFactor !== undefined) query = query.refineFactor(this.ann.refineFactor);
      }
      return query.toArrow();
    });
    const keys = arrow.getChild('key')!;
    const revisions = arrow.getChild('revision')!;
    const distances = arrow.getChild('_distance')!;
    const rowIds = arrow.getChild('_rowid')!;
    const candidates: StageOneCandidate[] = [];
    const prefix = videoKey(request.tenant, '').slice(0, -2); // '["<tenant>","' starts its keys
    for (let i = 0; i < arrow.numRows; i++) {
      const key = keys.get(i) as string;
      if (!key.startsWith(prefix)) continue;
      candidates.push({
        key,
        rowId: rowIds.get(i) as bigint,
        revision: Number(revisions.get(i)),
        distance: Number(distances.get(i)),
      });
    }
    return { snapshot: at.version, candidates, ...(request.exact === true ? {} : { searchWidth: ef }) };
  }

  /**
   * Stage-one rows of the given videos (by videoKey) that pass the tenant and filters, at the snapshot
   * when given (the latest when it is gone): an exact distance computation over just those rows (a
   * keyed prefilter, then a flat search), so each distance is the exact cosine distance to `vector`.
   * Keys not stored under the model, of another tenant or filtered out are left out.
   */
  async candidatesByKeys(
    fingerprint: string,
    vector: Float32Array,
    keys: readonly string[],
    request: Omit<CandidateRequest, 'limit' | 'exact'>,
  ): Promise<StageOneCandidate[]> {
    const filter = filtersToSql(request.tenant, request.filters);
    const prefix = videoKey(request.tenant, '').slice(0, -2); // '["<tenant>","' starts its keys
    const own = [...new Set(keys)].filter((key) => key.startsWith(prefix));
    if (own.length === 0) return [];
    const at = await this.#atSnapshot(fingerprint, request.snapshot);
    if (at === null) return [];
    const dim = this.#embInfo.get(embeddingsTableName(fingerprint))!.dim;
    if (vector.length !== dim)
      throw new ReelError(
        IndexErrorCode.EMBEDDING_DIM_MISMATCH,
        `query vector: the index of model ${fingerprint} holds D = ${dim}, got ${vector.length} values`,
      );
    const out: StageOneCandidate[] = [];
    for (let i = 0; i < own.length; i += 500) {
      const chunk = own.slice(i, i + 500);
      const arrow = await this.#query('keyed vector search', () =>
        at.table
          .vectorSearch(vector)
          .column('mean')
          .distanceType('cosine')
          .where(`key IN (${chunk.map(sqlString).join(', ')}) AND ${filter}`)
          .bypassVectorIndex()
          .withRowId()
          .select(['key', 'revision', '_distance'])
          .limit(chunk.length)
          .toArrow(),
      );
      const found = rowsOf(arrow, ['key', 'revision', '_distance', '_rowid']);
      for (const row of found) {
        const key = row.key as string;
        if (!key.startsWith(prefix)) continue;
        out.push({
          key,
          rowId: row._rowid as bigint,
          revision: Number(row.revision),
          distance: Number(row._distance),
        });
      }
    }
    return out.sort((a, b) => a.distance - b.distance);
  }

  /**
   * The share of a table version's rows that pass `where`, for the HNSW search width; null where the
   * width does not matter (a table `auto` indexes with IVF_FLAT or not at all) or counting failed. Counts
   * use the scalar indexes (under 1 ms at 1M rows) and are kept per version, so a filter repeated
   * while nothing is written is counted once.
   */
  async #filterShare(table: lancedb.Table, version: number, where: string): Promise<number | null> {
    const count = async (filter: string): Promise<number> => {
      const key = `${tableName(table)}\0${version}\0${filter}`;
      const known = this.#filterCounts.get(key);
      if (known !== undefined) return known;
      const rows = filter === '' ? await table.countRows() : await table.countRows(filter);
      this.#filterCounts.set(key, rows);
      return rows;
    };
    try {
      const total = await count('');
      if (total === 0 || annIndexType(this.ann, total) !== 'ivf_hnsw_sq') return null;
      return (await count(where)) / total;
    } catch {
      return null; // an optimisation only: the unfiltered width is right, just slower
    }
  }

  async rescoreEntries(fingerprint: string, rows: readonly StageOneCandidate[]): Promise<RescoreEntry[]> {
    if (rows.length === 0) return [];
    // always the latest version: a row rewritten since stage 1 is read with its new revision, a
    // deleted one is left out, and no pinned handle is opened while ingestion moves the version on
    const table = await this.#embeddings(fingerprint);
    if (table === null) return [];
    const dim = this.#embInfo.get(tableName(table))!.dim;
    const found = await this.#takeRows(table, rows, RESCORE_COLUMNS);
    return [...found.values()].map((row) => rescoreEntryOf(row, dim));
  }

  async rescoreEntryByKey(fingerprint: string, key: string): Promise<RescoreEntry | null> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return null;
    const dim = this.#embInfo.get(tableName(table))!.dim;
    const [row] = await this.#byKeys(table, [key], RESCORE_COLUMNS);
    return row === undefined ? null : rescoreEntryOf(row, dim);
  }

  /**
   * The only tenant of a model's table per the last tenant statistics, or null (several tenants, or no
   * statistics yet). Statistics are recomputed in the background when the version has changed and
   * the last ones are older than the TTL; queries never wait for them.
   */
  #soleTenant(table: lancedb.Table, version: number): string | null {
    let stats = this.#tenantStats.get(tableName(table));
    if (stats === undefined) {
      stats = { version: -1, takenAt: 0, tenants: null, refreshing: false };
      this.#tenantStats.set(tableName(table), stats);
    }
    const stale = stats.version !== version && Date.now() - stats.takenAt >= this.#tenantStatsTtlMs;
    if ((stats.tenants === null || stale) && !stats.refreshing) {
      stats.refreshing = true;
      const target = stats;
      void this.#countTenants(table)
        .then((tenants) => {
          target.tenants = tenants;
          target.version = version;
          target.takenAt = Date.now();
        })
        .catch(() => {}) // statistics are an optimisation: without them the tenant is prefiltered
        .finally(() => {
          target.refreshing = false;
        });
    }
    if (stats.tenants === null || stats.tenants.size !== 1) return null;
    return stats.tenants.keys().next().value ?? null;
  }

  /**
   * Recomputes (and returns) a model's rows per tenant now, e.g. at start-up so the first searches of
   * a single-tenant index skip the tenant prefilter. Searches otherwise refresh them in the background.
   */
  async refreshTenantStatistics(fingerprint: string): Promise<Map<string, number>> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return new Map();
    try {
      const version = await table.version();
      const tenants = await this.#countTenants(table);
      this.#tenantStats.set(tableName(table), { version, takenAt: Date.now(), tenants, refreshing: false });
      return new Map(tenants);
    } catch (error) {
      throw storeFailed(`count tenants of ${tableName(table)}`, error);
    }
  }

  /** Rows per tenant of a table (reads the tenant column only; ≈ 0.1-0.3 s at 1M rows). */
  async #countTenants(table: lancedb.Table): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for await (const batch of table.query().select(['tenant']) as AsyncIterable<RecordBatch>) {
      const column = batch.getChild('tenant') as ArrowVectorLike | null;
      for (let i = 0; i < batch.numRows; i++) {
        const tenant = column?.get(i) as string;
        counts.set(tenant, (counts.get(tenant) ?? 0) + 1);
      }
    }
    return counts;
  }

  /**
   * Rows by row id (fast), falling back to a key lookup for any whose row id no longer names them
   * (compaction in another process renumbers rows).
   */
  async #takeRows(
    table: lancedb.Table,
    rows: readonly StageOneCandidate[],
    columns: readonly string[],
  ): Promise<Map<string, Row>> {
    const wanted = new Map(rows.map((r) => [r.key, r]));
    const found = new Map<string, Row>();
    try {
      const arrow = await table
        .takeRowIds(rows.map((r) => r.rowId))
        .select([...columns])
        .toArrow();
      for (const row of rowsOf(arrow, columns)) {
        const key = row.key as string;
        const want = wanted.get(key);
        if (want !== undefined && (!('revision' in row) || Number(row.revision) === want.revision))
          found.set(key, row);
      }
    } catch {
      // a row id from before a compaction: the key lookup below finds the rows
    }
    const missing = rows.filter((r) => !found.has(r.key)).map((r) => r.key);
    if (missing.length > 0)
      for (const row of await this.#byKeys(table, missing, columns)) found.set(row.key as string, row);
    return found;
  }

  async resultDetails(
    fingerprint: string,
    rows: readonly StageOneCandidate[],
  ): Promise<Map<string, ResultDetails>> {
    const out = new Map<string, ResultDetails>();
    if (rows.length === 0) return out;
    const table = await this.#embeddings(fingerprint);
    const videos = await this.#openTable(VIDEOS_TABLE);
    if (table === null || videos === null) return out;
    const [embRows, videoRows] = await Promise.all([
      this.#takeRows(table, rows, ['key', 'thumbnails']),
      this.#byKeys(
        videos,
        rows.map((r) => r.key),
        ['key', 'id', 'title', 'tags', 'created_at', 'duration'],
      ),
    ]);
    for (const v of videoRows) {
      const key = v.key as string;
      out.set(key, {
        videoId: v.id as string,
        title: v.title as string,
        tags: stringList(v.tags),
        createdAt: new Date(Number(v.created_at)),
        durationSeconds: numberOrNull(v.duration),
        thumbnails: nullableStringList(embRows.get(key)?.thumbnails),
      });
    }
    return out;
  }

  /**
   * Reads every stored row of a model's rescoring data in batches (to warm a rescore cache at start-up).
   *
   * @returns rows read.
   */
  async scanRescoreEntries(
    fingerprint: string,
    onEntries: (entries: RescoreEntry[]) => void,
    batchRows = 4096,
  ): Promise<number> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return 0;
    const dim = this.#embInfo.get(tableName(table))!.dim;
    let total = 0;
    try {
      const query = table.query().select([...RESCORE_COLUMNS]);
      for await (const batch of query as AsyncIterable<RecordBatch>) {
        const rows = rowsOf(batch, RESCORE_COLUMNS);
        for (let i = 0; i < rows.length; i += batchRows)
          onEntries(rows.slice(i, i + batchRows).map((r) => rescoreEntryOf(r, dim)));
        total += rows.length;
      }
    } catch (error) {
      if (error instanceof ReelError) throw error;
      throw storeFailed(`scan ${tableName(table)}`, error);
    }
    return total;
  }

  // ---------- upkeep ----------

  /**
   * Upkeep for every table: compacts small data files, prunes versions older than `pruneOlderThanMs`
   * (default 10 minutes: page cursors keep reading their snapshot that long, and deleted videos' data
   * leaves the disk after it), builds missing indexes (the ANN index once a model's table reaches
   * `annThreshold` rows; scalar indexes on the filtered columns; the words table's FTS index if it
   * lacks one) and folds new rows into existing ones (the words written since the last upkeep join the
   * FTS index, so searches stop scanning them).
   */
  async optimize(options: { pruneOlderThanMs?: number } = {}): Promise<TableUpkeep[]> {
    return this.#serialized(() => this.#optimize(options));
  }

  /**
   * Folds the words written since the last upkeep into the FTS index when there are more than
   * `maxUnindexed` rows outside it: LanceDB searches those rows one by one (see
   * DEFAULT_MAX_UNINDEXED_WORDS), so a steady ingest calls this after each batch rather than waiting for
   * the upkeep schedule. Returns the rows that were outside the index and whether it optimised the table
   * (compaction and index update of the words table alone; 14 s at 100k videos).
   */
  async refreshWordsIndex(
    maxUnindexed: number = DEFAULT_MAX_UNINDEXED_WORDS,
  ): Promise<{ unindexed: number; optimized: boolean }> {
    return this.#serialized(async () => {
      const table = await this.#openTable(WORDS_TABLE);
      if (table === null) return { unindexed: 0, optimized: false };
      await table.checkoutLatest().catch(() => {});
      const stats = await table.indexStats(WORDS_FTS_INDEX).catch(() => undefined);
      const unindexed = stats?.numUnindexedRows ?? 0;
      if (unindexed <= maxUnindexed) return { unindexed, optimized: false };
      await this.#retryWrite(`optimize ${WORDS_TABLE}`, () =>
        table.optimize({ cleanupOlderThan: new Date(Date.now() - 10 * 60_000) }),
      );
      return { unindexed, optimized: true };
    });
  }

  async #optimize(options: { pruneOlderThanMs?: number }): Promise<TableUpkeep[]> {
    const olderThan = new Date(Date.now() - (options.pruneOlderThanMs ?? 10 * 60_000));
    const reports: TableUpkeep[] = [];
    for (const table of await this.#allTables()) {
      try {
        const indexesCreated = await this.#ensureIndexes(table);
        const stats = await this.#retryWrite(`optimize ${tableName(table)}`, () =>
          table.optimize({ cleanupOlderThan: olderThan }),
        );
        reports.push({
          table: tableName(table),
          rows: await table.countRows(),
          fragmentsRemoved: stats.compaction.fragmentsRemoved,
          fragmentsAdded: stats.compaction.fragmentsAdded,
          versionsPruned: stats.prune.oldVersionsRemoved,
          bytesPruned: stats.prune.bytesRemoved,
          indexesCreated,
        });
      } catch (error) {
        if (error instanceof ReelError) throw error;
        throw storeFailed(`optimize ${tableName(table)}`, error);
      }
    }
    return reports;
  }

  /** Every table this store keeps: videos, words, then each model's. */
  async #allTables(): Promise<lancedb.Table[]> {
    const videos = await this.#openTable(VIDEOS_TABLE);
    const words = await this.#openTable(WORDS_TABLE);
    const cues = await this.#openTable(CUES_TABLE);
    return [
      ...(videos === null ? [] : [videos]),
      ...(words === null ? [] : [words]),
      ...(cues === null ? [] : [cues]),
      ...(await this.#embeddingTables()),
    ];
  }

  /** Builds the indexes a table lacks; returns their names (the FTS index by its name). */
  async #ensureIndexes(table: lancedb.Table): Promise<string[]> {
    const rows = await table.countRows();
    if (rows === 0) return [];
    const indices = await table.listIndices();
    const existing = new Set(indices.flatMap((i) => i.columns));
    const created: string[] = [];
    const name = tableName(table);
    const scalar: [string, lancedb.Index][] =
      name === VIDEOS_TABLE
        ? [
            ['key', lancedb.Index.btree()],
            ['tenant', lancedb.Index.bitmap()],
            ['status', lancedb.Index.bitmap()],
            ['created_at', lancedb.Index.btree()],
            ['tags', lancedb.Index.labelList()],
          ]
        : name === WORDS_TABLE || name === CUES_TABLE
          ? [
              ['key', lancedb.Index.btree()],
              ['video', lancedb.Index.btree()],
              ['tenant', lancedb.Index.bitmap()],
            ]
          : [
              ['key', lancedb.Index.btree()],
              ['tenant', lancedb.Index.bitmap()],
              ['created_at', lancedb.Index.btree()],
              ['duration', lancedb.Index.btree()],
              ['tags', lancedb.Index.labelList()],
            ];
    for (const [column, config] of scalar) {
      if (existing.has(column)) continue;
      await this.#retryWrite(`index ${name}.${column}`, () => table.createIndex(column, { config }));
      created.push(column);
    }
    if (name === WORDS_TABLE && !existing.has('terms')) {
      await this.#retryWrite(`FTS index of ${name}`, () =>
        table.createIndex('terms', { config: wordsFtsIndex(), name: WORDS_FTS_INDEX }),
      );
      created.push(WORDS_FTS_INDEX);
    }
    if (tableName(table).startsWith(EMB_PREFIX) && rows >= this.annThreshold) {
      const vector = indices.find((i) => i.columns.includes('mean'));
      if (vector === undefined || annIndexDue(this.ann, vector.name, rows)) {
        const name = await this.#buildVectorIndex(table, this.ann, rows);
        created.push(vector === undefined ? name : `${name} (replaces ${vector.name})`);
      }
    }
    return created;
  }

  /**
   * Trains a new vector index on `mean` under a name recording its type and rows, then drops the one it
   * replaces: searches keep using the old index while the new one builds (minutes at 1M rows).
   */
  async #buildVectorIndex(table: lancedb.Table, config: AnnIndexConfig, rows: number): Promise<string> {
    const name = annIndexName(annIndexType(config, rows), rows);
    const old = (await table.listIndices()).filter((i) => i.columns.includes('mean') && i.name !== name);
    await this.#retryWrite(`vector index on ${tableName(table)}`, () =>
      table.createIndex('mean', {
        config: annIndexFor(config, rows, this.#embInfo.get(tableName(table))?.dim),
        name,
        replace: true,
      }),
    );
    for (const index of old)
      await this.#retryWrite(`drop index ${index.name} of ${tableName(table)}`, () =>
        table.dropIndex(index.name),
      );
    return name;
  }

  /**
   * Builds (or replaces) a model's ANN index now, whatever the row count, with `config` (this store's
   * settings by default). Returns the seconds it took.
   */
  async rebuildVectorIndex(fingerprint: string, config: AnnIndexConfig = this.ann): Promise<number> {
    return this.#serialized(() => this.#rebuildVectorIndex(fingerprint, config));
  }

  async #rebuildVectorIndex(fingerprint: string, config: AnnIndexConfig): Promise<number> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return 0;
    const rows = await table.countRows();
    const started = performance.now();
    await this.#buildVectorIndex(table, { ...this.ann, ...config }, rows);
    return (performance.now() - started) / 1000;
  }

  /** Rows and live bytes (data and indexes of the current version) of every table. */
  async storageStats(): Promise<{ table: string; rows: number; bytes: number; indexes: number }[]> {
    const out: { table: string; rows: number; bytes: number; indexes: number }[] = [];
    for (const table of await this.#allTables()) {
      try {
        const stats = await table.stats();
        out.push({
          table: tableName(table),
          rows: stats.numRows,
          bytes: stats.totalBytes,
          indexes: stats.numIndices,
        });
      } catch (error) {
        throw storeFailed(`stats of ${tableName(table)}`, error);
      }
    }
    return out;
  }

  /**
   * Every video of every tenant with one of these statuses (for reindexing: sweeps and backfills scan
   * across tenants). Reads in pages so memory stays bounded by the page, not the table.
   */
  /**
   * Every video with one of `statuses`, as batches of summaries (the columns deciding needs, not
   * tags, sources or hashes), streamed from LanceDB: memory holds one batch, whatever the catalogue's
   * size. Order is the table's, not sorted (a sort would hold every row).
   */
  async *scanVideos(
    statuses: readonly VideoStatus[],
    options: { batchSize?: number } = {},
  ): AsyncGenerator<VideoSummary[]> {
    const table = await this.#openTable(VIDEOS_TABLE);
    if (table === null || statuses.length === 0) return;
    const batchSize = options.batchSize ?? 10_000;
    const where = `status IN (${statuses.map((status) => sqlString(status)).join(', ')})`;
    let pending: VideoSummary[] = [];
    try {
      const query = table
        .query()
        .where(where)
        .select([...SUMMARY_COLUMNS]);
      for await (const batch of query as AsyncIterable<RecordBatch>) {
        for (const row of rowsOf(batch, SUMMARY_COLUMNS)) {
          pending.push(toVideoSummary(row));
          if (pending.length >= batchSize) {
            yield pending;
            pending = [];
          }
        }
      }
    } catch (error) {
      if (error instanceof ReelError) throw error;
      throw storeFailed('scan videos', error);
    }
    if (pending.length > 0) yield pending;
  }

  /** The records of those of `ids` the tenant has, by id: one keyed query per 500 ids. */
  async getVideos(tenant: string, ids: readonly string[]): Promise<Map<string, VideoRecord>> {
    checkId(tenant, 'tenant');
    for (const id of ids) checkId(id, 'video id');
    const found = new Map<string, VideoRecord>();
    const table = await this.#openTable(VIDEOS_TABLE);
    if (table === null || ids.length === 0) return found;
    const keys = [...new Set(ids)].map((id) => videoKey(tenant, id));
    for (const row of await this.#byKeys(table, keys, VIDEO_COLUMNS)) {
      const record = toVideoRecord(row);
      found.set(record.id, record);
    }
    return found;
  }

  /**
   * Which of `videos` have embeddings of model `fingerprint`, as their video keys (see videoKey): one
   * keyed query per 500 videos reading the key column only.
   */
  async embeddedVideos(
    fingerprint: string,
    videos: readonly { tenant: string; id: string }[],
  ): Promise<Set<string>> {
    const found = new Set<string>();
    const table = await this.#embeddings(fingerprint);
    if (table === null || videos.length === 0) return found;
    // The same key names a video's record and its embeddings under every model.
    const keys = [...new Set(videos.map((v) => videoKey(v.tenant, v.id)))];
    for (const row of await this.#byKeys(table, keys, ['key'])) found.add(row.key as string);
    return found;
  }

  /** Drops a model's embeddings table (after searches moved to another model). */
  async dropModel(fingerprint: string): Promise<boolean> {
    return this.#serialized(() => this.#dropModel(fingerprint));
  }

  async #dropModel(fingerprint: string): Promise<boolean> {
    const name = embeddingsTableName(fingerprint);
    if (!(await this.#db.tableNames()).includes(name)) return false;
    for (const cache of [this.#tables, this.#pinned]) {
      cache.get(name)?.close();
      cache.delete(name);
    }
    await this.#db.dropTable(name);
    this.#embInfo.delete(name);
    return true;
  }

  /** The type of a model's ANN index (LanceDB's name for it, e.g. `IvfFlat`), or null without one. */
  async vectorIndex(fingerprint: string): Promise<string | null> {
    const table = await this.#embeddings(fingerprint);
    if (table === null) return null;
    const index = (await table.listIndices()).find((i) => i.columns.includes('mean'));
    return index?.indexType ?? null;
  }
}
