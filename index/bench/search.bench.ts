/**
 * Two-stage search at 10k and 100k videos (and 1M, see BUILD_1M): query latency after text encoding of
 * the two-stage search (LanceDB first stage over mean-pooled vectors, exact rescoring of K' candidates)
 * with the learned X-Pool head and with attention pooling, against exhaustive exact scoring of the whole
 * corpus in the same run (the baseline); top-10 agreement with exhaustive over a sweep of K' and IVF
 * nprobes; index size on disk, resident memory, build time per 100k videos; at 10k, the frame codecs
 * (int8, fp16) against float32; at 100k, the first-stage index types (IVF_FLAT, IVF_PQ, IVF_HNSW_SQ).
 *
 * Corpus: bench/synthetic-corpus.ts (F = 12, D = 512, scores like CLIP's: text–video cosine ≈ 0.29).
 * Corpora are built once into <repo>/.reel/bench-index/<videos>/ (LanceDB folder + manifest.json with
 * the build measurements) and reused by later runs; delete the folder to rebuild.
 *
 * 1M videos: building takes tens of minutes and ~12 GB of disk, so it only happens when BUILD_1M is
 * set (`BENCH_BUILD_1M=1`); a built 1M corpus (.reel/bench-index/1000000 with a complete manifest) is measured
 * on every run whether or not BUILD_1M is set. Measuring it holds ~9 GB of rescoring data in memory.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Benchmark, type BenchReport, type BenchRow, percentile } from '@reel/infra';
import {
  type AnnIndexConfig,
  DEFAULT_ANN_INDEX,
  DEFAULT_ANN_THRESHOLD,
  LanceIndexStore,
} from '../src/adapters/lancedb-store.ts';
import { decodeFrames, encodeFrames, FrameCodec } from '../src/frame-codec.ts';
import { scoreAttention } from '../src/pooling/text-conditioned-pooling.ts';
import { gramMatrix, l2NormalizeRows } from '../src/pooling/vector-math.ts';
import type { TextEmbedder } from '../src/search/query-cache.ts';
import { type Pooling, RescoreCache } from '../src/search/rescore-cache.ts';
import { SearchService } from '../src/search/search-service.ts';
import { buildVideoEmbeddings } from '../src/video-embeddings.ts';
import { videoKey } from '../src/video-record.ts';
import { prepareXPoolCompactQuery, scoreXPoolCompact } from '../src/xpool/xpool-score.ts';
import { buildXPoolCompactCache } from '../src/xpool/xpool-terms.ts';
import {
  AtomProjector,
  DIM,
  dirBytes,
  FRAMES,
  prng,
  SyntheticCorpus,
  seededUnitVector,
  syntheticHead,
} from './synthetic-corpus.ts';

/** `BENCH_BUILD_1M=1 npm run bench -- index-search` builds the 1M corpus (once; tens of minutes, ~12 GB under .reel/bench-index). */
const BUILD_1M = process.env.BENCH_BUILD_1M === '1';
const SCALES = [10_000, 100_000];
const MILLION = 1_000_000;
const FINGERPRINT = 'sha256:bench-synthetic-clip-vit-b32';
const MANIFEST_VERSION = 5;
const BATCH = 5000;
const QUERIES = 100;
const K_PRIMES = [250, 500, 1000, 2000];
const NPROBES = [10, 20, 40];
/** HNSW search widths swept, as multiples of K′. */
const EF_FACTORS = [3, 5, 8];
/** The configuration the defaults ship with (see DESIGN.md); reported as the headline rows. */
const CHOSEN = { kPrime: 500, nprobes: 20, efFactor: 5 };

const root = path.resolve(import.meta.dirname, '..', '..');
const cacheRoot = path.join(root, '.reel', 'bench-index');

interface AnnComparison {
  type: string;
  buildSeconds: number;
  stage1P50: number;
  stage1P95: number;
  recallAt1000: number;
}

/** The first stage's query settings a sweep varies. */
type Knob = { nprobes: number; efFactor: number };

interface Manifest {
  version: number;
  videos: number;
  complete: boolean;
  builtAt: string;
  build: {
    embedSeconds: number;
    xpoolSeconds: number;
    upsertSeconds: number;
    optimizeSeconds: number;
    annSeconds: number;
    totalSeconds: number;
  };
  xpool: { realMsPerVideo: number; fastMsPerVideo: number; maxRelativeDiff: number };
  annComparison: AnnComparison[];
}

class BenchEmbedder implements TextEmbedder {
  readonly fingerprint = FINGERPRINT;
  readonly vectors = new Map<string, Float32Array>();
  /** Search by image: the "image" bytes are the query's index, its vector registered as `image:<n>`. */
  async encodeImages(images: readonly Uint8Array[]): Promise<Float32Array[]> {
    return images.map((bytes) => {
      const v = this.vectors.get(`image:${bytes[0]! | (bytes[1]! << 8)}`);
      if (v === undefined) throw new Error('bench image not registered');
      return v;
    });
  }
  /** A registered query's vector; any other text (the confidence references) a seeded random unit vector. */
  async encodeTexts(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const v = this.vectors.get(t);
      return v ?? seededUnitVector(t);
    });
  }
}

const load = () => `load ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} cores`;

function queriesFor(
  corpus: SyntheticCorpus,
  count: number,
): { text: string; target: number; vector: Float32Array }[] {
  return Array.from({ length: count }, (_, q) => {
    const target = (q * 7919 + 13) % corpus.videos;
    const recipe = corpus.recipe(target);
    return { text: `q${q}`, target, vector: corpus.query(recipe, q % 3, q) };
  });
}

// ---------------------------------------------------------------- build

async function buildCorpus(videos: number, dir: string): Promise<Manifest> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dbDir = path.join(dir, 'lancedb');
  const corpus = new SyntheticCorpus(videos);
  const head = syntheticHead();
  const projector = new AtomProjector(head, corpus);
  // no ANN index during the load: it is built once at the end (a growing index keeps early centroids)
  const store = await LanceIndexStore.open({ dir: dbDir, annThreshold: Number.MAX_SAFE_INTEGER });
  const build = {
    embedSeconds: 0,
    xpoolSeconds: 0,
    upsertSeconds: 0,
    optimizeSeconds: 0,
    annSeconds: 0,
    totalSeconds: 0,
  };
  const started = performance.now();
  const frames = new Float32Array(FRAMES * DIM);
  for (let start = 0; start < videos; start += BATCH) {
    const end = Math.min(videos, start + BATCH);
    const records = [];
    const embeddings = [];
    for (let i = start; i < end; i++) {
      const recipe = corpus.recipe(i);
      corpus.frames(recipe, frames);
      let t = performance.now();
      const e = buildVideoEmbeddings({
        tenant: 'bench',
        videoId: `v${i}`,
        fingerprint: FINGERPRINT,
        frames,
        frameCount: FRAMES,
        dim: DIM,
        timestamps: corpus.timestamps(recipe),
        thumbnails: Array.from({ length: FRAMES }, (_, f) => `thumbs/v${i}/${f}.jpg`),
      });
      build.embedSeconds += (performance.now() - t) / 1000;
      t = performance.now();
      e.xpoolCache = projector.build(recipe, frames);
      build.xpoolSeconds += (performance.now() - t) / 1000;
      records.push(corpus.record(i, recipe));
      embeddings.push(e);
    }
    const t = performance.now();
    await store.upsertVideos(records);
    await store.upsertEmbeddings(embeddings);
    build.upsertSeconds += (performance.now() - t) / 1000;
    // periodic upkeep, as the scheduler will do: compaction and scalar indexes keep upserts fast
    if ((end / BATCH) % Math.max(1, Math.round(videos / BATCH / 4)) === 0 || end === videos) {
      const o = performance.now();
      await store.optimize({ pruneOlderThanMs: 0 });
      build.optimizeSeconds += (performance.now() - o) / 1000;
    }
    if (videos >= 100_000)
      console.log(`  built ${end}/${videos} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const annComparison: AnnComparison[] = [];
  if (videos >= DEFAULT_ANN_THRESHOLD) {
    if (videos === 100_000) {
      // the first-stage index types on the same vectors (the default, IVF_FLAT, is built last and kept)
      const hnswSeconds = await store.rebuildVectorIndex(FINGERPRINT, { type: 'ivf_hnsw_sq' });
      annComparison.push({
        type: 'IVF_HNSW_SQ (ef 5·K′)',
        buildSeconds: hnswSeconds,
        ...(await stageOneQuality(dbDir, corpus, { type: 'ivf_hnsw_sq' })),
      });
      const pqSeconds = await store.rebuildVectorIndex(FINGERPRINT, { type: 'ivf_pq' });
      annComparison.push({
        type: 'IVF_PQ (√N partitions, 64 sub-vectors, nprobes 20)',
        buildSeconds: pqSeconds,
        ...(await stageOneQuality(dbDir, corpus, { type: 'ivf_pq', nprobes: 20 })),
      });
    }
    // the default (`auto`): IVF_FLAT at 10k and 100k, IVF_HNSW_SQ at 1M
    build.annSeconds = await store.rebuildVectorIndex(FINGERPRINT, DEFAULT_ANN_INDEX);
    if (videos === 100_000)
      for (const nprobes of NPROBES)
        annComparison.push({
          type: `IVF_FLAT (√N partitions, nprobes ${nprobes})`,
          buildSeconds: build.annSeconds,
          ...(await stageOneQuality(dbDir, corpus, { ...DEFAULT_ANN_INDEX, type: 'ivf_flat', nprobes })),
        });
    if (videos === MILLION)
      annComparison.push({
        type: 'IVF_HNSW_SQ (the default at this size; rows / 250 000 partitions, ef 5·K′)',
        buildSeconds: build.annSeconds,
        ...(await stageOneQuality(dbDir, corpus, DEFAULT_ANN_INDEX)),
      });
    await store.optimize({ pruneOlderThanMs: 0 });
  }
  build.totalSeconds = (performance.now() - started) / 1000;
  store.close();
  // the real X-Pool builder on a sample, against the fast exact path used for the corpus
  let maxRelativeDiff = 0;
  let realMs = 0;
  let fastMs = 0;
  const sample = 20;
  for (let i = 0; i < sample; i++) {
    const recipe = corpus.recipe(i);
    corpus.frames(recipe, frames);
    let t = performance.now();
    const real = buildXPoolCompactCache(head, frames, FRAMES);
    realMs += performance.now() - t;
    t = performance.now();
    const fast = projector.build(recipe, frames);
    fastMs += performance.now() - t;
    for (let k = 0; k < real.data.length; k++)
      maxRelativeDiff = Math.max(
        maxRelativeDiff,
        Math.abs(real.data[k]! - fast.data[k]!) / (Math.abs(real.data[k]!) + 1e-3),
      );
  }
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    videos,
    complete: true,
    builtAt: new Date().toISOString(),
    build,
    xpool: { realMsPerVideo: realMs / sample, fastMsPerVideo: fastMs / sample, maxRelativeDiff },
    annComparison,
  };
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** First-stage latency and recall@1000 against exact flat search, for the index currently built. */
async function stageOneQuality(
  dbDir: string,
  corpus: SyntheticCorpus,
  ann: AnnIndexConfig,
): Promise<{ stage1P50: number; stage1P95: number; recallAt1000: number }> {
  const store = await LanceIndexStore.open({ dir: dbDir, ann });
  try {
    const queries = queriesFor(corpus, 40);
    const latencies: number[] = [];
    let recall = 0;
    for (const [n, q] of queries.entries()) {
      const request = { tenant: 'bench', filters: {}, limit: 1000 };
      const t = performance.now();
      const { candidates } = await store.candidates(FINGERPRINT, q.vector, request);
      if (n > 0) latencies.push(performance.now() - t);
      const exact = await store.candidates(FINGERPRINT, q.vector, { ...request, exact: true });
      const truth = new Set(exact.candidates.map((c) => c.key));
      recall += candidates.filter((c) => truth.has(c.key)).length / truth.size;
    }
    return {
      stage1P50: percentile(latencies, 0.5),
      stage1P95: percentile(latencies, 0.95),
      recallAt1000: recall / queries.length,
    };
  } finally {
    store.close();
  }
}

async function ensureCorpus(
  videos: number,
  build1M: boolean,
): Promise<{ dir: string; manifest: Manifest; rebuilt: boolean } | null> {
  const dir = path.join(cacheRoot, String(videos));
  const manifestFile = path.join(dir, 'manifest.json');
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    if (manifest.complete && manifest.version === MANIFEST_VERSION && manifest.videos === videos)
      return { dir, manifest, rebuilt: false };
  }
  if (videos === MILLION && !build1M) return null;
  console.log(`  building the ${videos}-video corpus under ${path.relative(root, dir)}`);
  return { dir, manifest: await buildCorpus(videos, dir), rebuilt: true };
}

// ---------------------------------------------------------------- measure

/** Exhaustive exact scoring of every cached video: top-10 keys and all scores by slot. */
function exhaustive(
  cache: RescoreCache,
  service: SearchService,
  pooling: Pooling,
  vector: Float32Array,
  allow?: (key: string) => boolean,
  keepScores = false,
): { top: string[]; ms: number; scores: Map<string, number> } {
  const prepared = service.prepare(pooling, vector);
  const scores = new Map<string, number>();
  const t = performance.now();
  const best: { key: string; score: number }[] = [];
  cache.forEachSlot((slot, key) => {
    if (allow !== undefined && !allow(key)) return;
    const score = cache.score(slot, prepared);
    if (keepScores) scores.set(key, score);
    if (best.length < 10 || score > best[best.length - 1]!.score) {
      best.push({ key, score });
      best.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : 1));
      if (best.length > 10) best.pop();
    }
  });
  return { top: best.map((b) => b.key), ms: performance.now() - t, scores };
}

function agreement(a: readonly string[], b: readonly string[]): number {
  const set = new Set(b);
  return a.filter((k) => set.has(k)).length / Math.max(1, b.length);
}

async function measure(
  videos: number,
  dir: string,
  manifest: Manifest,
  rebuilt: boolean,
): Promise<BenchReport[]> {
  const dbDir = path.join(dir, 'lancedb');
  const loadBefore = load();
  const corpus = new SyntheticCorpus(videos);
  const head = syntheticHead();
  const embedder = new BenchEmbedder();
  const exhaustiveQueries = videos >= MILLION ? 20 : videos >= 100_000 ? 30 : 50;
  const queries = queriesFor(corpus, QUERIES);
  for (const q of queries) embedder.vectors.set(q.text, q.vector);
  const rare = new Set<string>();
  for (let i = 0; i < videos; i++) if (corpus.recipe(i).rare) rare.add(videoKey('bench', `v${i}`));

  const rssBefore = process.memoryUsage().rss;
  const cache = new RescoreCache({ dim: DIM, capacity: videos, maxFrames: FRAMES, withXPool: true });
  const stores: LanceIndexStore[] = [];
  const open = async (knob: Knob) => {
    const store = await LanceIndexStore.open({ dir: dbDir, ann: { ...DEFAULT_ANN_INDEX, ...knob } });
    stores.push(store);
    return store;
  };
  try {
    const chosen: Knob = { nprobes: CHOSEN.nprobes, efFactor: CHOSEN.efFactor };
    const base = await open(chosen);
    const service = (store: LanceIndexStore, candidates: number) =>
      new SearchService({
        store,
        embedder,
        xpoolHead: head,
        candidates,
        rescoreCache: cache,
        maxCandidates: 5000,
      });
    const t = performance.now();
    const warmed = await service(base, CHOSEN.kPrime).warm();
    const warmSeconds = (performance.now() - t) / 1000;
    const rss = process.memoryUsage().rss;
    const indexType = (await base.vectorIndex(FINGERPRINT)) ?? 'none (flat)';

    // ---- exhaustive exact scoring of the whole corpus (baseline) ----
    const probe = service(base, CHOSEN.kPrime);
    const truth: Record<'xpool' | 'attention', string[][]> = { xpool: [], attention: [] };
    const truthScores: Record<'xpool' | 'attention', Map<string, number>[]> = { xpool: [], attention: [] };
    const exhaustiveMs: Record<'xpool' | 'attention', number[]> = { xpool: [], attention: [] };
    const rareTruth: string[][] = [];
    // all scores are kept only at the smallest scale, for the codec comparison
    const keepScores = videos === SCALES[0];
    for (const pooling of ['xpool', 'attention'] as const)
      for (const [n, q] of queries.slice(0, exhaustiveQueries).entries()) {
        const result = exhaustive(cache, probe, pooling, q.vector);
        truth[pooling].push(result.top);
        if (keepScores && n < 30)
          truthScores[pooling].push(exhaustive(cache, probe, pooling, q.vector, undefined, true).scores);
        exhaustiveMs[pooling].push(result.ms);
      }
    for (const q of queries.slice(0, exhaustiveQueries))
      rareTruth.push(exhaustive(cache, probe, 'attention', q.vector, (key) => rare.has(key)).top);

    // ---- two-stage sweep ----
    interface Cell {
      knob: string;
      kPrime: number;
      pooling: 'xpool' | 'attention';
      p50: number;
      p95: number;
      stage1P50: number;
      stage2P50: number;
      agreement: number;
    }
    const cells: Cell[] = [];
    // the first stage's query knob: IVF partitions probed, or the HNSW search width
    const knobs: Knob[] =
      indexType === 'none (flat)'
        ? [chosen]
        : indexType === 'IvfHnswSq'
          ? EF_FACTORS.map((efFactor) => ({ nprobes: CHOSEN.nprobes, efFactor }))
          : NPROBES.map((nprobes) => ({ nprobes, efFactor: CHOSEN.efFactor }));
    const knobLabel = (knob: Knob) =>
      indexType === 'IvfHnswSq' ? `ef ${knob.efFactor}·K′` : `nprobes ${String(knob.nprobes).padStart(2)}`;
    for (const knob of knobs) {
      const same = knob.nprobes === chosen.nprobes && knob.efFactor === chosen.efFactor;
      const store = same ? base : await open(knob);
      for (const kPrime of K_PRIMES) {
        const s = service(store, kPrime);
        for (const pooling of ['xpool', 'attention'] as const) {
          await s.search(queries[0]!.text, { tenant: 'bench', k: 10, pooling }); // warm-up
          const latency: number[] = [];
          const stage1: number[] = [];
          const stage2: number[] = [];
          let agree = 0;
          for (const [n, q] of queries.entries()) {
            const response = await s.search(q.text, { tenant: 'bench', k: 10, pooling });
            latency.push(response.timings.totalMs - response.timings.encodeMs);
            stage1.push(response.timings.stage1Ms);
            stage2.push(response.timings.stage2Ms);
            if (n < exhaustiveQueries)
              agree += agreement(
                response.results.map((x) => videoKey('bench', x.videoId)),
                truth[pooling][n]!,
              );
          }
          cells.push({
            knob: knobLabel(knob),
            kPrime,
            pooling,
            p50: percentile(latency, 0.5),
            p95: percentile(latency, 0.95),
            stage1P50: percentile(stage1, 0.5),
            stage2P50: percentile(stage2, 0.5),
            agreement: agree / exhaustiveQueries,
          });
        }
      }
    }
    const cell = (pooling: 'xpool' | 'attention', kPrime = CHOSEN.kPrime) =>
      cells.find((c) => c.pooling === pooling && c.kPrime === kPrime && c.knob === knobLabel(chosen))!;

    // ---- filtered (10% of videos carry the tag) ----
    const filtered = service(base, CHOSEN.kPrime);
    const filteredLatency: number[] = [];
    let filteredAgree = 0;
    for (const [n, q] of queries.entries()) {
      const response = await filtered.search(q.text, {
        tenant: 'bench',
        k: 10,
        pooling: 'attention',
        filters: { tags: ['rare'] },
      });
      filteredLatency.push(response.timings.totalMs - response.timings.encodeMs);
      if (n < exhaustiveQueries)
        filteredAgree += agreement(
          response.results.map((x) => videoKey('bench', x.videoId)),
          rareTruth[n]!,
        );
    }

    // ---- cold rescore cache (every candidate read from LanceDB) ----
    const cold: number[] = [];
    let coldFetched = 0;
    for (const q of queries.slice(0, 6)) {
      const s = new SearchService({
        store: base,
        embedder,
        xpoolHead: head,
        candidates: CHOSEN.kPrime,
        rescoreCache: new RescoreCache({ dim: DIM, capacity: 6000, maxFrames: FRAMES }),
      });
      const response = await s.search(q.text, { tenant: 'bench', k: 10, pooling: 'xpool' });
      cold.push(response.timings.totalMs - response.timings.encodeMs);
      coldFetched += response.stats.fetched;
    }
    cold.shift(); // the first also loads the index

    const modes = await modesReport(service(base, CHOSEN.kPrime), corpus, queries, embedder, videos);

    const diskBytes = dirBytes(dbDir);
    const liveBytes = (await base.storageStats()).reduce((sum, t) => sum + t.bytes, 0);
    const label = videos >= MILLION ? '1M' : `${videos / 1000}k`;
    const per100k = (seconds: number) => (seconds * 100_000) / videos;
    const xp = cell('xpool');
    const at = cell('attention');
    const rows: BenchRow[] = [
      {
        case: 'X-Pool exhaustive exact, whole corpus (p50)',
        value: percentile(exhaustiveMs.xpool, 0.5),
        unit: 'ms',
      },
      {
        case: 'attention exhaustive exact, whole corpus (p50)',
        value: percentile(exhaustiveMs.attention, 0.5),
        unit: 'ms',
      },
      { case: `X-Pool two-stage K′=${CHOSEN.kPrime} (p50)`, value: xp.p50, unit: 'ms' },
      { case: `X-Pool two-stage K′=${CHOSEN.kPrime} (p95)`, value: xp.p95, unit: 'ms' },
      { case: `attention two-stage K′=${CHOSEN.kPrime} (p50)`, value: at.p50, unit: 'ms' },
      { case: `attention two-stage K′=${CHOSEN.kPrime} (p95)`, value: at.p95, unit: 'ms' },
      { case: 'first stage alone (p50)', value: xp.stage1P50, unit: 'ms' },
      { case: 'X-Pool rescoring of K′ candidates (p50)', value: xp.stage2P50, unit: 'ms' },
      {
        case: `X-Pool top-10 agreement with exhaustive, K′=${CHOSEN.kPrime}`,
        value: xp.agreement,
        unit: 'fraction',
      },
      {
        case: `attention top-10 agreement with exhaustive, K′=${CHOSEN.kPrime}`,
        value: at.agreement,
        unit: 'fraction',
      },
      {
        case: 'attention, tag prefilter (10% of videos) (p50)',
        value: percentile(filteredLatency, 0.5),
        unit: 'ms',
      },
      {
        case: 'attention, tag prefilter (10% of videos) (p95)',
        value: percentile(filteredLatency, 0.95),
        unit: 'ms',
      },
      {
        case: 'attention, tag prefilter: top-10 agreement',
        value: filteredAgree / exhaustiveQueries,
        unit: 'fraction',
      },
      { case: 'X-Pool two-stage, cold rescore cache (p50)', value: percentile(cold, 0.5), unit: 'ms' },
      { case: 'index size on disk (live data and indexes)', value: liveBytes / 2 ** 20, unit: 'MiB' },
      { case: 'database folder (with files awaiting cleanup)', value: diskBytes / 2 ** 20, unit: 'MiB' },
      { case: 'resident memory after warming', value: rss / 2 ** 20, unit: 'MiB' },
      {
        case: 'rescore cache (int8 frames, Grams, X-Pool terms)',
        value: cache.allocatedBytes / 2 ** 20,
        unit: 'MiB',
      },
      {
        case: 'build time per 100k videos (embeddings, upserts, upkeep, ANN)',
        value: per100k(manifest.build.totalSeconds),
        unit: 's',
      },
    ];
    const notes = [
      `${videos} videos × ${FRAMES} frames × ${DIM} dims, one tenant; first stage ${indexType}${indexType === 'none (flat)' ? ` (below the ${DEFAULT_ANN_THRESHOLD}-row ANN threshold)` : `, ${knobLabel(chosen).replace(/ +/g, ' ')}`}; ${QUERIES} queries for latency (after text encoding: stage 1 + stage 2 + page details), ${exhaustiveQueries} for agreement; rescore cache warm unless stated.`,
      ...cells.map(
        (c) =>
          `sweep ${c.pooling.padEnd(9)} ${c.knob} K′ ${String(c.kPrime).padStart(4)}: p50 ${c.p50.toFixed(1)} ms, p95 ${c.p95.toFixed(1)} ms (stage 1 ${c.stage1P50.toFixed(1)}, stage 2 ${c.stage2P50.toFixed(1)}), top-10 agreement ${c.agreement.toFixed(3)}`,
      ),
      `Build${rebuilt ? '' : ` (cached, built ${manifest.builtAt})`}: ${manifest.build.totalSeconds.toFixed(0)} s total = embeddings ${manifest.build.embedSeconds.toFixed(0)} s + X-Pool terms ${manifest.build.xpoolSeconds.toFixed(0)} s (exact fast path for this corpus) + upserts ${manifest.build.upsertSeconds.toFixed(0)} s + upkeep ${manifest.build.optimizeSeconds.toFixed(0)} s + ANN index ${manifest.build.annSeconds.toFixed(0)} s.`,
      `X-Pool terms: the general builder takes ${manifest.xpool.realMsPerVideo.toFixed(1)} ms/video (${per100k((manifest.xpool.realMsPerVideo * videos) / 1000).toFixed(0)} s per 100k on one core, at index time); the corpus used an exact shortcut (${manifest.xpool.fastMsPerVideo.toFixed(2)} ms/video, max relative difference ${manifest.xpool.maxRelativeDiff.toExponential(1)}).`,
      ...manifest.annComparison.map(
        (a) =>
          `first-stage index ${a.type}: build ${a.buildSeconds.toFixed(0)} s, K′=1000 in ${a.stage1P50.toFixed(1)} ms p50 / ${a.stage1P95.toFixed(1)} ms p95, recall@1000 vs exact ${a.recallAt1000.toFixed(3)}`,
      ),
      `Cold rescore cache: ${(coldFetched / 6).toFixed(0)} candidates read from LanceDB per query.`,
      `Warming the rescore cache: ${warmed} rows in ${warmSeconds.toFixed(1)} s; process RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rss / 2 ** 20).toFixed(0)} MiB after.`,
      `Target (1M): p95 ≤ 50 ms, agreement ≥ 0.99, within 24 GiB. Here: X-Pool p95 ${xp.p95.toFixed(1)} ms, attention p95 ${at.p95.toFixed(1)} ms, agreement ${xp.agreement.toFixed(3)} / ${at.agreement.toFixed(3)}.`,
      `Machine: ${loadBefore} before, ${load()} after (shared machine: latencies are pessimistic).`,
    ];
    const reports: BenchReport[] = [
      {
        name: `index-search-${label}`,
        baseline: 'X-Pool exhaustive exact, whole corpus (p50)',
        rows,
        notes,
      },
    ];
    reports.push(modes);
    if (keepScores) reports.push(codecReport(corpus, head, queries.slice(0, 30), truthScores));
    return reports;
  } finally {
    for (const store of stores) store.close();
  }
}

/**
 * Search by example and moment grouping against text search, on the same store, cache and K′, the queries
 * interleaved so that load drifts hit every mode alike. Text and image rows exclude encoding
 * (`timings.encodeMs`: the text or image encoder); "more like this" keeps it, since there it is the
 * LanceDB lookup of the example video's row (its mean, or its frames for a moment), which is the mode's
 * own cost. The image vector is a frame of the query's target video with noise, as a still of it would be.
 */
async function modesReport(
  search: SearchService,
  corpus: SyntheticCorpus,
  queries: { text: string; target: number; vector: Float32Array }[],
  embedder: BenchEmbedder,
  videos: number,
): Promise<BenchReport> {
  const frames = new Float32Array(FRAMES * DIM);
  const images = queries.map((q, n) => {
    corpus.frames(corpus.recipe(q.target), frames);
    const r = prng(n + 1);
    const v = new Float32Array(DIM);
    for (let d = 0; d < DIM; d++) v[d] = frames[(n % FRAMES) * DIM + d]! + (r() - 0.5) * 0.02;
    embedder.vectors.set(`image:${n}`, v);
    return Uint8Array.of(n & 255, n >> 8);
  });
  const options = { tenant: 'bench', k: 10, pooling: 'xpool' as const };
  const modes = {
    text: (n: number) => search.search(queries[n]!.text, options),
    image: (n: number) => search.search({ image: images[n]! }, options),
    like: (n: number) => search.search({ like: { videoId: `v${queries[n]!.target}` } }, options),
    moment: (n: number) => search.search({ like: { videoId: `v${queries[n]!.target}`, at: 5 } }, options),
    group: (n: number) => search.search(queries[n]!.text, { ...options, group: 'moment' }),
  };
  const times: Record<keyof typeof modes, number[]> = {
    text: [],
    image: [],
    like: [],
    moment: [],
    group: [],
  };
  let found = 0;
  for (const [n] of queries.entries())
    for (const [mode, run] of Object.entries(modes) as [
      keyof typeof modes,
      (n: number) => ReturnType<SearchService['search']>,
    ][]) {
      const response = await run(n);
      if (n === 0) continue; // warm-up
      const encode = mode === 'like' || mode === 'moment' ? 0 : response.timings.encodeMs;
      times[mode].push(response.timings.totalMs - encode);
      if (
        mode === 'image' &&
        response.results.slice(0, 3).some((r) => r.videoId === `v${queries[n]!.target}`)
      )
        found++;
    }
  const rows: BenchRow[] = [];
  const labels: Record<keyof typeof modes, string> = {
    text: 'text search (encoding excluded)',
    image: 'search by image (encoding excluded)',
    like: 'more like this (a video; its lookup included)',
    moment: 'more like this moment (video + time; lookup included)',
    group: 'text search, group=moment',
  };
  for (const q of [0.5, 0.95] as const)
    for (const mode of Object.keys(modes) as (keyof typeof modes)[])
      rows.push({
        case: `${labels[mode]} (p${q * 100})`,
        value: percentile(times[mode], q),
        unit: 'ms',
      });
  return {
    name: `index-search-modes-${videos >= MILLION ? '1M' : `${videos / 1000}k`}`,
    baseline: `${labels.text} (p50)`,
    rows,
    notes: [
      `${videos} videos, LanceDB first stage and warm rescore cache as in index-search, X-Pool pooling, K′=${CHOSEN.kPrime}, k = 10, ${queries.length - 1} queries per mode, interleaved; goal: examples within 1.2× of text search.`,
      `Search by image found the still's video in the top 3 for ${found} of ${queries.length - 1} queries.`,
      `Machine: ${load()}.`,
    ],
  };
}

/**
 * Frame codecs: exhaustive top-10 from float32 frames against fp16 and int8 (the int8 ranking is the
 * rescore cache's), and the largest score difference on the float top-10.
 */
function codecReport(
  corpus: SyntheticCorpus,
  head: ReturnType<typeof syntheticHead>,
  queries: { vector: Float32Array; target: number }[],
  int8Scores: Record<'xpool' | 'attention', Map<string, number>[]>,
): BenchReport {
  const n = corpus.videos;
  const poolings = ['xpool', 'attention'] as const;
  const float: Record<string, Float64Array[]> = {};
  const half: Record<string, Float64Array[]> = {};
  for (const p of poolings) {
    float[p] = queries.map(() => new Float64Array(n));
    half[p] = queries.map(() => new Float64Array(n));
  }
  const xq = queries.map((q) => prepareXPoolCompactQuery(head, q.vector));
  const projector = new AtomProjector(head, corpus);
  const frames = new Float32Array(FRAMES * DIM);
  for (let i = 0; i < n; i++) {
    const recipe = corpus.recipe(i);
    corpus.frames(recipe, frames);
    const stats = encodeFrames(frames, FRAMES, DIM);
    const compact = projector.build(recipe, frames);
    const halfFrames = decodeFrames(encodeFrames(frames, FRAMES, DIM, FrameCodec.fp16));
    for (const [source, out] of [
      [frames, float],
      [halfFrames, half],
    ] as const) {
      const normalised = l2NormalizeRows(source, FRAMES, DIM);
      const gram = gramMatrix(normalised, FRAMES, DIM);
      queries.forEach((q, k) => {
        out.attention![k]![i] = scoreAttention(q.vector, normalised, gram, FRAMES, DIM);
        out.xpool![k]![i] = scoreXPoolCompact(xq[k]!, source, stats.means, stats.variances, compact);
      });
    }
  }
  const top10 = (scores: ArrayLike<number>) =>
    Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => scores[b]! - scores[a]!)
      .slice(0, 10);
  const rows: BenchRow[] = [];
  const rank = (scores: ArrayLike<number>, target: number) => {
    let better = 0;
    for (let i = 0; i < n; i++) if (scores[i]! > scores[target]!) better++;
    return better;
  };
  for (const p of poolings) {
    const recall = { float: [0, 0], half: [0, 0], int8: [0, 0] };
    let agreeHalf = 0;
    let agreeInt8 = 0;
    let diffHalf = 0;
    let diffInt8 = 0;
    queries.forEach((_, k) => {
      const f = float[p]![k]!;
      const h = half[p]![k]!;
      const q8 = int8Scores[p][k]!;
      const int8Array = Float64Array.from({ length: n }, (_, i) => q8.get(videoKey('bench', `v${i}`)) ?? -2);
      const truth = top10(f);
      const target = queries[k]!.target;
      for (const [name, scores] of [
        ['float', f],
        ['half', h],
        ['int8', int8Array],
      ] as const) {
        const r = rank(scores, target);
        recall[name][0]! += r < 1 ? 1 : 0;
        recall[name][1]! += r < 10 ? 1 : 0;
      }
      agreeHalf += agreement(top10(h).map(String), truth.map(String));
      agreeInt8 += agreement(top10(int8Array).map(String), truth.map(String));
      for (const i of truth) {
        diffHalf = Math.max(diffHalf, Math.abs(h[i]! - f[i]!));
        diffInt8 = Math.max(diffInt8, Math.abs(int8Array[i]! - f[i]!));
      }
    });
    const name = p === 'xpool' ? 'X-Pool' : 'attention';
    rows.push(
      {
        case: `${name}: top-10 agreement, fp16 vs float32`,
        value: agreeHalf / queries.length,
        unit: 'fraction',
      },
      {
        case: `${name}: top-10 agreement, int8 vs float32`,
        value: agreeInt8 / queries.length,
        unit: 'fraction',
      },
      { case: `${name}: max |score difference| on the top-10, fp16`, value: diffHalf, unit: 'cosine' },
      { case: `${name}: max |score difference| on the top-10, int8`, value: diffInt8, unit: 'cosine' },
      ...(['float', 'half', 'int8'] as const).flatMap((codec) => [
        {
          case: `${name}: R@1 of the described video, ${codec}`,
          value: recall[codec][0]! / queries.length,
          unit: 'fraction',
        },
        {
          case: `${name}: R@10 of the described video, ${codec}`,
          value: recall[codec][1]! / queries.length,
          unit: 'fraction',
        },
      ]),
    );
  }
  return {
    name: 'index-frame-codec',
    rows,
    notes: [
      `${n} videos, ${queries.length} queries, exhaustive exact scoring with frames stored as float32 (reference), fp16 and int8 with a per-frame scale (the rescore cache's form).`,
      `Bytes per video for 12×512 frames: float32 24 576, fp16 12 288, int8 6 144 (+ 4 floats of per-frame statistics in every codec).`,
    ],
  };
}

/**
 * Runs the benchmark at the given scales; 1M is always included when its corpus exists, and built first
 * when `build1M` is true.
 */
export async function runSearchBench(
  options: { scales?: number[]; build1M?: boolean } = {},
): Promise<BenchReport[]> {
  mkdirSync(cacheRoot, { recursive: true });
  const reports: BenchReport[] = [];
  for (const videos of [...(options.scales ?? SCALES), MILLION]) {
    const corpus = await ensureCorpus(videos, options.build1M ?? BUILD_1M);
    if (corpus === null) {
      console.log('  1M corpus not built (BENCH_BUILD_1M=1 npm run bench -- index-search builds it once)');
      continue;
    }
    reports.push(...(await measure(videos, corpus.dir, corpus.manifest, corpus.rebuilt)));
  }
  return reports;
}

const bench: Benchmark = { name: 'index-search', run: () => runSearchBench() };

export default bench;
