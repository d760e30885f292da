/**
 * The first stage under filters at 1M rows on IVF_HNSW_SQ (what `auto` builds from 250k rows): how
 * LanceDB's prefiltered HNSW search and its flat (index-bypassing) search scale with the share of rows a
 * filter passes, against the unfiltered HNSW search in the same run (the baseline).
 *
 * The table has the store's first-stage shape (key, tenant, tags, a 512-d `mean` column), the store's
 * scalar indexes (bitmap on tenant, label list on tags), its HNSW partitioning and query settings
 * (K′ = DEFAULT_CANDIDATES, search width efFactor·K′), and the SQL `filtersToSql` emits. Vectors are
 * clustered around a shared direction, as CLIP's are (cosines of unrelated videos are far above 0).
 * Timings are LanceDB's alone (no rescoring): the full two-stage figures are `index-search`'s. Each
 * filter runs at the search width efFactor·K′ (what every query used before) and at the width
 * `filteredSearchWidth` gives for its share of rows (what the store uses now), and both are compared
 * with the exact flat search over the same filter (recall@10 and recall@K′).
 *
 * Built once (~12 min: 1 min of inserts, ~10 min of HNSW) into <repo>/.reel/bench-filtered/<rows>/;
 * `BENCH_FILTERED_ROWS` sets the size (default 1 000 000).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { type Benchmark, type BenchReport, type BenchRow, percentile } from '@reel/infra';
import * as arrow from 'apache-arrow';
import {
  DEFAULT_ANN_INDEX,
  filteredSearchWidth,
  HNSW_ROWS_PER_PARTITION,
} from '../src/adapters/lancedb-store.ts';
import { filtersToSql } from '../src/search/filter-sql.ts';
import { DEFAULT_CANDIDATES } from '../src/search/search-service.ts';
import { DIM, prng } from './synthetic-corpus.ts';

const ROWS = Number(process.env.BENCH_FILTERED_ROWS ?? 1_000_000);
const QUERIES = 20;
const CLUSTERS = 2000;
/** Exact (flat) searches of more matching rows than this are skipped (≈ 7 µs per row: seconds per query). */
const FLAT_MAX_ROWS = 600_000;
const root = path.resolve(import.meta.dirname, '..', '..');
const dir = path.join(root, '.reel', 'bench-filtered', String(ROWS));

/** Tags and the share of rows carrying each; tenants likewise (the rest belong to `main`). */
const TAGS: [string, number][] = [
  ['p50', 0.5],
  ['p10', 0.1],
  ['p01', 0.01],
  ['p001', 0.001],
];
const TENANTS: [string, number][] = [
  ['ten', 0.1],
  ['one', 0.01],
];

/**
 * Deterministic CLIP-like unit vectors: a shared direction, a cluster centre, noise. The corpus draws
 * everything from one stream seeded 42; queries reuse its centres with noise of their own.
 */
function vectorSpace(seed: number) {
  const rand = prng(seed);
  const gaussian = (next: () => number) =>
    Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
  const common = Float32Array.from({ length: DIM }, () => gaussian(rand));
  const centres = Array.from({ length: CLUSTERS }, () =>
    Float32Array.from({ length: DIM }, () => gaussian(rand)),
  );
  const vector = (cluster: number, noise: number, next: () => number = rand) => {
    const v = new Float32Array(DIM);
    const centre = centres[cluster]!;
    let norm = 0;
    for (let i = 0; i < DIM; i++) {
      v[i] = common[i]! * 1.2 + centre[i]! + gaussian(next) * noise;
      norm += v[i]! * v[i]!;
    }
    const k = 1 / Math.sqrt(norm);
    for (let i = 0; i < DIM; i++) v[i]! *= k;
    return v;
  };
  return { rand, vector };
}

async function openOrBuild(): Promise<lancedb.Table> {
  const complete = path.join(dir, 'complete');
  if (existsSync(complete)) return (await lancedb.connect(dir)).openTable('first_stage');
  rmSync(dir, { recursive: true, force: true });
  const db = await lancedb.connect(dir);
  const schema = new arrow.Schema([
    new arrow.Field('key', new arrow.Utf8(), false),
    new arrow.Field('tenant', new arrow.Utf8(), false),
    new arrow.Field('tags', new arrow.List(new arrow.Field('item', new arrow.Utf8(), true)), true),
    new arrow.Field(
      'mean',
      new arrow.FixedSizeList(DIM, new arrow.Field('item', new arrow.Float32(), true)),
      false,
    ),
  ]);
  const table = await db.createEmptyTable('first_stage', schema);
  const { rand, vector } = vectorSpace(42);
  const started = performance.now();
  for (let start = 0; start < ROWS; start += 50_000) {
    const rows = [];
    for (let i = start; i < Math.min(ROWS, start + 50_000); i++) {
      const r = rand();
      let tenant = 'main';
      let edge = 0;
      for (const [name, share] of TENANTS) {
        edge += share;
        if (r < edge) {
          tenant = name;
          break;
        }
      }
      rows.push({
        key: `k${i}`,
        tenant,
        tags: TAGS.filter(([, share]) => rand() < share).map(([tag]) => tag),
        mean: Array.from(vector(Math.floor(rand() * CLUSTERS), 0.9)),
      });
    }
    await table.add(rows);
    console.log(
      `  ${Math.min(ROWS, start + 50_000)} rows (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  await table.optimize();
  await table.createIndex('tags', { config: lancedb.Index.labelList() });
  await table.createIndex('tenant', { config: lancedb.Index.bitmap() });
  const hnswStarted = performance.now();
  console.log('  building IVF_HNSW_SQ (about 10 min at 1M rows)');
  await table.createIndex('mean', {
    config: lancedb.Index.hnswSq({
      distanceType: 'cosine',
      numPartitions: Math.max(1, Math.round(ROWS / HNSW_ROWS_PER_PARTITION)),
    }),
  });
  console.log(`  HNSW built in ${((performance.now() - hnswStarted) / 1000).toFixed(0)} s`);
  writeFileSync(complete, new Date().toISOString());
  return table;
}

const bench: Benchmark = {
  name: 'index-filtered-first-stage',
  async run(): Promise<BenchReport[]> {
    const table = await openOrBuild();
    const k = DEFAULT_CANDIDATES;
    const unscaled = DEFAULT_ANN_INDEX.efFactor * k;
    const { vector } = vectorSpace(42);
    const noise = prng(7);
    const queries = Array.from({ length: QUERIES }, (_, i) => vector((i * 37) % CLUSTERS, 0.6, noise));
    /** `width` null: exact flat search (bypassing the index). */
    const search = async (where: string | undefined, width: number | null, q: Float32Array) => {
      let query = table
        .vectorSearch(q)
        .column('mean')
        .distanceType('cosine')
        .select(['key', '_distance'])
        .limit(k);
      if (where !== undefined) query = query.where(where);
      query = width === null ? query.bypassVectorIndex() : query.nprobes(DEFAULT_ANN_INDEX.nprobes).ef(width);
      const started = performance.now();
      const out = await query.toArrow();
      return { ms: performance.now() - started, keys: out.getChild('key')!.toArray() as string[] };
    };
    const timed = async (where: string | undefined, width: number | null) => {
      await search(where, width, queries[0]!); // the first query loads the index and the filter's pages
      const ms: number[] = [];
      const keys: string[][] = [];
      for (const q of queries) {
        const r = await search(where, width, q);
        ms.push(r.ms);
        keys.push(r.keys);
      }
      return { ms, keys };
    };
    const recall = (found: string[][], exact: string[][], n: number) => {
      let sum = 0;
      for (let i = 0; i < QUERIES; i++) {
        const truth = new Set(exact[i]!.slice(0, n));
        sum += found[i]!.slice(0, n).filter((key) => truth.has(key)).length / truth.size;
      }
      return (sum / QUERIES).toFixed(3);
    };
    const cases: [string, string | undefined][] = [
      ['no filter', undefined],
      ['tag on 50% of rows', filtersToSql('x', { tags: ['p50'] }, { omitTenant: true })],
      ['tenant of 10% of rows', filtersToSql('ten', {})],
      ['tag on 10% of rows', filtersToSql('x', { tags: ['p10'] }, { omitTenant: true })],
      ['tenant of 1% of rows', filtersToSql('one', {})],
      ['tag on 1% of rows', filtersToSql('x', { tags: ['p01'] }, { omitTenant: true })],
      ['tag on 0.1% of rows', filtersToSql('x', { tags: ['p001'] }, { omitTenant: true })],
    ];
    const rows: BenchRow[] = [];
    const notes: string[] = [
      `${ROWS} rows, D = ${DIM}, IVF_HNSW_SQ with ${Math.max(1, Math.round(ROWS / HNSW_ROWS_PER_PARTITION))} partitions; K′ = ${k}; ${QUERIES} queries per case; ${os.availableParallelism()} cores, load ${os.loadavg()[0]?.toFixed(2)}`,
      `"width ${unscaled}": the search width efFactor·K′ every query used before; "width by share": filteredSearchWidth (what the store uses now: efFactor·K′·share, at least K′)`,
    ];
    const baseline = `HNSW width ${unscaled}, no filter (p50)`;
    for (const [label, where] of cases) {
      const matching = where === undefined ? ROWS : await table.countRows(where);
      const countMs: number[] = [];
      if (where !== undefined)
        for (let i = 0; i < 5; i++) {
          const started = performance.now();
          await table.countRows(where);
          countMs.push(performance.now() - started);
        }
      const scaled = filteredSearchWidth(k, DEFAULT_ANN_INDEX.efFactor, matching / ROWS);
      const before = await timed(where, unscaled);
      rows.push({
        case: `HNSW width ${unscaled}, ${label} (p50)`,
        value: percentile(before.ms, 0.5),
        unit: 'ms',
      });
      rows.push({
        case: `HNSW width ${unscaled}, ${label} (p95)`,
        value: percentile(before.ms, 0.95),
        unit: 'ms',
      });
      const now = scaled === unscaled ? before : await timed(where, scaled);
      if (scaled !== unscaled) {
        rows.push({
          case: `HNSW width by share (${scaled}), ${label} (p50)`,
          value: percentile(now.ms, 0.5),
          unit: 'ms',
        });
        rows.push({
          case: `HNSW width by share (${scaled}), ${label} (p95)`,
          value: percentile(now.ms, 0.95),
          unit: 'ms',
        });
      }
      let line = `${label}: ${matching} rows match`;
      if (countMs.length > 0) line += `, counting them takes ${percentile(countMs, 0.5).toFixed(1)} ms`;
      if (where !== undefined && matching <= FLAT_MAX_ROWS) {
        const exact = await timed(where, null);
        rows.push({
          case: `exact flat search, ${label} (p50)`,
          value: percentile(exact.ms, 0.5),
          unit: 'ms',
        });
        line += `; recall@10 / recall@${k} against the exact search: width ${unscaled} ${recall(before.keys, exact.keys, 10)} / ${recall(before.keys, exact.keys, k)}`;
        if (scaled !== unscaled)
          line += `, width ${scaled} ${recall(now.keys, exact.keys, 10)} / ${recall(now.keys, exact.keys, k)}`;
      }
      notes.push(line);
    }
    return [{ name: 'index-filtered-first-stage', baseline, rows, notes }];
  },
};

export default bench;
