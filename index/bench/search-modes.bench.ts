/**
 * What the search modes cost against a plain text search, in one run, on an in-memory store of 600
 * videos (F = 12, D = 512; every video a candidate), 60 queries each after warming:
 *
 * - confidence (confidence.ts): the same text search without and with the reference texts, attention and
 *   X-Pool pooling (a video's reference statistics are kept across queries, so the cost is paid the first
 *   time a video reaches a top 10);
 * - search by example (`like`: a video's mean embedding, read from the store) and `group: 'moment'`,
 *   against text search; text encoding excluded (the text rows subtract `timings.encodeMs`).
 *
 * The in-memory store stands in for LanceDB: the stage-2 and moment costs are reel's own, the example's
 * lookup by key is LanceDB's in production (not measured here).
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

async function timed(
  run: (i: number) => Promise<{ timings: { totalMs: number; encodeMs: number } }>,
  excludeEncode: boolean,
) {
  for (let i = 0; i < 5; i++) await run(1000 + i);
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const response = await run(i);
    times.push(response.timings.totalMs - (excludeEncode ? response.timings.encodeMs : 0));
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(QUERIES / 2)]!, p95: times[Math.floor(QUERIES * 0.95)]! };
}

const benchmark: Benchmark = {
  name: 'search-modes',
  async run(): Promise<BenchReport[]> {
    const r = rng(7);
    const store = new MemoryStore();
    for (let v = 0; v < VIDEOS; v++) {
      const { frames } = sceneFrames(r, F, D, 3);
      store.put(makeRecord('t', `v${v}`), makeEmbeddings('t', `v${v}`, 'fp', frames, F, D));
    }
    const head = randomHead(rng(3), D);
    const service = (references?: readonly string[]) =>
      new SearchService({
        store,
        embedder: new FakeEmbedder('fp', D),
        xpoolHead: head,
        maxXPoolBuildsPerQuery: 100_000,
        ...(references ? { confidenceReferences: references } : {}),
      });
    const reports: BenchReport[] = [];
    for (const pooling of ['attention', 'xpool'] as const) {
      const without = service([]);
      const withRefs = service();
      const a = await timed((i) => without.search(`query ${i}`, { tenant: 't', k: 10, pooling }), false);
      const b = await timed((i) => withRefs.search(`query ${i}`, { tenant: 't', k: 10, pooling }), false);
      reports.push({
        name: `search-confidence-${pooling}`,
        baseline: 'without confidence (no reference texts)',
        rows: [
          { case: 'without confidence (no reference texts)', value: a.p50, unit: 'ms p50' },
          { case: 'with confidence (24 reference texts)', value: b.p50, unit: 'ms p50' },
          { case: 'without confidence, p95', value: a.p95, unit: 'ms p95' },
          { case: 'with confidence, p95', value: b.p95, unit: 'ms p95' },
        ],
        notes: [`${pooling} pooling, ${VIDEOS} videos in memory, k = 10, ${QUERIES} queries`],
      });
    }
    const search = service();
    const text = await timed((i) => search.search(`query ${i}`, { tenant: 't', k: 10 }), true);
    const like = await timed(
      (i) => search.search({ like: { videoId: `v${i % VIDEOS}` } }, { tenant: 't', k: 10 }),
      false,
    );
    const moments = await timed(
      (i) => search.search(`query ${i}`, { tenant: 't', k: 10, group: 'moment' }),
      true,
    );
    reports.push({
      name: 'search-modes',
      baseline: 'text search (encoding excluded)',
      rows: [
        { case: 'text search (encoding excluded)', value: text.p50, unit: 'ms p50' },
        { case: 'more like this (a video)', value: like.p50, unit: 'ms p50' },
        { case: 'text search, group=moment', value: moments.p50, unit: 'ms p50' },
        { case: 'text search, p95', value: text.p95, unit: 'ms p95' },
        { case: 'more like this, p95', value: like.p95, unit: 'ms p95' },
        { case: 'group=moment, p95', value: moments.p95, unit: 'ms p95' },
      ],
      notes: [
        `attention pooling, ${VIDEOS} videos in memory, k = 10, ${QUERIES} queries; goal for examples: ≤ 1.2× text`,
      ],
    });
    return reports;
  },
};

export default benchmark;
