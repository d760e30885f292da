/**
 * Fixtures for the index and search tests: seeded videos whose frames fall into scenes (so a query
 * about one scene has a moment to find), video records, a text embedder that returns registered
 * vectors and counts its calls, and an in-memory SearchStore that searches exactly.
 */
import { encodeFrames } from '../../src/frame-codec.ts';
import { filtersToSql, type VideoFilters } from '../../src/search/filter-sql.ts';
import type { TextEmbedder } from '../../src/search/query-cache.ts';
import type { RescoreEntry } from '../../src/search/rescore-cache.ts';
import type {
  CandidateRequest,
  ResultDetails,
  SearchStore,
  StageOneCandidate,
} from '../../src/search/search-store.ts';
import { buildVideoEmbeddings } from '../../src/video-embeddings.ts';
import { type VideoEmbeddings, type VideoRecord, VideoStatus, videoKey } from '../../src/video-record.ts';
import { type Rng, randomVector, rng } from './pooling-fixtures.ts';

export { rng };

/**
 * F frames in `scenes` consecutive runs; frames of a scene share a direction. Raw CLIP-scale norms.
 * Returns the frames and the scene directions.
 */
export function sceneFrames(
  r: Rng,
  F: number,
  D: number,
  scenes = 3,
): { frames: Float32Array; sceneOf: number[]; directions: Float32Array[] } {
  const base = randomVector(r, D, 0.3);
  const directions = Array.from({ length: scenes }, () => randomVector(r, D, 1));
  const frames = new Float32Array(F * D);
  const sceneOf: number[] = [];
  for (let f = 0; f < F; f++) {
    const s = Math.min(scenes - 1, Math.floor((f * scenes) / F));
    sceneOf.push(s);
    for (let d = 0; d < D; d++) frames[f * D + d] = base[d]! + directions[s]![d]! + 0.15 * r.normal();
  }
  return { frames, sceneOf, directions };
}

/** A text vector close to one scene direction. */
export function textNear(r: Rng, direction: Float32Array, noise = 0.3): Float32Array {
  const out = new Float32Array(direction.length);
  for (let d = 0; d < out.length; d++) out[d] = direction[d]! + noise * r.normal();
  return out;
}

/** Uniform X-Pool sampling times: the middle of each of F equal intervals. */
export function uniformTimes(F: number, duration: number): number[] {
  return Array.from({ length: F }, (_, f) => ((f + 0.5) * duration) / F);
}

export function makeRecord(tenant: string, id: string, overrides: Partial<VideoRecord> = {}): VideoRecord {
  return {
    tenant,
    id,
    title: `Video ${id}`,
    tags: [],
    createdAt: new Date('2024-01-01T00:00:00Z'),
    ingestedAt: null,
    durationSeconds: 60,
    source: `${id}.mp4`,
    sha256: 'a'.repeat(64),
    fingerprint: null,
    status: VideoStatus.indexed,
    error: null,
    ...overrides,
  };
}

/** Embeddings of a scene video, with thumbnails `<id>/<frame>.jpg`. */
export function makeEmbeddings(
  tenant: string,
  id: string,
  fingerprint: string,
  frames: Float32Array,
  F: number,
  D: number,
  duration = 60,
): VideoEmbeddings {
  return buildVideoEmbeddings({
    tenant,
    videoId: id,
    fingerprint,
    frames,
    frameCount: F,
    dim: D,
    timestamps: uniformTimes(F, duration),
    thumbnails: Array.from({ length: F }, (_, f) => `${id}/${f}.jpg`),
  });
}

/** A text embedder returning registered vectors (random ones for unknown texts); counts calls. */
export class FakeEmbedder implements TextEmbedder {
  readonly fingerprint: string;
  readonly dim: number;
  calls = 0;
  readonly #vectors = new Map<string, Float32Array>();
  readonly #r: Rng;

  constructor(fingerprint: string, dim: number, seed = 99) {
    this.fingerprint = fingerprint;
    this.dim = dim;
    this.#r = rng(seed);
  }

  register(text: string, vector: Float32Array): void {
    this.#vectors.set(text, vector);
  }

  async encodeTexts(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls++;
    await new Promise((resolve) => setTimeout(resolve, 1));
    return texts.map((t) => {
      let v = this.#vectors.get(t);
      if (v === undefined) {
        v = randomVector(this.#r, this.dim, 1);
        this.#vectors.set(t, v);
      }
      return v;
    });
  }
}

interface MemoryRow {
  record: VideoRecord;
  embeddings: VideoEmbeddings;
  revision: number;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

function passes(record: VideoRecord, tenant: string, filters: VideoFilters): boolean {
  if (record.tenant !== tenant) return false;
  if (filters.tags?.some((t) => !record.tags.includes(t))) return false;
  const t = record.createdAt.getTime();
  if (filters.createdAt?.from !== undefined && t < filters.createdAt.from.getTime()) return false;
  if (filters.createdAt?.to !== undefined && t >= filters.createdAt.to.getTime()) return false;
  const d = record.durationSeconds;
  const range = filters.durationSeconds;
  if (range?.min !== undefined && (d === null || d < range.min)) return false;
  if (range?.max !== undefined && (d === null || d > range.max)) return false;
  return true;
}

/** Exact in-memory SearchStore (one model per fingerprint); counts calls per method. */
export class MemoryStore implements SearchStore {
  readonly rows = new Map<string, Map<string, MemoryRow>>();
  readonly calls = {
    candidates: 0,
    candidatesByKeys: 0,
    rescoreEntries: 0,
    rescoreRows: 0,
    resultDetails: 0,
  };
  version = 1;
  /** When set, stage 1 returns this tenant's rows too (a faulty store), to test the service's guard. */
  leakTenant: string | null = null;

  put(record: VideoRecord, embeddings: VideoEmbeddings): void {
    let model = this.rows.get(embeddings.fingerprint);
    if (model === undefined) {
      model = new Map();
      this.rows.set(embeddings.fingerprint, model);
    }
    model.set(videoKey(record.tenant, record.id), { record, embeddings, revision: this.version++ });
  }

  delete(tenant: string, id: string): void {
    for (const model of this.rows.values()) model.delete(videoKey(tenant, id));
    this.version++;
  }

  async modelTable(fingerprint: string): Promise<{ dim: number; version: number } | null> {
    const model = this.rows.get(fingerprint);
    const first = model?.values().next().value;
    return first === undefined ? null : { dim: first.embeddings.dim, version: this.version };
  }

  async candidates(
    fingerprint: string,
    vector: Float32Array,
    request: CandidateRequest,
  ): Promise<{ snapshot: number; candidates: StageOneCandidate[] }> {
    this.calls.candidates++;
    filtersToSql(request.tenant, request.filters); // validates like the real store
    const model = this.rows.get(fingerprint) ?? new Map<string, MemoryRow>();
    const scored = [...model.entries()]
      .filter(
        ([, row]) =>
          passes(row.record, request.tenant, request.filters) ||
          (this.leakTenant !== null && row.record.tenant === this.leakTenant),
      )
      .map(([key, row], i) => ({
        key,
        rowId: i,
        revision: row.revision,
        distance: 1 - cosine(vector, row.embeddings.mean),
      }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, request.limit);
    return { snapshot: this.version, candidates: scored };
  }

  async candidatesByKeys(
    fingerprint: string,
    vector: Float32Array,
    keys: readonly string[],
    request: Omit<CandidateRequest, 'limit' | 'exact'>,
  ): Promise<StageOneCandidate[]> {
    this.calls.candidatesByKeys++;
    filtersToSql(request.tenant, request.filters);
    const model = this.rows.get(fingerprint) ?? new Map<string, MemoryRow>();
    const out: StageOneCandidate[] = [];
    for (const key of new Set(keys)) {
      const row = model.get(key);
      if (row === undefined || !passes(row.record, request.tenant, request.filters)) continue;
      out.push({ key, rowId: 0, revision: row.revision, distance: 1 - cosine(vector, row.embeddings.mean) });
    }
    return out.sort((a, b) => a.distance - b.distance);
  }

  async rescoreEntries(fingerprint: string, rows: readonly StageOneCandidate[]): Promise<RescoreEntry[]> {
    this.calls.rescoreEntries++;
    this.calls.rescoreRows += rows.length;
    const model = this.rows.get(fingerprint);
    const out: RescoreEntry[] = [];
    for (const c of rows) {
      const row = model?.get(c.key);
      if (row === undefined) continue;
      const e = row.embeddings;
      out.push({
        key: c.key,
        revision: row.revision,
        frameCount: e.frameCount,
        dim: e.dim,
        frames: e.frames.data as Int8Array,
        scales: e.frames.scales,
        norms: e.frames.norms,
        means: e.frames.means,
        variances: e.frames.variances,
        gram: e.gram,
        timestamps: e.timestamps,
        xpool: e.xpoolCache ?? null,
      });
    }
    return out;
  }

  async rescoreEntryByKey(fingerprint: string, key: string): Promise<RescoreEntry | null> {
    const row = this.rows.get(fingerprint)?.get(key);
    if (row === undefined) return null;
    const [entry] = await this.rescoreEntries(fingerprint, [
      { key, rowId: 0, revision: row.revision, distance: 0 },
    ]);
    return entry ?? null;
  }

  async resultDetails(
    fingerprint: string,
    rows: readonly StageOneCandidate[],
  ): Promise<Map<string, ResultDetails>> {
    this.calls.resultDetails++;
    const model = this.rows.get(fingerprint);
    const out = new Map<string, ResultDetails>();
    for (const c of rows) {
      const row = model?.get(c.key);
      if (row === undefined) continue;
      out.set(c.key, {
        videoId: row.record.id,
        title: row.record.title,
        tags: row.record.tags,
        createdAt: row.record.createdAt,
        durationSeconds: row.record.durationSeconds,
        thumbnails: row.embeddings.thumbnails,
      });
    }
    return out;
  }
}

/** Int8-encodes frames and reports the largest per-value error relative to each frame's max. */
export function int8RelativeError(frames: Float32Array, F: number, D: number): number {
  const encoded = encodeFrames(frames, F, D);
  let worst = 0;
  for (let f = 0; f < F; f++) {
    const scale = encoded.scales[f]!;
    for (let d = 0; d < D; d++) {
      const error = Math.abs(frames[f * D + d]! - scale * (encoded.data as Int8Array)[f * D + d]!);
      worst = Math.max(worst, scale > 0 ? error / (127 * scale) : 0);
    }
  }
  return worst;
}
