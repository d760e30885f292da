/**
 * The words index (BM25 over subtitle tracks, titles, file names and tags, LanceDB native FTS; a track's
 * cues are one document, the cues themselves in a table of their own) at 100k videos × 200 cues (20M cue
 * rows, 100k track documents): write time through the store (records with their title, file and tag
 * rows, then cues in bulk), upkeep after the load (compaction, scalar indexes, every row folded into the
 * FTS index), the FTS index built from scratch over all rows, the words table's size on disk, and
 * `searchWords` latency (p50/p95 over ~100 queries: common words, rare made-up product names, 2–3 word
 * queries) with everything indexed and with 1% of rows written since the last upkeep, and the recall of
 * the planted product names (their video and cue among the top 10 hits).
 *
 * Corpus: sentences of 6–12 words drawn Zipf-like (s = 1) from a list of ~4 300 words (250 common
 * English words, then made-up syllable words), 10% of the videos in a second tenant (searches are of
 * the first: the tenant prefilter is real). 300 product names that are no word of the list are planted
 * in one known cue each of the first tenant's videos (200 of one word, 100 of two), and each also in a
 * cue of a second-tenant video (which must never come back).
 *
 * Size: REEL_BENCH_WORDS_VIDEOS (default 100 000) and REEL_BENCH_WORDS_CUES (default 200), e.g.
 * `REEL_BENCH_WORDS_VIDEOS=1000 npm run bench -- words-search` for a quick run. Built every run into
 * <repo>/.reel/bench-words/<videos>x<cues>/ (deleted first; left there to look at).
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { type Benchmark, type BenchReport, type BenchRow, percentile } from '@reel/infra';
import { WORDS_FTS_INDEX, WORDS_TABLE, wordsFtsIndex } from '../src/adapters/lancedb/words-table.ts';
import { LanceIndexStore, type VideoCues } from '../src/adapters/lancedb-store.ts';
import { type VideoRecord, VideoStatus } from '../src/video-record.ts';
import type { StoredCue } from '../src/words/words-store.ts';
import { dirBytes, prng } from './synthetic-corpus.ts';

export const VIDEOS = Number(process.env.REEL_BENCH_WORDS_VIDEOS ?? 100_000);
export const CUES = Number(process.env.REEL_BENCH_WORDS_CUES ?? 200);
/** Videos per write: their records in one upsertVideos, their cues in one replaceManyCues. */
const BATCH = 1000;
const SINGLE_NAMES = 200;
const DOUBLE_NAMES = 100;
const QUERIES_PER_KIND = 34;
const TOP = 10;
const root = path.resolve(import.meta.dirname, '..', '..');

const COMMON = (
  'the of and to a in is you that it he was for on are as with his they i at be this have from or one had ' +
  'by word but not what all were we when your can said there use an each which she do how their if will ' +
  'up other about out many then them these so some her would make like him into time has look two more ' +
  'write go see number no way could people my than first water been call who oil its now find long down ' +
  'day did get come made may part over new sound take only little work know place year live me back give ' +
  'most very after thing our just name good sentence man think say great where help through much before ' +
  'line right too mean old any same tell boy follow came want show also around form three small set put ' +
  'end does another well large must big even such because turn here why ask went men read need land ' +
  'different home us move try kind hand picture again change off play spell air away animal house point ' +
  'page letter mother answer found study still learn should america world high every near add food ' +
  'between own below country plant last school father keep tree never start city earth eye light thought ' +
  'head under story saw left few while along might close something seem next hard open example begin life'
).split(' ');

const load = () => `load ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} cores`;

/** The word list: common English words, then made-up words of 2–3 syllables (no q, x or z in them). */
function vocabulary(): string[] {
  const words = new Set(COMMON);
  const onsets = 'b c d f g h j k l m n p r s t v w br cl dr fl gr pl st tr'.split(' ');
  const vowels = 'a e i o u ai ea oo'.split(' ');
  const codas = ['', 'n', 'r', 's', 'l', 'nd', 'st'];
  const next = prng(11);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  while (words.size < 4300) {
    const syllables = 2 + Math.floor(next() * 2);
    let word = '';
    for (let s = 0; s < syllables; s++) word += pick(onsets) + pick(vowels);
    words.add(word + pick(codas));
  }
  return [...words];
}

/** Zipf-like sampling (s = 1) of word ranks: inverse CDF by binary search. */
function zipf(n: number): (u: number) => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) {
    total += 1 / (r + 1);
    cdf[r] = total;
  }
  return (u) => {
    const target = u * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Made-up product names: capitalised, with q, x or z, so no word of the list. */
function productNames(count: number): string[] {
  const next = prng(29);
  const parts = 'qua zor vex xan zel quo xyl zim qir vox'.split(' ');
  const tails = 'ix ara on ex ium ora el ax'.split(' ');
  const names = new Set<string>();
  while (names.size < count) {
    const a = parts[Math.floor(next() * parts.length)]!;
    const b = 'bdklmnprstv'[Math.floor(next() * 11)]!;
    const c = tails[Math.floor(next() * tails.length)]!;
    const n = Math.floor(next() * 100);
    names.add(`${a[0]!.toUpperCase()}${a.slice(1)}${b}${c}${n}`);
  }
  return [...names];
}

interface Planted {
  query: string;
  videoId: string;
  start: number;
}

export interface Corpus {
  words: string[];
  rank: (u: number) => number;
  planted: Map<string, Map<number, string>>; // video id → cue index → text to plant
  names: Planted[];
}

/** Videos written after the first measurements (1%): searched before upkeep folds them in. */
export function grownVideos(): number {
  return Math.max(1, Math.floor(VIDEOS / 100));
}

export function tenantOf(i: number): string {
  return i % 10 === 9 ? 'other' : 'bench';
}

export function corpus(): Corpus {
  const words = vocabulary();
  const rank = zipf(words.length);
  const all = productNames(SINGLE_NAMES + DOUBLE_NAMES * 2);
  const planted = new Map<string, Map<number, string>>();
  const plant = (video: number, cue: number, text: string) => {
    const id = `v${video}`;
    let cues = planted.get(id);
    if (cues === undefined) {
      cues = new Map();
      planted.set(id, cues);
    }
    cues.set(cue, `${cues.get(cue) ?? ''} ${text}`.trim());
  };
  const names: Planted[] = [];
  const total = SINGLE_NAMES + DOUBLE_NAMES;
  for (let k = 0; k < total; k++) {
    const name =
      k < SINGLE_NAMES
        ? all[k]!
        : `${all[SINGLE_NAMES + 2 * (k - SINGLE_NAMES)]!} ${all[SINGLE_NAMES + 2 * (k - SINGLE_NAMES) + 1]!}`;
    // a first-tenant video (index not ≡ 9 mod 10) and cue, and a second-tenant decoy
    // in the videos written before the measurements (the last 1% come later)
    const first = VIDEOS - grownVideos();
    let video = (k * 7919 + 17) % first;
    if (tenantOf(video) !== 'bench') video = (video + 1) % first;
    const cue = (k * 31) % CUES;
    plant(video, cue, `the new ${name} is here`);
    const decoy = Math.floor(video / 10) * 10 + 9;
    if (decoy < first) plant(decoy, (cue + 1) % CUES, `${name} ${name} ${name}`);
    names.push({ query: name.toLowerCase(), videoId: `v${video}`, start: cue * 3 });
  }
  return { words, rank, planted, names };
}

function sentence(c: Corpus, next: () => number): string {
  const length = 6 + Math.floor(next() * 7);
  const out: string[] = [];
  for (let i = 0; i < length; i++) out.push(c.words[c.rank(next())]!);
  return out.join(' ');
}

function record(c: Corpus, i: number, next: () => number): VideoRecord {
  return {
    tenant: tenantOf(i),
    id: `v${i}`,
    title: `${sentence(c, next).split(' ').slice(0, 4).join(' ')} ${i}`,
    tags: [`topic ${i % 50}`, c.words[c.rank(next())]!, `series-${i % 7}`],
    createdAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
    ingestedAt: null,
    durationSeconds: CUES * 3,
    source: `/videos/${tenantOf(i)}/clip_${c.words[c.rank(next())]!}-${i}.mp4`,
    sha256: i.toString(16).padStart(64, '0'),
    fingerprint: null,
    status: VideoStatus.indexed,
    error: null,
  };
}

function cues(c: Corpus, i: number, next: () => number): StoredCue[] {
  const planted = c.planted.get(`v${i}`);
  return Array.from({ length: CUES }, (_, j) => {
    const extra = planted?.get(j);
    const text = sentence(c, next);
    return { start: j * 3, end: j * 3 + 2.5, text: extra === undefined ? text : `${text} ${extra}` };
  });
}

export async function write(
  store: LanceIndexStore,
  c: Corpus,
  from: number,
  to: number,
  timing: { videos: number; cues: number },
) {
  const next = prng(1000 + from);
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(to, start + BATCH);
    const records: VideoRecord[] = [];
    const items: VideoCues[] = [];
    for (let i = start; i < end; i++) {
      records.push(record(c, i, next));
      items.push({
        tenant: tenantOf(i),
        videoId: `v${i}`,
        tracks: [{ trackId: 'en', cues: cues(c, i, next) }],
      });
    }
    let t = performance.now();
    await store.upsertVideos(records);
    timing.videos += (performance.now() - t) / 1000;
    t = performance.now();
    await store.replaceManyCues(items);
    timing.cues += (performance.now() - t) / 1000;
    if ((end / BATCH) % 10 === 0 || end === to)
      console.log(
        `  wrote ${end - from}/${to - from} videos (${(timing.videos + timing.cues).toFixed(0)} s)`,
      );
  }
}

export interface Query {
  kind: 'common' | 'rare' | 'multi';
  text: string;
}

export function queries(c: Corpus): Query[] {
  const next = prng(77);
  const out: Query[] = [];
  for (let q = 0; q < QUERIES_PER_KIND; q++) out.push({ kind: 'common', text: c.words[q % 40]! });
  for (let q = 0; q < QUERIES_PER_KIND; q++)
    out.push({ kind: 'rare', text: c.names[(q * 9) % c.names.length]!.query });
  for (let q = 0; q < QUERIES_PER_KIND; q++) {
    const n = 2 + (q % 2);
    const words = Array.from({ length: n }, () => c.words[40 + Math.floor(next() * 2000)]!);
    out.push({ kind: 'multi', text: words.join(' ') });
  }
  return out;
}

async function latencies(store: LanceIndexStore, list: readonly Query[]): Promise<Map<string, number[]>> {
  for (const q of list.slice(0, 5)) await store.searchWords('bench', q.text); // warm
  const out = new Map<string, number[]>([['all', []]]);
  for (const q of list) {
    const t = performance.now();
    await store.searchWords('bench', q.text);
    const ms = performance.now() - t;
    out.get('all')!.push(ms);
    if (!out.has(q.kind)) out.set(q.kind, []);
    out.get(q.kind)!.push(ms);
  }
  return out;
}

function latencyRows(label: string, measured: Map<string, number[]>): BenchRow[] {
  return [...measured].flatMap(([kind, ms]) => [
    { case: `searchWords p50, ${kind} queries${label}`, value: percentile(ms, 0.5), unit: 'ms' },
    { case: `searchWords p95, ${kind} queries${label}`, value: percentile(ms, 0.95), unit: 'ms' },
  ]);
}

const bench: Benchmark = {
  name: 'index-words-search',
  async run(): Promise<BenchReport[]> {
    const dir = path.join(root, '.reel', 'bench-words', `${VIDEOS}x${CUES}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const dbDir = path.join(dir, 'lancedb');
    const c = corpus();
    const store = await LanceIndexStore.open({ dir: dbDir });
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    try {
      console.log(`  ${VIDEOS} videos × ${CUES} cues (${load()})`);
      const grown = grownVideos();
      const timing = { videos: 0, cues: 0 };
      await write(store, c, 0, VIDEOS - grown, timing);
      const tables = await store.storageStats();
      const written = tables.find((s) => s.table === WORDS_TABLE)!.rows;
      const cueRows = tables.find((s) => s.table === 'cues')?.rows ?? 0;
      rows.push(
        { case: 'write: records with title, file and tag rows', value: timing.videos, unit: 's' },
        { case: 'write: cue rows (replaceManyCues)', value: timing.cues, unit: 's' },
        {
          case: 'write: word and cue rows per second',
          value: (written + cueRows) / (timing.videos + timing.cues),
          unit: 'rows/s',
        },
      );

      let t = performance.now();
      await store.optimize({ pruneOlderThanMs: 0 });
      const upkeep = (performance.now() - t) / 1000;
      rows.push({
        case: 'upkeep after the load (compaction, scalar indexes, FTS over every row)',
        value: upkeep,
        unit: 's',
      });

      const db = await lancedb.connect(dbDir);
      const table = await db.openTable(WORDS_TABLE);
      t = performance.now();
      await table.createIndex('terms', { config: wordsFtsIndex(), name: WORDS_FTS_INDEX, replace: true });
      rows.push({
        case: 'FTS index built from scratch over every row',
        value: (performance.now() - t) / 1000,
        unit: 's',
      });
      await store.optimize({ pruneOlderThanMs: 0 }); // drops the replaced index's files
      const fts = (await table.listIndices()).find((i) => i.name === WORDS_FTS_INDEX);
      const tableDir = path.join(dbDir, `${WORDS_TABLE}.lance`);
      const bytes = dirBytes(tableDir);
      const indexBytes = dirBytes(path.join(tableDir, '_indices'));
      rows.push(
        { case: 'words table rows', value: written, unit: 'rows' },
        { case: 'words table on disk (data and indexes)', value: bytes / 2 ** 20, unit: 'MiB' },
        { case: 'of which indexes (FTS, key, video, tenant)', value: indexBytes / 2 ** 20, unit: 'MiB' },
        { case: 'FTS index size (LanceDB)', value: (fts?.sizeBytes ?? Number.NaN) / 2 ** 20, unit: 'MiB' },
        { case: 'words table bytes per row', value: bytes / written, unit: 'B' },
        { case: 'cues table rows', value: cueRows, unit: 'rows' },
        {
          case: 'cues table on disk (data and indexes)',
          value: dirBytes(path.join(dbDir, 'cues.lance')) / 2 ** 20,
          unit: 'MiB',
        },
      );

      const list = queries(c);
      rows.push(...latencyRows('', await latencies(store, list)));

      // recall of the planted names, and no hit of the other tenant's decoys
      let found = 0;
      let leaks = 0;
      for (const planted of c.names) {
        const hits = await store.searchWords('bench', planted.query, { limit: TOP });
        // the index finds the video's track; its cue holding the name is read as search does
        if (hits.some((h) => h.videoId === planted.videoId)) {
          const trackIds = hits.filter((h) => h.videoId === planted.videoId).map((h) => h.trackId ?? '');
          const cues = await store.matchingCues(
            'bench',
            [{ videoId: planted.videoId, trackIds }],
            planted.query,
            {
              limit: 1,
            },
          );
          const cue = cues.get(planted.videoId)?.[0];
          if (cue?.start === planted.start) found++;
        }
        leaks += hits.filter((h) => Number(h.videoId.slice(1)) % 10 === 9).length;
      }
      rows.push(
        {
          case: `planted names: recall@${TOP} (video and cue)`,
          value: found / c.names.length,
          unit: 'share',
        },
        { case: 'hits of the other tenant’s rows', value: leaks, unit: 'rows' },
      );

      // 1% more videos written since the last upkeep: searched unindexed, then folded in by upkeep
      const more = { videos: 0, cues: 0 };
      await write(store, c, VIDEOS - grown, VIDEOS, more);
      await table.checkoutLatest();
      const stats = await table.indexStats(WORDS_FTS_INDEX);
      rows.push(
        ...latencyRows(`, ${stats?.numUnindexedRows ?? '?'} rows unindexed`, await latencies(store, list)),
      );
      t = performance.now();
      await store.optimize({ pruneOlderThanMs: 0 });
      rows.push({
        case: `upkeep folding in the last ${grown} videos`,
        value: (performance.now() - t) / 1000,
        unit: 's',
      });
      const after = await latencies(store, list);
      rows.push({
        case: 'searchWords p50, all queries, after that upkeep',
        value: percentile(after.get('all')!, 0.5),
        unit: 'ms',
      });
      table.close();
      db.close();
      notes.push(
        `${VIDEOS} videos × ${CUES} cues (${written + (stats?.numUnindexedRows ?? 0)} word rows in all), 10% of videos in a second tenant; ${c.names.length} planted names; ${list.length} queries (${QUERIES_PER_KIND} each of common words, planted names, 2–3 words of ranks 40–2040), limit 200, sequential, warm`,
        `writes in batches of ${BATCH} videos (${BATCH * CUES} cue rows per replaceManyCues); ${load()}; heap ${(process.memoryUsage().rss / 2 ** 30).toFixed(1)} GiB RSS at the end`,
      );
    } finally {
      store.close();
    }
    return [{ name: `index-words-search-${VIDEOS >= 1000 ? `${VIDEOS / 1000}k` : VIDEOS}`, rows, notes }];
  },
};

export default bench;
