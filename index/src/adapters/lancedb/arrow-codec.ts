/**
 * The Arrow side of the LanceDB store: the tables' schemas, column builders that write one Arrow `Data`
 * per column (no per-value objects), and the readers that turn LanceDB's rows back into our types. The
 * store facade (../lancedb-store.ts) decides what to read and write; this file only says how it looks.
 */
import { createHash } from 'node:crypto';
import { ReelError } from '@reel/infra';
import {
  Table as ArrowTable,
  Binary,
  type Data,
  type DataType,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Uint32,
  Utf8,
} from 'apache-arrow';
import { IndexErrorCode } from '../../errors.ts';
import {
  type CompactFrames,
  codecBytesPerValue,
  FrameCodec,
  frameDataFromBytes,
  toInt8Frames,
} from '../../frame-codec.ts';
import type { VideoSummary } from '../../index-store.ts';
import type { RescoreEntry } from '../../search/rescore-cache.ts';
import type { VideoRecord, VideoStatus } from '../../video-record.ts';

export const VIDEOS_TABLE = 'videos';
export const EMB_PREFIX = 'emb_';
const PK_METADATA = new Map([['lance-schema:unenforced-primary-key', 'true']]);
const SCHEMA_VERSION = '1';

const utf8List = () => new List(new Field('item', new Utf8(), true));
const float32List = () => new List(new Field('item', new Float32(), true));

export function videosSchema(): Schema {
  return new Schema(
    [
      new Field('key', new Utf8(), false, PK_METADATA),
      new Field('tenant', new Utf8(), false),
      new Field('id', new Utf8(), false),
      new Field('title', new Utf8(), false),
      new Field('tags', utf8List(), false),
      new Field('created_at', new Float64(), false),
      new Field('ingested_at', new Float64(), true),
      new Field('duration', new Float64(), true),
      new Field('source', new Utf8(), true),
      new Field('sha256', new Utf8(), false),
      new Field('fingerprint', new Utf8(), true),
      new Field('status', new Utf8(), false),
      new Field('error_code', new Utf8(), true),
      new Field('error_message', new Utf8(), true),
      new Field('updated_at', new Float64(), false),
      // 1 when the failure may pass, 0 when not (an Int32: apache-arrow writes an all-null Bool column
      // without its values buffer, which LanceDB refuses). Added after the first tables were written:
      // an older table gets it (null) when opened.
      new Field('error_retryable', new Int32(), true),
      // The name the video came with (upload name, path or URL's last part); null in older rows.
      new Field('file_name', new Utf8(), true),
    ],
    new Map([
      ['reel:table', 'videos'],
      ['reel:schema-version', SCHEMA_VERSION],
    ]),
  );
}

export function embeddingsSchema(fingerprint: string, dim: number): Schema {
  return new Schema(
    [
      new Field('key', new Utf8(), false, PK_METADATA),
      new Field('tenant', new Utf8(), false),
      new Field('video_id', new Utf8(), false),
      new Field('fingerprint', new Utf8(), false),
      new Field('tags', utf8List(), false),
      new Field('created_at', new Float64(), false),
      new Field('duration', new Float64(), true),
      new Field('revision', new Float64(), false),
      new Field('frame_count', new Int32(), false),
      new Field('timestamps', float32List(), false),
      new Field('thumbnails', utf8List(), false),
      new Field('mean', new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
      new Field('frame_codec', new Utf8(), false),
      new Field('frames', new Binary(), false),
      new Field('frame_scales', float32List(), false),
      new Field('frame_norms', float32List(), false),
      new Field('frame_means', float32List(), false),
      new Field('frame_vars', float32List(), false),
      new Field('gram', float32List(), false),
      new Field('xpool_head', new Uint32(), true),
      new Field('xpool', float32List(), true),
    ],
    new Map([
      ['reel:table', 'embeddings'],
      ['reel:schema-version', SCHEMA_VERSION],
      ['reel:fingerprint', fingerprint],
      ['reel:dim', String(dim)],
    ]),
  );
}

/** The table holding a model's embeddings. */
export function embeddingsTableName(fingerprint: string): string {
  return `${EMB_PREFIX}${createHash('sha256').update(fingerprint).digest('hex').slice(0, 32)}`;
}

// ---------- Arrow column builders (one Data per column, no per-value objects) ----------

function validity(values: readonly unknown[]): { nullBitmap?: Uint8Array; nullCount: number } {
  let nullCount = 0;
  for (const v of values) if (v === null || v === undefined) nullCount++;
  if (nullCount === 0) return { nullCount: 0 };
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null && v !== undefined) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

const textEncoder = new TextEncoder();

export function utf8Data(values: readonly (string | null)[]): Data<Utf8> {
  const encoded = values.map((v) => (v === null ? new Uint8Array(0) : textEncoder.encode(v)));
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  encoded.forEach((bytes, i) => {
    total += bytes.length;
    offsets[i + 1] = total;
  });
  const data = new Uint8Array(total);
  encoded.forEach((bytes, i) => {
    data.set(bytes, offsets[i]!);
  });
  return makeData({
    type: new Utf8(),
    length: values.length,
    valueOffsets: offsets,
    data,
    ...validity(values),
  });
}

export function utf8ListData(values: readonly (readonly (string | null)[])[]): Data {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((list, i) => {
    offsets[i + 1] = offsets[i]! + list.length;
  });
  const child = utf8Data(values.flat());
  return makeData({ type: utf8List(), length: values.length, valueOffsets: offsets, child, nullCount: 0 });
}

/** Booleans as a nullable Int32 column: 1, 0 or null. */
export function flagData(values: readonly (boolean | null)[]): Data {
  const data = Int32Array.from(values, (v) => (v === true ? 1 : 0));
  return makeData({ type: new Int32(), length: values.length, data, ...validity(values) });
}

export function float64Data(values: readonly (number | null)[]): Data {
  const data = new Float64Array(values.length);
  values.forEach((v, i) => {
    data[i] = v ?? 0;
  });
  return makeData({ type: new Float64(), length: values.length, data, ...validity(values) });
}

export function int32Data(values: readonly number[]): Data {
  return makeData({ type: new Int32(), length: values.length, data: Int32Array.from(values), nullCount: 0 });
}

export function uint32Data(values: readonly (number | null)[]): Data {
  const data = new Uint32Array(values.length);
  values.forEach((v, i) => {
    data[i] = v ?? 0;
  });
  return makeData({ type: new Uint32(), length: values.length, data, ...validity(values) });
}

export function float32ListData(values: readonly (ArrayLike<number> | null)[]): Data {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((list, i) => {
    offsets[i + 1] = offsets[i]! + (list?.length ?? 0);
  });
  const flat = new Float32Array(offsets[values.length]!);
  values.forEach((list, i) => {
    if (list !== null) flat.set(list, offsets[i]!);
  });
  const child: Data<Float32> = makeData({
    type: new Float32(),
    length: flat.length,
    data: flat,
    nullCount: 0,
  });
  return makeData({
    type: float32List(),
    length: values.length,
    valueOffsets: offsets,
    child,
    ...validity(values),
  });
}

export function binaryData(values: readonly Uint8Array[]): Data {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((bytes, i) => {
    offsets[i + 1] = offsets[i]! + bytes.length;
  });
  const data = new Uint8Array(offsets[values.length]!);
  values.forEach((bytes, i) => {
    data.set(bytes, offsets[i]!);
  });
  return makeData({ type: new Binary(), length: values.length, valueOffsets: offsets, data, nullCount: 0 });
}

export function vectorData(values: readonly Float32Array[], dim: number, type: DataType): Data {
  const flat = new Float32Array(values.length * dim);
  values.forEach((v, i) => {
    flat.set(v, i * dim);
  });
  const child = makeData({ type: new Float32(), length: flat.length, data: flat, nullCount: 0 });
  return makeData({ type: type as FixedSizeList<Float32>, length: values.length, child, nullCount: 0 });
}

/** One record batch of `schema` (without its metadata: the table keeps that) from column data. */
export function arrowTable(schema: Schema, columns: Record<string, Data>, length: number): ArrowTable {
  const plain = new Schema(schema.fields.map((f) => new Field(f.name, f.type, f.nullable)));
  const children = plain.fields.map((f) => {
    const column = columns[f.name];
    if (column === undefined) throw new Error(`internal: column ${f.name} missing`);
    return column;
  });
  const struct = makeData({ type: new Struct(plain.fields), length, nullCount: 0, children });
  return new ArrowTable(plain, [new RecordBatch(plain, struct)]);
}

// ---------- reading Arrow back ----------

export type Row = Record<string, unknown>;

export interface ArrowVectorLike {
  get(i: number): unknown;
}

/**
 * Rows of a table or record batch as plain objects. LanceDB hands back Arrow objects of its own
 * (CommonJS) copy of apache-arrow, so only their methods are used here, never our classes' instanceof.
 */
export function rowsOf(
  table: { numRows: number; getChild(name: string): unknown },
  columns: readonly string[],
): Row[] {
  const vectors = columns.map((c) => [c, table.getChild(c) as ArrowVectorLike | null] as const);
  const rows: Row[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Row = {};
    for (const [name, vector] of vectors) row[name] = vector?.get(i) ?? null;
    rows.push(row);
  }
  return rows;
}

export function stringList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  return Array.from(value as Iterable<string | null>).map((v) => v ?? '');
}

export function nullableStringList(value: unknown): (string | null)[] {
  if (value === null || value === undefined) return [];
  return Array.from(value as Iterable<string | null>, (v) => v ?? null);
}

export function float32s(value: unknown): Float32Array {
  if (value === null || value === undefined) return new Float32Array(0);
  const array = (value as { toArray(): unknown }).toArray();
  return array instanceof Float32Array ? array : Float32Array.from(array as ArrayLike<number>);
}

export function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}

/** Rescoring columns read for stage 2. */
export const RESCORE_COLUMNS = [
  'key',
  'revision',
  'frame_count',
  'timestamps',
  'frame_codec',
  'frames',
  'frame_scales',
  'frame_norms',
  'frame_means',
  'frame_vars',
  'gram',
  'xpool_head',
  'xpool',
] as const;

export const VIDEO_COLUMNS = [
  'key',
  'tenant',
  'id',
  'title',
  'tags',
  'created_at',
  'ingested_at',
  'duration',
  'source',
  'sha256',
  'fingerprint',
  'status',
  'error_code',
  'error_message',
  'error_retryable',
  'file_name',
] as const;

/** What a scan reads of a video: enough to decide on it, none of the heavy columns. */
export const SUMMARY_COLUMNS = [
  'tenant',
  'id',
  'title',
  'status',
  'error_code',
  'error_message',
  'error_retryable',
] as const;

export function sameFilterFields(
  old: Row,
  tags: readonly string[],
  createdAt: number,
  duration: number | null,
): boolean {
  const oldTags = stringList(old.tags);
  return (
    oldTags.length === tags.length &&
    oldTags.every((t, i) => t === tags[i]) &&
    Number(old.created_at) === createdAt &&
    numberOrNull(old.duration) === duration
  );
}

function videoErrorOf(row: Row): VideoRecord['error'] {
  if (row.error_code === null || row.error_code === undefined) return null;
  return {
    code: row.error_code as string,
    message: (row.error_message as string | null) ?? '',
    ...(row.error_retryable === null || row.error_retryable === undefined
      ? {}
      : { retryable: Number(row.error_retryable) === 1 }),
  };
}

export function toVideoSummary(row: Row): VideoSummary {
  return {
    tenant: row.tenant as string,
    id: row.id as string,
    title: row.title as string,
    status: row.status as VideoStatus,
    error: videoErrorOf(row),
  };
}

export function toVideoRecord(row: Row): VideoRecord {
  return {
    tenant: row.tenant as string,
    id: row.id as string,
    title: row.title as string,
    tags: stringList(row.tags),
    createdAt: new Date(Number(row.created_at)),
    ingestedAt: dateOrNull(row.ingested_at),
    durationSeconds: numberOrNull(row.duration),
    source: (row.source as string | null) ?? null,
    sha256: row.sha256 as string,
    fingerprint: (row.fingerprint as string | null) ?? null,
    status: row.status as VideoStatus,
    error: videoErrorOf(row),
    ...(typeof row.file_name === 'string' ? { fileName: row.file_name } : {}),
  };
}

export function compactFramesOf(row: Row, dim: number): CompactFrames {
  const frameCount = Number(row.frame_count);
  const codec = row.frame_codec as FrameCodec;
  if (codec !== FrameCodec.int8 && codec !== FrameCodec.fp16)
    throw new ReelError(
      IndexErrorCode.INDEX_SCHEMA_MISMATCH,
      `row ${String(row.key)}: unknown frame codec ${String(codec)}`,
    );
  const bytes = row.frames as Uint8Array;
  const expected = frameCount * dim * codecBytesPerValue(codec);
  if (bytes.byteLength !== expected)
    throw new ReelError(
      IndexErrorCode.INDEX_SCHEMA_MISMATCH,
      `row ${String(row.key)}: expected ${expected} bytes of ${codec} frames, got ${bytes.byteLength}`,
    );
  return {
    codec,
    frameCount,
    dim,
    data: frameDataFromBytes(codec, bytes.slice(), frameCount, dim),
    scales: Float32Array.from(float32s(row.frame_scales)),
    norms: Float32Array.from(float32s(row.frame_norms)),
    means: Float32Array.from(float32s(row.frame_means)),
    variances: Float32Array.from(float32s(row.frame_vars)),
  };
}

export function rescoreEntryOf(row: Row, dim: number): RescoreEntry {
  const frameCount = Number(row.frame_count);
  const codec = row.frame_codec as FrameCodec;
  let frames: Int8Array;
  let scales: Float32Array;
  if (codec === FrameCodec.int8) {
    const bytes = row.frames as Uint8Array;
    if (bytes.byteLength !== frameCount * dim)
      throw new ReelError(
        IndexErrorCode.INDEX_SCHEMA_MISMATCH,
        `row ${String(row.key)}: expected ${frameCount * dim} bytes of int8 frames, got ${bytes.byteLength}`,
      );
    // a view: the rescore cache copies it into its slab
    frames = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    scales = float32s(row.frame_scales);
  } else ({ data: frames, scales } = toInt8Frames(compactFramesOf(row, dim)));
  const xpool =
    row.xpool === null || row.xpool_head === null || row.xpool === undefined
      ? null
      : { headChecksum: Number(row.xpool_head), frameCount, data: float32s(row.xpool) };
  return {
    key: row.key as string,
    revision: Number(row.revision),
    frameCount,
    dim,
    frames,
    scales,
    norms: float32s(row.frame_norms),
    means: float32s(row.frame_means),
    variances: float32s(row.frame_vars),
    gram: float32s(row.gram),
    timestamps: float32s(row.timestamps),
    xpool,
  };
}
