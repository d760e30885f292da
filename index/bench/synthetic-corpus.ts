/**
 * A synthetic video corpus whose scores look like real CLIP's, for the search benchmark.
 *
 * Every vector is a sum of a few fixed random "atoms" (D-vectors of norm ≈ 1):
 *
 *   frame x_f = 10 · (0.6 m_I + 0.4 c_topic + 0.4 (v_a ± v_b)/√2 + 0.35 s_scene(f) + 0.35 (n_1 ± n_2 ± n_3)/√3)
 *   text  t   =  8 · (0.7 m_T + 0.25 c_topic + 0.05 (v_a ± v_b)/√2 + 0.07 s_scene + 0.65 noise)
 *
 * m_I and m_T are the image and text "modality" directions (cos 0.3 between them: CLIP's modality gap),
 * a topic is shared by ~1000 videos, v is the video's content (v_a one of 64 atoms of its topic, so
 * near-duplicates exist), each video has 3 scenes (2+ frames
 * each) and every frame has its own noise. A query describes one scene of one video; its cosine with
 * its video is ≈ 0.29, with other videos ≈ 0.14, like
 * CLIP ViT-B/32 text–video scores, so the first stage has real competition, not easy clusters
 * (retrieval among 1000 videos is about as hard as MSR-VTT's, see DEFAULT_QUERY_WEIGHTS).
 *
 * Atoms come from fixed pools (4096 video, scene and noise atoms), which makes X-Pool's per-video terms
 * cheap to compute exactly by linearity (see AtomProjector): the real builder costs ~5 ms a video, too
 * slow for a million. Everything is a pure function of (seed, video index).
 */

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { l2NormalizeRows } from '../src/pooling/vector-math.ts';
import { type VideoRecord, VideoStatus } from '../src/video-record.ts';
import type { XPoolHead } from '../src/xpool/xpool-head.ts';
import {
  type XPoolCompactCache,
  xpoolCompactFromProjections,
  xpoolProjections,
} from '../src/xpool/xpool-terms.ts';

export const DIM = 512;
export const FRAMES = 12;
const POOL = 4096;
const TERMS_PER_FRAME = 8;

/** xorshift32 → uniform [0, 1). */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51) ^ Math.imul(b + 0x27d4eb2f, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform values with variance 1/D: a random vector of norm ≈ 1. */
function fillRandom(out: Float32Array, offset: number, length: number, next: () => number): void {
  const scale = Math.sqrt(3 / length) * 2;
  for (let i = 0; i < length; i++) out[offset + i] = (next() - 0.5) * scale;
}

/** One video's recipe. */
export interface VideoRecipe {
  topic: number;
  /** Scene index of each frame (0, 1, 2; each scene ≥ 2 frames). */
  sceneOf: number[];
  /** F × 8 atom ids and coefficients (frame = Σ coefficient · atom). */
  atoms: Int32Array;
  coefficients: Float32Array;
  durationSeconds: number;
  rare: boolean;
}

/** Mixing weights of a query (before the ×8 text scale). */
export interface QueryWeights {
  modality: number;
  topic: number;
  video: number;
  scene: number;
  noise: number;
}

/**
 * Tuned so that, among 1000 videos, mean pooling finds the described video first for ≈ 42% of queries
 * and attention pooling for ≈ 52% (CLIP4Clip meanP 43.1 and X-Pool 46.9 R@1 on MSR-VTT 1k-A), with
 * text–video cosines ≈ 0.29 for the match and ≈ 0.14 on average.
 */
export const DEFAULT_QUERY_WEIGHTS: QueryWeights = {
  modality: 0.7,
  topic: 0.25,
  video: 0.05,
  scene: 0.07,
  noise: 0.65,
};

/** Topic-specific video atoms: a video's first content atom comes from its topic's 64 (near duplicates exist). */
const TOPIC_ATOMS = 64;

export class SyntheticCorpus {
  readonly videos: number;
  readonly seed: number;
  readonly queryWeights: QueryWeights;
  readonly topics: number;
  /** All atoms, row-major: [m_I, m_T, topics…, video pool…, scene pool…, noise pool…]. */
  readonly atoms: Float32Array;
  readonly atomCount: number;
  readonly #topic0 = 2;
  readonly #video0: number;
  readonly #scene0: number;
  readonly #noise0: number;

  constructor(videos: number, seed = 2024, queryWeights: QueryWeights = DEFAULT_QUERY_WEIGHTS) {
    this.videos = videos;
    this.seed = seed;
    this.queryWeights = queryWeights;
    this.topics = Math.max(10, Math.round(videos / 1000));
    this.#video0 = this.#topic0 + this.topics;
    this.#scene0 = this.#video0 + POOL;
    this.#noise0 = this.#scene0 + POOL;
    this.atomCount = this.#noise0 + POOL;
    this.atoms = new Float32Array(this.atomCount * DIM);
    const next = prng(mix(seed, 1));
    for (let a = 0; a < this.atomCount; a++) fillRandom(this.atoms, a * DIM, DIM, next);
    // m_T = 0.3 m_I + 0.954 m⊥ (the random atom 1 is already ≈ orthogonal to m_I)
    for (let d = 0; d < DIM; d++) this.atoms[DIM + d] = 0.3 * this.atoms[d]! + 0.954 * this.atoms[DIM + d]!;
  }

  recipe(i: number): VideoRecipe {
    const next = prng(mix(this.seed, i + 1000));
    const pick = (n: number) => Math.floor(next() * n);
    const sign = () => (next() < 0.5 ? -1 : 1);
    const topic = pick(this.topics);
    const va = this.#video0 + ((topic * TOPIC_ATOMS + pick(TOPIC_ATOMS)) % POOL);
    const vb = this.#video0 + pick(POOL);
    const vSign = sign();
    const scenes = [this.#scene0 + pick(POOL), this.#scene0 + pick(POOL), this.#scene0 + pick(POOL)];
    const cut1 = 2 + pick(FRAMES - 5); // 2..8
    const cut2 = cut1 + 2 + pick(FRAMES - cut1 - 3); // ≥ cut1 + 2, ≤ F − 2
    const sceneOf = Array.from({ length: FRAMES }, (_, f) => (f < cut1 ? 0 : f < cut2 ? 1 : 2));
    const atoms = new Int32Array(FRAMES * TERMS_PER_FRAME);
    const coefficients = new Float32Array(FRAMES * TERMS_PER_FRAME);
    const v = 0.4 / Math.SQRT2;
    const n = 0.35 / Math.sqrt(3);
    for (let f = 0; f < FRAMES; f++) {
      const o = f * TERMS_PER_FRAME;
      const terms: [number, number][] = [
        [0, 0.6],
        [this.#topic0 + topic, 0.4],
        [va, v],
        [vb, vSign * v],
        [scenes[sceneOf[f]!]!, 0.35],
        [this.#noise0 + pick(POOL), n],
        [this.#noise0 + pick(POOL), sign() * n],
        [this.#noise0 + pick(POOL), sign() * n],
      ];
      terms.forEach(([atom, c], k) => {
        atoms[o + k] = atom;
        coefficients[o + k] = 10 * c;
      });
    }
    return {
      topic,
      sceneOf,
      atoms,
      coefficients,
      durationSeconds: 20 + Math.round(next() * 280),
      rare: next() < 0.1,
    };
  }

  /** F×D raw frame embeddings of video i (CLIP image-embedding scale, norm ≈ 10). */
  frames(recipe: VideoRecipe, out = new Float32Array(FRAMES * DIM)): Float32Array {
    out.fill(0);
    for (let f = 0; f < FRAMES; f++)
      for (let k = 0; k < TERMS_PER_FRAME; k++) {
        const atom = recipe.atoms[f * TERMS_PER_FRAME + k]! * DIM;
        const c = recipe.coefficients[f * TERMS_PER_FRAME + k]!;
        const row = f * DIM;
        for (let d = 0; d < DIM; d++) out[row + d] = out[row + d]! + c * this.atoms[atom + d]!;
      }
    return out;
  }

  /** A text embedding describing scene `scene` of video i (CLIP text scale, norm ≈ 8). */
  query(recipe: VideoRecipe, scene: number, querySeed: number): Float32Array {
    const next = prng(mix(this.seed ^ 0x5bd1e995, querySeed));
    const out = new Float32Array(DIM);
    const w = this.queryWeights;
    fillRandom(out, 0, DIM, next);
    for (let d = 0; d < DIM; d++) out[d] = w.noise * out[d]!;
    const f = recipe.sceneOf.indexOf(scene);
    const o = f * TERMS_PER_FRAME;
    const add = (atom: number, c: number) => {
      for (let d = 0; d < DIM; d++) out[d] = out[d]! + c * this.atoms[atom * DIM + d]!;
    };
    add(1, w.modality); // m_T
    add(recipe.atoms[o + 1]!, w.topic);
    add(recipe.atoms[o + 2]!, w.video / Math.SQRT2); // video content
    add(recipe.atoms[o + 3]!, (Math.sign(recipe.coefficients[o + 3]!) * w.video) / Math.SQRT2);
    add(recipe.atoms[o + 4]!, w.scene); // the scene
    for (let d = 0; d < DIM; d++) out[d] = 8 * out[d]!;
    return out;
  }

  record(i: number, recipe: VideoRecipe): VideoRecord {
    return {
      tenant: 'bench',
      id: `v${i}`,
      title: `synthetic video ${i}`,
      tags: recipe.rare ? ['rare', `topic-${recipe.topic}`] : [`topic-${recipe.topic}`],
      createdAt: new Date(Date.UTC(2020, 0, 1) + (i % 1461) * 86_400_000),
      ingestedAt: new Date(Date.UTC(2025, 0, 1)),
      durationSeconds: recipe.durationSeconds,
      source: null,
      sha256: i.toString(16).padStart(64, '0'),
      fingerprint: null,
      status: VideoStatus.indexed,
      error: null,
    };
  }

  /** X-Pool's uniform sampling times: the middle of each of F equal intervals. */
  timestamps(recipe: VideoRecipe): number[] {
    return Array.from({ length: FRAMES }, (_, f) => ((f + 0.5) * recipe.durationSeconds) / FRAMES);
  }
}

/**
 * Exact X-Pool compact terms for corpus videos by linearity: Ũ_f = A_uc LN1(x_f) + c_uc and
 * LN1(x_f) = γ1 ⊙ (x_f − μ_f)/s_f + β1 with x_f = Σ c_k a_k, so A_uc LN1(x_f) = (Σ c_k (A_uc Γ1 a_k) −
 * μ_f A_uc γ1)/s_f + A_uc β1: project every atom once (2·atoms·D² multiply-adds), then each frame costs
 * 8 atoms × 2·D instead of 2·D². The grams come from the same code as buildXPoolCompactCache.
 */
export class AtomProjector {
  readonly head: XPoolHead;
  readonly #corpus: SyntheticCorpus;
  readonly #pu: Float32Array;
  readonly #pq: Float32Array;
  readonly #uG: Float64Array;
  readonly #uB: Float64Array;
  readonly #qG: Float64Array;
  readonly #qB: Float64Array;

  constructor(head: XPoolHead, corpus: SyntheticCorpus) {
    this.head = head;
    this.#corpus = corpus;
    const D = DIM;
    const { aUc, cUc, aQ, cQ } = xpoolProjections(head);
    const gamma1 = head.layerNorm1.weight;
    const beta1 = head.layerNorm1.bias;
    const project = (a: Float32Array, c: Float32Array) => {
      const scaled = new Float32Array(D * D);
      const g = new Float64Array(D);
      const b = new Float64Array(D);
      for (let o = 0; o < D; o++) {
        let sg = 0;
        let sb = 0;
        for (let i = 0; i < D; i++) {
          scaled[o * D + i] = a[o * D + i]! * gamma1[i]!;
          sg += a[o * D + i]! * gamma1[i]!;
          sb += a[o * D + i]! * beta1[i]!;
        }
        g[o] = sg;
        b[o] = sb + c[o]!;
      }
      const out = new Float32Array(corpus.atomCount * D);
      const atoms = corpus.atoms;
      for (let o = 0; o < D; o++) {
        const row = o * D;
        for (let atom = 0; atom < corpus.atomCount; atom++) {
          const x = atom * D;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let i = 0; i < D; i += 4) {
            s0 += scaled[row + i]! * atoms[x + i]!;
            s1 += scaled[row + i + 1]! * atoms[x + i + 1]!;
            s2 += scaled[row + i + 2]! * atoms[x + i + 2]!;
            s3 += scaled[row + i + 3]! * atoms[x + i + 3]!;
          }
          out[x + o] = s0 + s1 + s2 + s3;
        }
      }
      return { out, g, b };
    };
    const u = project(aUc, cUc);
    const q = project(aQ, cQ);
    this.#pu = u.out;
    this.#uG = u.g;
    this.#uB = u.b;
    this.#pq = q.out;
    this.#qG = q.g;
    this.#qB = q.b;
  }

  /** The compact X-Pool terms of a corpus video (frames: its F×D raw frames, for μ_f and s_f). */
  build(recipe: VideoRecipe, frames: Float32Array): XPoolCompactCache {
    const D = DIM;
    const F = FRAMES;
    const u = new Float32Array(F * D);
    const q = new Float32Array(F * D);
    const acc = new Float64Array(2 * D);
    for (let f = 0; f < F; f++) {
      let sum = 0;
      for (let d = 0; d < D; d++) sum += frames[f * D + d]!;
      const mean = sum / D;
      let dev = 0;
      for (let d = 0; d < D; d++) dev += (frames[f * D + d]! - mean) ** 2;
      const invS = 1 / Math.sqrt(dev / D + this.head.eps);
      acc.fill(0);
      for (let k = 0; k < TERMS_PER_FRAME; k++) {
        const atom = recipe.atoms[f * TERMS_PER_FRAME + k]! * D;
        const c = recipe.coefficients[f * TERMS_PER_FRAME + k]!;
        for (let d = 0; d < D; d++) {
          acc[d] = acc[d]! + c * this.#pu[atom + d]!;
          acc[D + d] = acc[D + d]! + c * this.#pq[atom + d]!;
        }
      }
      for (let d = 0; d < D; d++) {
        u[f * D + d] = (acc[d]! - mean * this.#uG[d]!) * invS + this.#uB[d]!;
        q[f * D + d] = (acc[D + d]! - mean * this.#qG[d]!) * invS + this.#qB[d]!;
      }
    }
    return xpoolCompactFromProjections(this.head, u, q, F);
  }

  get corpus(): SyntheticCorpus {
    return this.#corpus;
  }
}

/**
 * A trained-looking X-Pool head: the reference initialises projections at the identity and LayerNorms
 * at γ = 1, β = 0; training moves them. Here W = I + 0.3·N(0, 1/D), biases N(0, 0.02²),
 * γ = 1 + N(0, 0.05²), β = N(0, 0.02²).
 */
export function syntheticHead(seed = 7): XPoolHead {
  const D = DIM;
  const next = prng(mix(seed, 99));
  const normal = () => {
    const u = 1 - next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  const linear = () => {
    const weight = new Float32Array(D * D);
    for (let i = 0; i < D * D; i++) weight[i] = (0.3 / Math.sqrt(D)) * normal();
    for (let i = 0; i < D; i++) weight[i * D + i] = weight[i * D + i]! + 1;
    return { weight, bias: Float32Array.from({ length: D }, () => 0.02 * normal()) };
  };
  const norm = () => ({
    weight: Float32Array.from({ length: D }, () => 1 + 0.05 * normal()),
    bias: Float32Array.from({ length: D }, () => 0.02 * normal()),
  });
  return {
    dim: D,
    eps: 1e-5,
    layerNorm1: norm(),
    qProj: linear(),
    kProj: linear(),
    vProj: linear(),
    outProj: linear(),
    layerNorm2: norm(),
    linearProj: linear(),
    layerNorm3: norm(),
    checksum: 0x5e7c0de,
    source: 'synthetic trained-looking head',
  };
}

/** Bytes of every file under `dir`. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(full) : statSync(full).size;
  }
  return total;
}

/** A text's stand-in embedding: a unit vector seeded by the text (the same text, the same vector). */
export function seededUnitVector(text: string): Float32Array {
  let seed = 0;
  for (const ch of text) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) >>> 0;
  const r = prng(seed);
  const u = Float32Array.from({ length: DIM }, () => r() - 0.5);
  return l2NormalizeRows(u, 1, DIM);
}
