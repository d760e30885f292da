/**
 * The sweep and a 100-file submit's duplicate check over catalogues of 100k and 1M videos, before and
 * after they were made to scale (issue 17), in the same run: time, peak resident memory and peak JS heap, each
 * measured in a process of its own (catalogue-probe.ts).
 *
 * Catalogue: `videos` records of one tenant (`bench`), 99 % indexed with embeddings of one tiny model
 * (D = 8, F = 2: the sweep and the duplicate check read keys and statuses, never vectors, so vector size
 * does not matter to them), 1 % failed (half of those retryable, which the sweep re-runs), after upkeep
 * (the scalar indexes built). Built once into <repo>/.reel/bench-index/catalogue-<videos>/ and reused;
 * delete the folder to rebuild.
 *
 * Goal: the sweep's memory independent of the catalogue's size; the submit check independent of the
 * number of indexed videos.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildVideoEmbeddings, LanceIndexStore, type VideoRecord } from '@reel/index';
import type { Benchmark, BenchReport, BenchRow } from '@reel/infra';

const SCALES = [100_000, 1_000_000];
const FINGERPRINT = 'sha256:bench-catalogue-tiny-model';
const D = 8;
const F = 2;
const CHUNK = 20_000;
const root = path.resolve(import.meta.dirname, '..', '..');
const cacheRoot = path.join(root, '.reel', 'bench-index');
const probe = path.join(import.meta.dirname, 'catalogue-probe.ts');

function videoId(i: number): string {
  return `v_${i.toString(16).padStart(24, '0')}`;
}

/** Builds (or reuses) a catalogue of `videos` videos; returns its folder and the build seconds. */
async function catalogue(videos: number): Promise<{ dir: string; buildSeconds: number }> {
  const dir = path.join(cacheRoot, `catalogue-${videos}`);
  const manifest = path.join(dir, 'manifest.json');
  if (existsSync(manifest))
    return JSON.parse(readFileSync(manifest, 'utf8')) as { dir: string; buildSeconds: number };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const store = await LanceIndexStore.open({ dir: path.join(dir, 'lancedb') });
  const frames = new Float32Array(F * D);
  for (let start = 0; start < videos; start += CHUNK) {
    const records: VideoRecord[] = [];
    for (let i = start; i < Math.min(videos, start + CHUNK); i++) {
      const failed = i % 100 === 0;
      records.push({
        tenant: 'bench',
        id: videoId(i),
        title: `video ${i}`,
        tags: i % 7 === 0 ? ['seven'] : [],
        createdAt: new Date(1_700_000_000_000 + i * 1000),
        ingestedAt: failed ? null : new Date(1_700_000_000_000 + i * 1000),
        durationSeconds: 30,
        source: `/library/${i}.mp4`,
        sha256: i.toString(16).padStart(64, '0'),
        fingerprint: failed ? null : FINGERPRINT,
        status: failed ? 'failed' : 'indexed',
        error: failed ? { code: 'FFMPEG_TIMEOUT', message: 'killed', retryable: i % 200 === 0 } : null,
      });
    }
    await store.upsertVideos(records);
    await store.upsertEmbeddings(
      records
        .filter((r) => r.status === 'indexed')
        .map((r, n) => {
          for (let k = 0; k < frames.length; k++) frames[k] = Math.sin(n * 0.37 + k);
          return buildVideoEmbeddings({
            tenant: r.tenant,
            videoId: r.id,
            fingerprint: FINGERPRINT,
            frames,
            frameCount: F,
            dim: D,
            timestamps: [5, 15],
            thumbnails: ['a.webp', 'b.webp'],
          });
        }),
    );
    process.stdout.write(`\r  catalogue ${videos}: ${Math.min(videos, start + CHUNK)} videos`);
  }
  await store.optimize({ pruneOlderThanMs: 0 });
  store.close();
  const built = { dir: path.join(dir, 'lancedb'), buildSeconds: (performance.now() - started) / 1000 };
  writeFileSync(manifest, JSON.stringify(built));
  process.stdout.write('\n');
  return built;
}

interface ProbeResult {
  ms: number;
  peakMiB: number;
  baseMiB: number;
  [key: string]: number;
}

/** The old-space cap of the capped sweep: V8 collects lazily under a roomy heap, so only a cap shows
 * what the sweep must hold (the sweep before holds every row and cannot run under it). */
const CAPPED_HEAP_MIB = 48;

function run(mode: string, dir: string, nodeOptions: string[] = []): ProbeResult {
  const child = spawnSync(process.execPath, [...nodeOptions, '--expose-gc', probe, mode, dir, FINGERPRINT], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`probe ${mode} failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ProbeResult;
}

const bench: Benchmark = {
  name: 'catalogue-scale',
  async run() {
    const sweep: BenchRow[] = [];
    const submit: BenchRow[] = [];
    const notes: string[] = [];
    for (const videos of SCALES) {
      const { dir, buildSeconds } = await catalogue(videos);
      notes.push(`catalogue ${videos}: built in ${buildSeconds.toFixed(0)} s`);
      const label = videos >= 1_000_000 ? `${videos / 1_000_000}M` : `${videos / 1000}k`;
      for (const when of ['before', 'after'] as const) {
        const s = run(`sweep-${when}`, dir);
        sweep.push({ case: `sweep ${when}, ${label} videos`, value: s.ms / 1000, unit: 's' });
        sweep.push({
          case: `sweep ${when}, ${label} videos, peak memory above start`,
          value: s.peakMiB - s.baseMiB,
          unit: 'MiB',
        });
        sweep.push({
          case: `sweep ${when}, ${label} videos, peak JS heap above start`,
          value: s.heapPeakMiB! - s.heapBaseMiB!,
          unit: 'MiB',
        });
        if (when === 'after') {
          const capped = run('sweep-after', dir, [`--max-old-space-size=${CAPPED_HEAP_MIB}`]);
          sweep.push({
            case: `sweep after, ${label} videos, in a ${CAPPED_HEAP_MIB} MiB heap`,
            value: capped.ms / 1000,
            unit: 's',
          });
          sweep.push({
            case: `sweep after, ${label} videos, in a ${CAPPED_HEAP_MIB} MiB heap, peak JS heap above start`,
            value: capped.heapPeakMiB! - capped.heapBaseMiB!,
            unit: 'MiB',
          });
          const scan = run('sweep-after-scan', dir);
          sweep.push({
            case: `sweep after, scan alone (nothing to re-run), ${label} videos`,
            value: scan.ms / 1000,
            unit: 's',
          });
          sweep.push({
            case: `sweep after, scan alone, ${label} videos, peak memory above start`,
            value: scan.peakMiB - scan.baseMiB,
            unit: 'MiB',
          });
          sweep.push({
            case: `sweep after, scan alone, ${label} videos, peak JS heap above start`,
            value: scan.heapPeakMiB! - scan.heapBaseMiB!,
            unit: 'MiB',
          });
        }
        if (when === 'before')
          notes.push(
            `sweep before at ${label}: collecting every row took ${(s.collectMs! / 1000).toFixed(1)} s, then ${s.perVideoMs!.toFixed(2)} ms per indexed video to check its vectors (timed on 2000, scaled to all)`,
          );
        else notes.push(`sweep after at ${label}: ${s.rerun} retryable failures re-run`);
        const c = run(`submit-${when}`, dir);
        submit.push({ case: `100-file duplicate check ${when}, ${label} videos`, value: c.ms, unit: 'ms' });
      }
    }
    const reports: BenchReport[] = [
      { name: 'catalogue-sweep', baseline: 'sweep before, 1M videos', rows: sweep, notes },
      {
        name: 'catalogue-submit-check',
        baseline: '100-file duplicate check before, 1M videos',
        rows: submit,
        notes: [],
      },
    ];
    return reports;
  },
};

export default bench;
