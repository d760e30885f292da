/**
 * HTTP API search (issue 7): throughput and p50/p99 latency of `GET /v1/search?q=…&k=10` under 32
 * concurrent connections (autocannon, in its own process: http-load-client.ts) on a 10k-video index of
 * the synthetic model, against the same search called in-process by 32 concurrent callers in the same
 * run (the baseline): the difference is what the API costs (HTTP, routing, auth, rate limiting, JSON
 * schema validation and serialisation, metrics).
 *
 * Both sides hit one server started with `startServer` (real config, Redis pointer, LiveSearch) on a
 * unique queue prefix: the baseline calls `deps.search.service()` then `search()` with the route's
 * arguments, so it shares the HTTP side's SearchService, caches and pooling (the default: attention, no
 * X-Pool head). They alternate (in-process, HTTP, in-process, HTTP) so that a change in the machine's
 * load hits both alike; latencies of both rounds are pooled.
 *
 * The index is built once into <repo>/.reel/bench-index/api-10k/ (data folder with the synthetic model
 * and LanceDB, plus manifest.json) and rebuilt when the synthetic model's fingerprint changes; delete the
 * folder to rebuild. Frames are real image embeddings of the synthetic model: 408 generated pictures
 * (solid colours, two-colour halves and centre boxes) go through the real image encoder once; each video
 * has 3 scenes, each one of those pictures, and every one of its 12 frames is its scene's embedding plus
 * noise. The query set names colours and positions, so every query has real matches.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildVideoEmbeddings, LanceIndexStore, type VideoRecord, VideoStatus } from '@reel/index';
import {
  type Benchmark,
  type BenchReport,
  childResult,
  createLogger,
  loadConfig,
  percentile,
  ReelError,
} from '@reel/infra';
import {
  ClipModel,
  createInferencePool,
  DEFAULT_MODEL_ID,
  type RawFrame,
  SYNTHETIC_COLOURS,
  writeSyntheticClip,
} from '@reel/models';
import { prng } from '../../index/bench/synthetic-corpus.ts';
import { startServer } from '../src/http/server.ts';
import { LOCAL_TENANT } from '../src/keys/key-store.ts';
import type { LoadOptions, LoadResult } from './http-load-client.ts';

const VIDEOS = 10_000;
const FRAMES = 12;
const CONNECTIONS = 32;
const K = 10;
const WARMUP_SECONDS = 5;
/** Each side runs ROUNDS rounds of ROUND_SECONDS, alternating. */
const ROUND_SECONDS = 15;
const ROUNDS = 2;
/** Relative norm of the per-frame noise added to a scene's (unit) image embedding. */
const FRAME_NOISE = 0.3;
const UPSERT_BATCH = 2000;
const MANIFEST_VERSION = 1;
const QUERIES = [
  'red',
  'a blue box at the top',
  'green on the left',
  'yellow in the centre',
  'purple and orange',
  'dark',
  'white on the right',
  'pink at the bottom',
];

const root = path.resolve(import.meta.dirname, '..', '..');
const cacheDir = path.join(root, '.reel', 'bench-index', 'api-10k');
const dataDir = path.join(cacheDir, 'data');
const manifestFile = path.join(cacheDir, 'manifest.json');
const clientScript = path.join(import.meta.dirname, 'http-load-client.ts');

interface Manifest {
  version: number;
  videos: number;
  fingerprint: string;
  dim: number;
  pictures: number;
  builtAt: string;
  buildSeconds: number;
  complete: boolean;
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

// ---------------------------------------------------------------- build

interface Picture {
  name: string;
  frame: RawFrame;
}

/** 224×224 pictures: each colour solid, and every ordered pair as left|right, top|bottom, box on background. */
function pictures(): Picture[] {
  const size = 224;
  const rgb = (c: number) => SYNTHETIC_COLOURS[c]!.rgb.map((v) => Math.round(v * 255));
  const paint = (name: string, colourAt: (row: number, col: number) => number): Picture => {
    const data = new Uint8Array(size * size * 3);
    for (let row = 0; row < size; row++)
      for (let col = 0; col < size; col++) {
        const [r, g, b] = rgb(colourAt(row, col));
        const o = (row * size + col) * 3;
        data[o] = r!;
        data[o + 1] = g!;
        data[o + 2] = b!;
      }
    return { name, frame: { data, width: size, height: size } };
  };
  const name = (c: number) => SYNTHETIC_COLOURS[c]!.name;
  const out: Picture[] = [];
  const n = SYNTHETIC_COLOURS.length;
  for (let a = 0; a < n; a++) out.push(paint(name(a), () => a));
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      out.push(paint(`${name(a)} left, ${name(b)} right`, (_r, c) => (c < size / 2 ? a : b)));
      out.push(paint(`${name(a)} top, ${name(b)} bottom`, (r) => (r < size / 2 ? a : b)));
      const inBox = (r: number, c: number) => r >= 56 && r < 168 && c >= 56 && c < 168;
      out.push(paint(`${name(a)} box on ${name(b)}`, (r, c) => (inBox(r, c) ? a : b)));
    }
  return out;
}

async function buildIndex(clip: ClipModel): Promise<Manifest> {
  const started = performance.now();
  rmSync(manifestFile, { force: true });
  rmSync(path.join(dataDir, 'lancedb'), { recursive: true, force: true });
  const pics = pictures();
  const embedded = await clip.encodeImages(pics.map((p) => p.frame));
  const D = clip.dim;
  console.log(
    `  ${pics.length} pictures embedded (${((performance.now() - started) / 1000).toFixed(1)} s); writing ${VIDEOS} videos`,
  );
  const store = await LanceIndexStore.open({ dir: path.join(dataDir, 'lancedb') });
  try {
    const frames = new Float32Array(FRAMES * D);
    for (let start = 0; start < VIDEOS; start += UPSERT_BATCH) {
      const records: VideoRecord[] = [];
      const embeddings = [];
      for (let i = start; i < Math.min(VIDEOS, start + UPSERT_BATCH); i++) {
        const next = prng(0x7eed + i * 7919);
        const scenes = [0, 1, 2].map(() => Math.floor(next() * pics.length));
        const cut1 = 2 + Math.floor(next() * (FRAMES - 5));
        const cut2 = cut1 + 2 + Math.floor(next() * (FRAMES - cut1 - 3));
        const duration = 20 + Math.round(next() * 280);
        for (let f = 0; f < FRAMES; f++) {
          const scene = embedded[scenes[f < cut1 ? 0 : f < cut2 ? 1 : 2]!]!;
          let norm = 0;
          for (let d = 0; d < D; d++) {
            const v = scene[d]! + (FRAME_NOISE / Math.sqrt(D)) * gaussian(next);
            frames[f * D + d] = v;
            norm += v * v;
          }
          const inv = 1 / Math.sqrt(norm);
          for (let d = 0; d < D; d++) frames[f * D + d] = frames[f * D + d]! * inv;
        }
        const sha256 = createHash('sha256').update(`reel api bench video ${i}`).digest('hex');
        // as workers' videoIdFor: the id is a hash of tenant and content
        const videoId = `v_${createHash('sha256').update(`${LOCAL_TENANT}\0${sha256}`).digest('hex').slice(0, 24)}`;
        records.push({
          tenant: LOCAL_TENANT,
          id: videoId,
          title: `bench ${i}: ${scenes.map((s) => pics[s]!.name).join(' / ')}`,
          tags: ['bench'],
          createdAt: new Date(Date.UTC(2020, 0, 1) + (i % 1461) * 86_400_000),
          ingestedAt: new Date(),
          durationSeconds: duration,
          source: `bench-${i}.mp4`,
          sha256,
          fingerprint: clip.fingerprint,
          status: VideoStatus.indexed,
          error: null,
        });
        embeddings.push(
          buildVideoEmbeddings({
            tenant: LOCAL_TENANT,
            videoId,
            fingerprint: clip.fingerprint,
            frames,
            frameCount: FRAMES,
            dim: D,
            timestamps: Array.from({ length: FRAMES }, (_, f) => ((f + 0.5) * duration) / FRAMES),
            thumbnails: Array.from({ length: FRAMES }, (_, f) => `${videoId}/${f}.webp`),
          }),
        );
      }
      await store.upsertVideos(records);
      await store.upsertEmbeddings(embeddings);
    }
    // what the scheduled upkeep does: compaction, scalar indexes and (≥ 5000 rows) the vector index
    await store.optimize({ pruneOlderThanMs: 0 });
  } finally {
    store.close();
  }
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    videos: VIDEOS,
    fingerprint: clip.fingerprint,
    dim: D,
    pictures: pics.length,
    builtAt: new Date().toISOString(),
    buildSeconds: (performance.now() - started) / 1000,
    complete: true,
  };
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Writes the synthetic model (cheap, deterministic), then builds the index unless one for it exists. */
async function ensureIndex(): Promise<{ manifest: Manifest; rebuilt: boolean }> {
  mkdirSync(cacheDir, { recursive: true });
  await writeSyntheticClip(path.join(dataDir, 'models', DEFAULT_MODEL_ID));
  const pool = createInferencePool({ size: 1 });
  const clip = await ClipModel.load(path.join(dataDir, 'models', DEFAULT_MODEL_ID), { pool });
  try {
    if (existsSync(manifestFile)) {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
      if (
        manifest.complete &&
        manifest.version === MANIFEST_VERSION &&
        manifest.videos === VIDEOS &&
        manifest.fingerprint === clip.fingerprint
      )
        return { manifest, rebuilt: false };
    }
    console.log(`  building the ${VIDEOS}-video index under ${path.relative(root, cacheDir)}`);
    return { manifest: await buildIndex(clip), rebuilt: true };
  } finally {
    await clip.close();
    await pool.close();
  }
}

// ---------------------------------------------------------------- measure

interface Sample {
  latencies: number[];
  seconds: number;
  /** CPU time of this process (the server's, for HTTP rounds), ms. */
  cpuMs: number;
  failures: number;
  /** The first failure's message (in-process only: the server logs the HTTP ones). */
  firstError?: string;
  clientCpuMs?: number;
  statusCodes?: Record<string, number>;
}

function searchPath(query: string): string {
  return `/v1/search?q=${encodeURIComponent(query)}&k=${K}`;
}

/**
 * CONNECTIONS concurrent callers, each running the searches back to back for `seconds`. A failed search
 * is counted (as autocannon counts a non-2xx) and the caller goes on; only successes are timed.
 */
async function inProcess(search: () => Promise<unknown>, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  let failures = 0;
  let firstError: string | undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await search();
          latencies.push(performance.now() - t);
        } catch (error) {
          failures++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return {
    latencies,
    seconds: (performance.now() - started) / 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    failures,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** autocannon in a child process against the server; this process keeps serving meanwhile. */
async function overHttp(url: string, seconds: number): Promise<Sample> {
  const options: LoadOptions = { url, connections: CONNECTIONS, seconds, paths: QUERIES.map(searchPath) };
  const cpuBefore = process.cpuUsage();
  const child = spawn(process.execPath, [clientScript, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { code, stdout, stderr } = await childResult(child);
  const cpu = process.cpuUsage(cpuBefore);
  if (code !== 0)
    throw new ReelError(
      'BENCH_FAILED',
      `${path.basename(clientScript)} exited with ${code}: ${stderr.trim()}`,
    );
  const result = JSON.parse(stdout) as LoadResult;
  return {
    latencies: result.latencies,
    seconds: result.seconds,
    cpuMs: (cpu.user + cpu.system) / 1000,
    failures: result.non2xx + result.errors + result.timeouts,
    clientCpuMs: result.clientCpuMs,
    statusCodes: result.statusCodes,
  };
}

function pooled(samples: Sample[]) {
  const latencies = samples.flatMap((s) => s.latencies);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const cpuMs = samples.reduce((sum, s) => sum + s.cpuMs, 0);
  return {
    count: latencies.length,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuMsPerSearch: cpuMs / latencies.length,
    failures: samples.reduce((sum, s) => sum + s.failures, 0),
    clientCpuMsPerRequest: samples.reduce((sum, s) => sum + (s.clientCpuMs ?? 0), 0) / latencies.length,
    statusCodes: samples.reduce<Record<string, number>>((all, s) => {
      for (const [code, n] of Object.entries(s.statusCodes ?? {})) all[code] = (all[code] ?? 0) + n;
      return all;
    }, {}),
  };
}

async function measure(manifest: Manifest, rebuilt: boolean): Promise<BenchReport[]> {
  const loadBefore = load();
  const config = loadConfig(
    {
      REEL_DATA_DIR: dataDir,
      REEL_MODEL: DEFAULT_MODEL_ID,
      REEL_QUEUE_PREFIX: `{bench-api-${randomUUID().slice(0, 8)}}`,
      REEL_LOG_LEVEL: 'warn',
      REEL_API_PORT: '0',
      // the limit guards a public server; the benchmark sends ~10⁴ requests a minute from one address
      REEL_API_RATE_LIMIT: '1000000',
    },
    cacheDir,
  );
  const logger = createLogger({ level: config.logLevel, name: 'reel-bench' });
  const server = await startServer(config, logger);
  const runKeys = `${config.queuePrefix}*`;
  try {
    const live = server.deps.search;
    const service = await live.service();
    if (live.fingerprint !== manifest.fingerprint)
      throw new ReelError(
        'BENCH_FAILED',
        `the server searches ${live.fingerprint}, the index was built for ${manifest.fingerprint}`,
      );
    // the route's call, minus HTTP
    let turn = 0;
    const searchOnce = async () =>
      (await live.service()).search(QUERIES[turn++ % QUERIES.length]!, { tenant: LOCAL_TENANT, k: K });

    // both paths return the same real results
    const topScores: number[] = [];
    for (const query of QUERIES) {
      const direct = await service.search(query, { tenant: LOCAL_TENANT, k: K });
      const response = await fetch(`${server.url}${searchPath(query)}`);
      const body = (await response.json()) as { results?: { videoId: string; score: number }[] };
      const viaHttp = (body.results ?? []).map((r) => r.videoId).sort();
      const expected = direct.results.map((r) => r.videoId).sort();
      if (response.status !== 200 || direct.results.length !== K || viaHttp.join() !== expected.join())
        throw new ReelError(
          'BENCH_FAILED',
          `query "${query}": HTTP ${response.status} returned ${viaHttp.length} results, in-process ${direct.results.length}; they must be the same ${K}`,
        );
      topScores.push(direct.results[0]!.score);
    }

    // a failure is a bug, not a figure: stop at the first warm-up that has one (the server logs each)
    for (const side of [
      () => inProcess(searchOnce, WARMUP_SECONDS),
      () => overHttp(server.url, WARMUP_SECONDS),
    ]) {
      const sample = await side();
      if (sample.failures > 0)
        throw new ReelError(
          'BENCH_FAILED',
          `${sample.failures} searches failed in the ${sample.statusCodes ? 'HTTP' : 'in-process'} warm-up with ${CONNECTIONS} concurrent callers: ${sample.firstError ?? `status codes ${JSON.stringify(sample.statusCodes)} (the server log says why)`}`,
        );
    }
    const direct: Sample[] = [];
    const http: Sample[] = [];
    const rounds: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const d = await inProcess(searchOnce, ROUND_SECONDS);
      const h = await overHttp(server.url, ROUND_SECONDS);
      direct.push(d);
      http.push(h);
      rounds.push(
        `round ${round + 1}: in-process ${(d.latencies.length / d.seconds).toFixed(0)}/s, HTTP ${(h.latencies.length / h.seconds).toFixed(0)}/s (load ${load()})`,
      );
    }
    const a = pooled(direct);
    const b = pooled(http);
    const directFailures = direct.reduce((sum, s) => sum + s.failures, 0);
    const httpFailures = b.failures;
    const failed = directFailures > 0 || httpFailures > 0;
    const report: BenchReport = {
      name: 'api-http-search',
      rows: [
        {
          case: 'in-process search, 32 concurrent callers: throughput',
          value: a.perSecond,
          unit: 'searches/s',
          ratio: 1,
        },
        {
          case: 'HTTP GET /v1/search, 32 connections: throughput',
          value: b.perSecond,
          unit: 'req/s',
          ratio: b.perSecond / a.perSecond,
        },
        { case: 'in-process search: p50 latency', value: a.p50, unit: 'ms', ratio: 1 },
        { case: 'HTTP GET /v1/search: p50 latency', value: b.p50, unit: 'ms', ratio: b.p50 / a.p50 },
        { case: 'in-process search: p99 latency', value: a.p99, unit: 'ms', ratio: 1 },
        { case: 'HTTP GET /v1/search: p99 latency', value: b.p99, unit: 'ms', ratio: b.p99 / a.p99 },
        { case: 'in-process search: CPU per search', value: a.cpuMsPerSearch, unit: 'ms', ratio: 1 },
        {
          case: 'HTTP GET /v1/search: server CPU per request',
          value: b.cpuMsPerSearch,
          unit: 'ms',
          ratio: b.cpuMsPerSearch / a.cpuMsPerSearch,
        },
        { case: 'HTTP GET /v1/search: non-2xx, errors and timeouts', value: httpFailures, unit: 'responses' },
      ],
      notes: [
        `Ratios: each HTTP row against the in-process row of the same measure (1.000× = the API costs nothing).`,
        `${VIDEOS} videos × ${FRAMES} frames of the synthetic model (D = ${manifest.dim}, ${manifest.fingerprint.slice(0, 19)}…), tenant "${LOCAL_TENANT}", ANN first stage (IVF, built by optimize), default pooling (attention; no X-Pool head), k = ${K}; index ${rebuilt ? `built in this run (${manifest.buildSeconds.toFixed(0)} s)` : `reused from ${manifest.builtAt}`} under .reel/bench-index/api-10k.`,
        `Queries (rotated; embeddings come from the query LRU after the first pass, so text encoding is not measured): ${QUERIES.map((q) => `"${q}"`).join(', ')}; top-1 cosine ${Math.min(...topScores).toFixed(3)}–${Math.max(...topScores).toFixed(3)}; HTTP and in-process return the same ${K} videos for every query.`,
        `${CONNECTIONS} concurrent callers / connections; ${WARMUP_SECONDS} s warm-up each, then ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s per side (in-process first), latencies pooled: ${a.count} in-process searches, ${b.count} HTTP requests.`,
        `In-process: deps.search.service() then SearchService.search() with the route's arguments, on the server's own SearchService. HTTP: autocannon 8 in a separate process (keep-alive, no pipelining) on the same 2 cores; its CPU was ${b.clientCpuMsPerRequest.toFixed(2)} ms per request. Server CPU per request counts this whole process (Node and LanceDB threads).`,
        ...rounds,
        `Status codes: ${JSON.stringify(b.statusCodes)}; goal 0 failures (non-2xx, errors, timeouts; failed in-process searches): ${failed ? 'NOT MET' : 'met'}.`,
        `Load average (1/5/15 min) before ${loadBefore}, after ${load()} on ${os.availableParallelism()} cores: other work (other sessions' builds and tests) may have shared the CPU, so compare the ratios more than the absolute figures.`,
      ],
    };
    if (failed)
      throw new ReelError(
        'BENCH_FAILED',
        `searches failed under ${CONNECTIONS} concurrent callers: in-process ${directFailures} (first: ${direct.find((s) => s.firstError)?.firstError ?? 'none'}), HTTP ${httpFailures} non-2xx/errors/timeouts (status codes ${JSON.stringify(b.statusCodes)}; the server log says why). Measured anyway: ${JSON.stringify(report.rows.map((r) => [r.case, Number(r.value.toPrecision(4)), r.unit]))}`,
      );
    return [report];
  } finally {
    // the pointer and queue keys of this run's prefix
    const redis = server.deps.pipeline.redis;
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', runKeys, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = nextCursor;
    } while (cursor !== '0');
    await server.close();
  }
}

const bench: Benchmark = {
  name: 'http-search',
  async run() {
    const { manifest, rebuilt } = await ensureIndex();
    return measure(manifest, rebuilt);
  },
};

export default bench;
