/**
 * One measurement of catalogue-scale.bench.ts, in a process of its own so that its peak resident memory
 * is its own: `node catalogue-probe.ts <mode> <lancedb folder> <fingerprint>`, printing one JSON line
 * { ms, peakMiB, baseMiB, ... }.
 *
 * Modes: `sweep-before` (what the sweep did before: every row of every video collected, offset pages
 * sorted by key, then one whole-row embeddings read per indexed video, timed on a sample and scaled),
 * `sweep-after` (ReindexService.sweep over the streamed scan with one keyed read per batch),
 * `sweep-after-scan` (the same sweep for a tenant with no videos: the scan's own memory),
 * `submit-before` (a 100-file submit's duplicate check as it was: per file, a record read and a
 * whole-row read per model table), `submit-after` (two keyed reads for the batch).
 */
import * as lancedb from '@lancedb/lancedb';
import { LanceIndexStore, type VideoRecord } from '@reel/index';
import { createLogger } from '@reel/infra';
import { IndexCatalog } from '../src/adapters/index-catalog.ts';
import type { ModelRef } from '../src/jobs.ts';
import type { SearchModelPointer } from '../src/search-model.ts';
import type { BatchService } from '../src/services/batch.service.ts';
import { ReindexService } from '../src/services/reindex.service.ts';

const [mode, dir, fingerprint] = process.argv.slice(2) as [string, string, string];
const MiB = 1024 * 1024;
const rss = () => process.memoryUsage().rss / MiB;
const heap = () => process.memoryUsage().heapUsed / MiB;

/**
 * Peak RSS and JS heap, sampled every 5 ms while `work` runs (maxRSS would count the store's opening
 * too). The heap is what the sweep's own code holds; RSS adds LanceDB's native buffers and caches.
 */
async function measured<T>(work: () => Promise<T>): Promise<{
  ms: number;
  peakMiB: number;
  baseMiB: number;
  heapPeakMiB: number;
  heapBaseMiB: number;
  value: T;
}> {
  globalThis.gc?.();
  const baseMiB = rss();
  const heapBaseMiB = heap();
  let peakMiB = baseMiB;
  let heapPeakMiB = heapBaseMiB;
  const sample = () => {
    peakMiB = Math.max(peakMiB, rss());
    heapPeakMiB = Math.max(heapPeakMiB, heap());
  };
  const sampler = setInterval(sample, 5);
  const started = performance.now();
  const value = await work();
  const ms = performance.now() - started;
  clearInterval(sampler);
  sample();
  return { ms, peakMiB, baseMiB, heapPeakMiB, heapBaseMiB, value };
}

const store = await LanceIndexStore.open({ dir });
const catalog = new IndexCatalog(store);
const model: ModelRef = { dir: '/bench/model', fingerprint };
const IDS_KNOWN = 50;

/** The ids a 100-file submit checks: 50 the catalogue has (indexed), 50 it does not. */
async function submitIds(): Promise<string[]> {
  const known: string[] = [];
  for await (const batch of store.scanVideos(['indexed'], { batchSize: IDS_KNOWN })) {
    known.push(...batch.filter((v) => v.tenant === 'bench').map((v) => v.id));
    if (known.length >= IDS_KNOWN) break;
  }
  return [
    ...known.slice(0, IDS_KNOWN),
    ...Array.from({ length: 50 }, (_, i) => `v_new${String(i).padStart(21, '0')}`),
  ];
}

let result: Record<string, number>;
if (mode === 'sweep-before') {
  const db = await lancedb.connect(dir);
  const table = await db.openTable('videos');
  const columns = [
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
  ];
  const collect = await measured(async () => {
    const out: Record<string, unknown>[] = [];
    for (let offset = 0; ; offset += 10_000) {
      const arrow = await table
        .query()
        .where(`status IN ('failed', 'processing', 'queued', 'indexed')`)
        .select(columns)
        .orderBy([{ columnName: 'key', ascending: true }])
        .offset(offset)
        .limit(10_000)
        .toArrow();
      for (let i = 0; i < arrow.numRows; i++)
        out.push(Object.fromEntries(columns.map((c) => [c, arrow.getChild(c)?.get(i)])));
      if (arrow.numRows < 10_000) return out;
    }
  });
  const indexed = collect.value.filter((v) => v.status === 'indexed');
  const sample = indexed.slice(0, 2000);
  const perVideo = await measured(async () => {
    for (const v of sample) await store.getEmbeddings(v.tenant as string, v.id as string, fingerprint);
  });
  const extrapolatedMs = (perVideo.ms / sample.length) * indexed.length;
  result = {
    ms: collect.ms + extrapolatedMs,
    collectMs: collect.ms,
    perVideoMs: perVideo.ms / sample.length,
    peakMiB: Math.max(collect.peakMiB, perVideo.peakMiB),
    baseMiB: collect.baseMiB,
    heapPeakMiB: Math.max(collect.heapPeakMiB, perVideo.heapPeakMiB),
    heapBaseMiB: collect.heapBaseMiB,
    videos: collect.value.length,
  };
} else if (mode === 'sweep-after' || mode === 'sweep-after-scan') {
  const reindex = new ReindexService({
    index: catalog,
    // Nothing to re-run in the bench catalogue's state but its retryable failures: batches only enqueue.
    batches: {
      enqueueKnown: async (batch: { id: string }, jobs: unknown[]) => ({
        batchId: batch.id,
        existing: false,
        videos: jobs,
      }),
    } as unknown as BatchService,
    pointer: { get: async () => ({ ...model, switchedAt: 0 }) } as unknown as SearchModelPointer,
    jobs: {} as never,
    logger: createLogger({ level: 'silent', name: 'bench' }),
  });
  // `sweep-after-scan` sweeps a tenant that has no videos: the whole catalogue is scanned, nothing is
  // kept, so its memory is the scan's alone (the re-run set grows with the failures, not the catalogue).
  const sweep = await measured(() => reindex.sweep(mode === 'sweep-after-scan' ? { tenant: 'nobody' } : {}));
  result = {
    ms: sweep.ms,
    peakMiB: sweep.peakMiB,
    baseMiB: sweep.baseMiB,
    heapPeakMiB: sweep.heapPeakMiB,
    heapBaseMiB: sweep.heapBaseMiB,
    rerun: sweep.value.videos ?? 0,
  };
} else if (mode === 'submit-before') {
  const ids = await submitIds();
  const check = await measured(async () => {
    let duplicates = 0;
    for (const id of ids) {
      const record: VideoRecord | null = await store.getVideo('bench', id);
      if (record?.status !== 'indexed') continue;
      const fingerprints: string[] = [];
      for (const fp of await store.fingerprints())
        if (await store.getEmbeddings('bench', id, fp)) fingerprints.push(fp);
      if (fingerprints.includes(fingerprint)) duplicates++;
    }
    return duplicates;
  });
  result = { ms: check.ms, peakMiB: check.peakMiB, baseMiB: check.baseMiB, duplicates: check.value };
} else if (mode === 'submit-after') {
  const ids = await submitIds();
  const check = await measured(async () => {
    const records = await catalog.getVideos('bench', ids);
    const embedded = await catalog.embeddedIds('bench', ids, fingerprint);
    return ids.filter((id) => records.get(id)?.status === 'indexed' && embedded.has(id)).length;
  });
  result = { ms: check.ms, peakMiB: check.peakMiB, baseMiB: check.baseMiB, duplicates: check.value };
} else throw new Error(`unknown mode ${mode}`);

store.close();
console.log(JSON.stringify(result));
