/**
 * What the second stage rescores from, kept in memory: per video its int8 frames with per-frame
 * statistics, the F×F Gram of its normalised frames, its frame times and (with an X-Pool head) its
 * compact X-Pool terms. Reading 1000 random videos' frames from LanceDB takes ~80 ms, over the whole
 * latency budget, so the search reads through this cache: a candidate whose key and revision are here
 * is scored in place, the others are fetched once and kept.
 *
 * Storage is a few large typed arrays ("slabs", allocated in chunks of `chunkSlots` videos as the cache
 * fills) indexed by slot, not one object per video: a million videos would otherwise mean millions of
 * small ArrayBuffers. At F = 12, D = 512 a slot takes ≈ 8.6 KB (≈ 6.6 KB without X-Pool terms).
 * Eviction is a clock (second chance); slots used by the batch being scored are never evicted.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import {
  attentionFromCosines,
  maxFromCosines,
  meanFromCosines,
  topKFromCosines,
} from '../pooling/pooling-kernels.ts';
import { scoreXPoolFromProducts, type XPoolCompactQuery } from '../xpool/xpool-score.ts';
import { type XPoolCompactCache, xpoolCompactLength } from '../xpool/xpool-terms.ts';
import { dot2Int8, dot2Int8x4, dotInt8 } from './rescore-kernels.ts';

/** One video's rescoring data, as the store reads it. */
export interface RescoreEntry {
  /** The store's row key (tenant and video id). */
  key: string;
  /** Changes whenever the stored embeddings change; a cached entry of another revision is stale. */
  revision: number;
  frameCount: number;
  dim: number;
  /** F×D int8 frame values. */
  frames: Int8Array;
  /** F dequantisation scales, F L2 norms, F means, F variances of the original frames. */
  scales: ArrayLike<number>;
  norms: ArrayLike<number>;
  means: ArrayLike<number>;
  variances: ArrayLike<number>;
  /** F×F Gram of the L2-normalised frames. */
  gram: ArrayLike<number>;
  /** F frame times, seconds. */
  timestamps: ArrayLike<number>;
  xpool: XPoolCompactCache | null;
}

/** The poolings the second stage can rescore with. */
export const Pooling = {
  mean: 'mean',
  attention: 'attention',
  topk: 'topk',
  max: 'max',
  xpool: 'xpool',
} as const;
export type Pooling = (typeof Pooling)[keyof typeof Pooling];
export const POOLINGS: readonly Pooling[] = Object.values(Pooling);

/** A query prepared once for scoring many slots. */
export type PreparedQuery =
  | {
      pooling: 'mean' | 'attention' | 'topk' | 'max';
      /** D-vector text embedding. */
      text: Float32Array;
      textNorm: number;
      /** Attention temperature τ. */
      tau: number;
      /** Top-k's k. */
      k: number;
    }
  | { pooling: 'xpool'; text: Float32Array; textNorm: number; xpool: XPoolCompactQuery };

export interface RescoreCacheOptions {
  /** D of the model whose vectors it holds. */
  dim: number;
  /** Largest F a video may have (slot size). Default 16. */
  maxFrames?: number;
  /** Videos kept (memory ≈ capacity × slot size). */
  capacity: number;
  /** Slots per allocated chunk. Default 8192. */
  chunkSlots?: number;
  /** Whether slots have room for X-Pool terms (3·F² + 3·F floats). Default true. */
  withXPool?: boolean;
}

/** Per-frame statistics kept per slot: cosine factor scale/norm, scale, mean, variance. */
const STATS = 4;

interface Chunk {
  frames: Int8Array;
  stats: Float32Array;
  gram: Float32Array;
  times: Float32Array;
  xpool: Float32Array | null;
}

export class RescoreCache {
  readonly dim: number;
  readonly maxFrames: number;
  readonly capacity: number;
  readonly chunkSlots: number;
  readonly withXPool: boolean;
  readonly #slotOf = new Map<string, number>();
  readonly #chunks: Chunk[] = [];
  #keys: (string | undefined)[] = [];
  #revision: Float64Array;
  #frameCount: Uint8Array;
  #xpoolHead: Float64Array; // head checksum, NaN when none
  #referenced: Uint8Array;
  #epochOf: Uint32Array;
  #epoch = 1;
  #used = 0;
  #hand = 0;
  readonly #scratch: Float64Array;
  readonly #xpoolStride: number;

  constructor(options: RescoreCacheOptions) {
    const { dim, capacity } = options;
    const maxFrames = options.maxFrames ?? 16;
    if (!Number.isInteger(dim) || dim < 1)
      throw invalid(`rescore cache D: expected an integer ≥ 1, got ${dim}`);
    if (!Number.isInteger(maxFrames) || maxFrames < 1 || maxFrames > 255)
      throw invalid(`rescore cache maxFrames: expected an integer in [1, 255], got ${maxFrames}`);
    if (!Number.isInteger(capacity) || capacity < 1)
      throw invalid(`rescore cache capacity: expected an integer ≥ 1, got ${capacity}`);
    this.dim = dim;
    this.maxFrames = maxFrames;
    this.capacity = capacity;
    this.chunkSlots = Math.min(options.chunkSlots ?? 8192, capacity);
    this.withXPool = options.withXPool ?? true;
    this.#xpoolStride = xpoolCompactLength(maxFrames);
    this.#revision = new Float64Array(capacity);
    this.#frameCount = new Uint8Array(capacity);
    this.#xpoolHead = new Float64Array(capacity).fill(Number.NaN);
    this.#referenced = new Uint8Array(capacity);
    this.#epochOf = new Uint32Array(capacity);
    this.#scratch = new Float64Array(2 * maxFrames);
  }

  /** Videos held. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** Bytes of slab memory allocated so far. */
  get allocatedBytes(): number {
    let bytes = this.#revision.byteLength * 2 + this.capacity * 6;
    for (const c of this.#chunks)
      bytes +=
        c.frames.byteLength +
        c.stats.byteLength +
        c.gram.byteLength +
        c.times.byteLength +
        (c.xpool?.byteLength ?? 0);
    return bytes;
  }

  /** Bytes one slot takes once allocated. */
  get slotBytes(): number {
    const F = this.maxFrames;
    return F * this.dim + 4 * (F * STATS + F * F + F + (this.withXPool ? this.#xpoolStride : 0)) + 22;
  }

  /**
   * Starts a batch: slots looked up or inserted from now until the next call are not evicted (a search
   * calls it before resolving its candidates, so inserting misses never evicts a hit it will score).
   */
  beginBatch(): void {
    this.#epoch = (this.#epoch + 1) >>> 0 || 1;
  }

  /** The slot holding `key` at `revision` (any revision when omitted), or −1. */
  lookup(key: string, revision?: number): number {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return -1;
    if (revision !== undefined && this.#revision[slot] !== revision) return -1;
    this.#referenced[slot] = 1;
    this.#epochOf[slot] = this.#epoch;
    return slot;
  }

  /** Forgets `key` (its slot is reused). */
  delete(key: string): boolean {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return false;
    this.#slotOf.delete(key);
    this.#keys[slot] = undefined;
    this.#referenced[slot] = 0;
    return true;
  }

  clear(): void {
    this.#slotOf.clear();
    this.#keys = [];
    this.#used = 0;
    this.#hand = 0;
  }

  /**
   * Stores an entry (replacing the key's older revision) and returns its slot.
   *
   * @throws ReelError EMBEDDINGS_INVALID when its D differs or it has more than `maxFrames` frames.
   */
  insert(entry: RescoreEntry): number {
    const F = entry.frameCount;
    if (entry.dim !== this.dim)
      throw new ReelError(
        IndexErrorCode.EMBEDDING_DIM_MISMATCH,
        `rescore entry ${entry.key}: expected D = ${this.dim}, got ${entry.dim}`,
      );
    if (!Number.isInteger(F) || F < 1 || F > this.maxFrames)
      throw invalid(
        `rescore entry ${entry.key}: expected 1 to ${this.maxFrames} frames (raise the rescore cache's maxFrames), got ${F}`,
      );
    if (entry.frames.length !== F * this.dim || entry.gram.length !== F * F)
      throw invalid(
        `rescore entry ${entry.key}: expected ${F}×${this.dim} frame values and ${F}×${F} Gram values, got ${entry.frames.length} and ${entry.gram.length}`,
      );
    let slot = this.#slotOf.get(entry.key) ?? -1;
    if (slot < 0) {
      slot = this.#allocate();
      this.#slotOf.set(entry.key, slot);
      this.#keys[slot] = entry.key;
    }
    const chunk = this.#chunk(slot);
    const local = slot % this.chunkSlots;
    const D = this.dim;
    const Fm = this.maxFrames;
    chunk.frames.set(entry.frames, local * Fm * D);
    const s = local * Fm * STATS;
    for (let f = 0; f < F; f++) {
      const norm = entry.norms[f]!;
      chunk.stats[s + f * STATS] = norm > 0 ? entry.scales[f]! / norm : 0;
      chunk.stats[s + f * STATS + 1] = entry.scales[f]!;
      chunk.stats[s + f * STATS + 2] = entry.means[f]!;
      chunk.stats[s + f * STATS + 3] = entry.variances[f]!;
    }
    chunk.gram.set(entry.gram, local * Fm * Fm);
    chunk.times.set(entry.timestamps, local * Fm);
    this.#frameCount[slot] = F;
    this.#revision[slot] = entry.revision;
    this.#xpoolHead[slot] = Number.NaN;
    if (entry.xpool !== null) this.setXPool(slot, entry.xpool);
    this.#referenced[slot] = 1;
    this.#epochOf[slot] = this.#epoch;
    return slot;
  }

  /** Stores X-Pool terms for a slot (e.g. built on the fly for a head the index has no terms for). */
  setXPool(slot: number, cache: XPoolCompactCache): void {
    const chunk = this.#chunk(slot);
    if (chunk.xpool === null) return; // cache built without X-Pool room
    if (
      cache.frameCount !== this.#frameCount[slot] ||
      cache.data.length !== xpoolCompactLength(cache.frameCount)
    )
      throw invalid(
        `X-Pool terms for ${this.#keys[slot]}: expected ${this.#frameCount[slot]} frames, got ${cache.frameCount} frames and ${cache.data.length} values`,
      );
    chunk.xpool.set(cache.data, (slot % this.chunkSlots) * this.#xpoolStride);
    this.#xpoolHead[slot] = cache.headChecksum;
  }

  /** Whether the slot has X-Pool terms of the head with this checksum. */
  hasXPool(slot: number, headChecksum: number): boolean {
    return this.#xpoolHead[slot] === headChecksum;
  }

  key(slot: number): string {
    return this.#keys[slot] ?? '';
  }

  revision(slot: number): number {
    return this.#revision[slot]!;
  }

  frameCount(slot: number): number {
    return this.#frameCount[slot]!;
  }

  /** The slot's F frame times (a copy). */
  timestamps(slot: number): Float32Array {
    const local = slot % this.chunkSlots;
    const start = local * this.maxFrames;
    return this.#chunk(slot).times.slice(start, start + this.#frameCount[slot]!);
  }

  /** The slot's frames dequantised to F×D raw floats, with their means and variances. */
  rawFrames(slot: number): { frames: Float32Array; means: Float32Array; variances: Float32Array } {
    const F = this.#frameCount[slot]!;
    const D = this.dim;
    const chunk = this.#chunk(slot);
    const local = slot % this.chunkSlots;
    const base = local * this.maxFrames * D;
    const s = local * this.maxFrames * STATS;
    const frames = new Float32Array(F * D);
    const means = new Float32Array(F);
    const variances = new Float32Array(F);
    for (let f = 0; f < F; f++) {
      const scale = chunk.stats[s + f * STATS + 1]!;
      for (let d = 0; d < D; d++) frames[f * D + d] = scale * chunk.frames[base + f * D + d]!;
      means[f] = chunk.stats[s + f * STATS + 2]!;
      variances[f] = chunk.stats[s + f * STATS + 3]!;
    }
    return { frames, means, variances };
  }

  /** Calls `fn` for every held slot. */
  forEachSlot(fn: (slot: number, key: string) => void): void {
    for (const [key, slot] of this.#slotOf) fn(slot, key);
  }

  /**
   * The slot's score for a prepared query: a cosine in [−1, 1].
   *
   * @param outWeights if given (≥ F values), receives the pooling's frame weights.
   * @param outCosines if given (≥ F values), receives the per-frame cosines cos(text, x̂_f)
   *   (not for X-Pool, whose frame logits are not cosines).
   * @throws ReelError XPOOL_CACHE_INVALID when X-Pool is asked of a slot without terms of that head.
   */
  score(slot: number, query: PreparedQuery, outWeights?: Float32Array, outCosines?: Float32Array): number {
    const F = this.#frameCount[slot]!;
    const D = this.dim;
    const Fm = this.maxFrames;
    const chunk = this.#chunk(slot);
    const local = slot % this.chunkSlots;
    const frames = chunk.frames;
    const base = local * Fm * D;
    const s = local * Fm * STATS;
    const w = this.#scratch;
    if (query.pooling === 'xpool') {
      const xq = query.xpool;
      if (this.#xpoolHead[slot] !== xq.headChecksum || chunk.xpool === null)
        throw new ReelError(
          IndexErrorCode.XPOOL_CACHE_INVALID,
          `X-Pool terms of ${this.#keys[slot]}: expected head ${xq.headChecksum.toString(16)}, found ${Number.isNaN(this.#xpoolHead[slot]!) ? 'none' : this.#xpoolHead[slot]!.toString(16)}`,
        );
      let f4 = 0;
      for (; f4 + 3 < F; f4 += 4) dot2Int8x4(frames, base + f4 * D, xq.g, xq.p, D, w, f4, F + f4);
      for (let f = f4; f < F; f++) dot2Int8(frames, base + f * D, xq.g, xq.p, D, w, f, F + f);
      for (let f = 0; f < F; f++) {
        const scale = chunk.stats[s + f * STATS + 1]!;
        w[f] = w[f]! * scale;
        w[F + f] = w[F + f]! * scale;
      }
      return scoreXPoolFromProducts(
        xq,
        w,
        F,
        chunk.stats,
        s + 2,
        chunk.stats,
        s + 3,
        STATS,
        chunk.xpool,
        local * this.#xpoolStride,
        outWeights,
      );
    }
    const invText = query.textNorm > 0 ? 1 / query.textNorm : 0;
    for (let f = 0; f < F; f++)
      w[f] = dotInt8(frames, base + f * D, query.text, D) * chunk.stats[s + f * STATS]! * invText;
    if (outCosines !== undefined) for (let f = 0; f < F; f++) outCosines[f] = w[f]!;
    const gramOffset = local * Fm * Fm;
    switch (query.pooling) {
      case 'mean': {
        if (outWeights !== undefined) outWeights.fill(1 / F, 0, F);
        return meanFromCosines(w, F, chunk.gram, gramOffset);
      }
      case 'attention':
        return attentionFromCosines(w, F, chunk.gram, gramOffset, query.tau, outWeights);
      case 'topk':
        return topKFromCosines(w, F, chunk.gram, gramOffset, query.k, outWeights);
      case 'max':
        return maxFromCosines(w, F, outWeights);
    }
  }

  #chunk(slot: number): Chunk {
    const index = Math.floor(slot / this.chunkSlots);
    // slots are handed out in order, so chunks are too; allocate up to the one asked for
    while (this.#chunks.length <= index) {
      const n = Math.min(this.chunkSlots, this.capacity - this.#chunks.length * this.chunkSlots);
      const Fm = this.maxFrames;
      this.#chunks.push({
        frames: new Int8Array(n * Fm * this.dim),
        stats: new Float32Array(n * Fm * STATS),
        gram: new Float32Array(n * Fm * Fm),
        times: new Float32Array(n * Fm),
        xpool: this.withXPool ? new Float32Array(n * this.#xpoolStride) : null,
      });
    }
    const chunk = this.#chunks[index]!;
    return chunk;
  }

  #allocate(): number {
    if (this.#used < this.capacity) return this.#used++;
    // clock: skip slots used by the current batch, give referenced ones a second chance
    for (let step = 0; step < 3 * this.capacity; step++) {
      const slot = this.#hand;
      this.#hand = (this.#hand + 1) % this.capacity;
      const key = this.#keys[slot];
      if (key === undefined) return slot;
      if (this.#epochOf[slot] === this.#epoch) continue;
      if (this.#referenced[slot] === 1) {
        this.#referenced[slot] = 0;
        continue;
      }
      this.#slotOf.delete(key);
      this.#keys[slot] = undefined;
      return slot;
    }
    throw invalid(
      `rescore cache: all ${this.capacity} slots are in use by one batch (raise its capacity above the candidate count)`,
    );
  }
}

function invalid(message: string): ReelError {
  return new ReelError(IndexErrorCode.EMBEDDINGS_INVALID, message);
}
