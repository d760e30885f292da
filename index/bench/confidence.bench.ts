/**
 * What confidence (confidence.ts) adds to a search: latency of the two-stage search with and without the
 * reference texts, attention and X-Pool pooling, in one run, on an in-memory store of 600 videos (F = 12,
 * D = 512; every video a candidate), 60 queries each after warming. A video's reference statistics are
 * kept across queries, so the cost is paid the first time a video reaches a top 10.
 */
import type { Benchmark, BenchReport } from '@reel/infra';
import { SearchService } from '../src/search/search-service.ts';
import {
  FakeEmbedder,
  MemoryStore,
  makeEmbeddings,
  makeRecord,
  sceneFrames,
} from '../test/helpers/index-fixtures.ts';
import { randomHead, rng } from '../test/helpers/pooling-fixtures.ts';

const F = 12;
const D = 512;
const VIDEOS = 600;
const QUERIES = 60;

const benchmark: Benchmark = {
  name: 'search-confidence',
  async run(): Promise<BenchReport[]> {
    const r = rng(7);
    const store = new MemoryStore();
    for (let v = 0; v < VIDEOS; v++) {
      const { frames } = sceneFrames(r, F, D, 3);
      store.put(makeRecord('t', `v${v}`), makeEmbeddings('t', `v${v}`, 'fp', frames, F, D));
    }
    const head = randomHead(rng(3), D);
    const reports: BenchReport[] = [];
    for (const pooling of ['attention', 'xpool'] as const) {
      const rows = [];
      for (const [label, references] of [
        ['without confidence (no reference texts)', []],
        ['with confidence (24 reference texts)', undefined],
      ] as const) {
        const service = new SearchService({
          store,
          embedder: new FakeEmbedder('fp', D),
          xpoolHead: head,
          maxXPoolBuildsPerQuery: 100_000,
          ...(references ? { confidenceReferences: references } : {}),
        });
        for (let i = 0; i < 5; i++) await service.search(`warm ${i}`, { tenant: 't', k: 10, pooling });
        const times: number[] = [];
        for (let i = 0; i < QUERIES; i++) {
          const start = performance.now();
          await service.search(`query ${i}`, { tenant: 't', k: 10, pooling });
          times.push(performance.now() - start);
        }
        times.sort((a, b) => a - b);
        rows.push({ case: label, value: times[Math.floor(QUERIES / 2)]!, unit: 'ms p50' });
        rows.push({ case: `${label}, p95`, value: times[Math.floor(QUERIES * 0.95)]!, unit: 'ms p95' });
      }
      reports.push({
        name: `search-confidence-${pooling}`,
        baseline: 'without confidence (no reference texts)',
        rows,
        notes: [`${pooling} pooling, ${VIDEOS} videos in memory, k = 10, ${QUERIES} queries`],
      });
    }
    return reports;
  },
};

export default benchmark;
