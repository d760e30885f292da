/**
 * Hybrid search's logic on the in-memory store: the fusion rule (fusion.ts) and what SearchService does
 * with the words index's hits (modes, moments from cues, why a result matched, filters and tenants).
 * The words index itself (LanceDB's BM25) is tested in the store's contract and end to end in
 * api/test/words-search.int.test.ts.
 */
import { isReelError } from '@reel/infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { contenders, fuseHybrid, reciprocalRankFusion, wordsWeight } from '../src/search/fusion.ts';
import { SearchService } from '../src/search/search-service.ts';
import type { WordsHit } from '../src/words/words-store.ts';
import {
  FakeEmbedder,
  MemoryStore,
  makeEmbeddings,
  makeRecord,
  rng,
  sceneFrames,
  textNear,
} from './helpers/index-fixtures.ts';

const F = 12;
const D = 32;
const FP = 'sha256:model-a';

describe('fusion', () => {
  it('adds weighted reciprocal ranks', () => {
    const fused = reciprocalRankFusion([['a', 'b'], { items: ['b', 'c'], weight: 0.5 }]);
    expect(fused.get('a')).toBeCloseTo(1 / 61, 12);
    expect(fused.get('b')).toBeCloseTo(1 / 62 + 0.5 / 61, 12);
    expect(fused.get('c')).toBeCloseTo(0.5 / 62, 12);
  });

  it('counts the videos whose words reach half the best score', () => {
    expect(contenders([10, 6, 5, 4.9, 1])).toBe(3);
    expect(contenders([])).toBe(0);
    expect(wordsWeight(3)).toBe(1);
    expect(wordsWeight(40)).toBe(0.25);
  });

  it('puts the few videos a rare word points at first, in fused order', () => {
    const visual = Array.from({ length: 50 }, (_, i) => `v${i}`);
    // "zorblax on the beach": v40 and v30 say the name, many say "beach"
    const words = [
      { key: 'v40', score: 12 },
      { key: 'v30', score: 11.5 },
      ...Array.from({ length: 30 }, (_, i) => ({ key: `v${i}`, score: 2 })),
    ];
    expect(fuseHybrid(visual, words).slice(0, 3)).toEqual(['v30', 'v40', 'v0']);
  });

  it('keeps the frames’ clear matches first, in their order, whatever one shared word says', () => {
    const visual = ['sunset', 'dusk', 'clear-sky', 'beach'];
    // "a purple sky": the frames clearly match the sunset and dusk; a title says "sky"
    const words = [{ key: 'clear-sky', score: 4 }];
    expect(fuseHybrid(visual, words, 1, new Set(['sunset', 'dusk']))).toEqual([
      'sunset',
      'dusk',
      'clear-sky',
      'beach',
    ]);
    // with nothing clear to the frames, the video the words point at leads
    expect(fuseHybrid(visual, words, 1)[0]).toBe('clear-sky');
  });

  it('keeps the frames first when common words point at many videos', () => {
    const visual = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const words = Array.from({ length: 150 }, (_, i) => ({ key: `v${199 - i}`, score: 3 - i * 0.001 }));
    const order = fuseHybrid(visual, words);
    expect(order.slice(0, 5)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(fuseHybrid(visual, [])).toEqual(visual);
  });
});

/** The in-memory store with a words index of fixed hits per query. */
class WordsMemoryStore extends MemoryStore {
  readonly hits = new Map<string, WordsHit[]>();
  searched = 0;
  async searchWords(_tenant: string, query: string): Promise<WordsHit[]> {
    this.searched++;
    return this.hits.get(query) ?? [];
  }
  async hasWords(): Promise<boolean> {
    return true;
  }
}

const cue = (videoId: string, start: number, end: number, text: string, score: number): WordsHit => ({
  videoId,
  field: 'cue',
  text,
  start,
  end,
  trackId: 'embedded-1',
  score,
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isReelError(error) ? error.code : `other: ${(error as Error).message}`;
  }
  return undefined;
}

describe('SearchService with a words index', () => {
  const r = rng(5);
  const store = new WordsMemoryStore();
  const embedder = new FakeEmbedder(FP, D);

  beforeAll(() => {
    const scenes: Float32Array[][] = [];
    for (let v = 0; v < 30; v++) {
      const { frames, directions } = sceneFrames(r, F, D, 3);
      scenes.push(directions);
      store.put(
        makeRecord('t1', `v${v}`, { tags: v % 2 === 0 ? ['even'] : ['odd'] }),
        makeEmbeddings('t1', `v${v}`, FP, frames, F, D),
      );
    }
    store.put(
      makeRecord('t2', 'other', {}),
      makeEmbeddings('t2', 'other', FP, sceneFrames(r, F, D).frames, F, D),
    );
    embedder.register('scene 1 of v4', textNear(r, scenes[4]![1]!, 0.2));
    // "zorblax": said in v7 (twice) and v9; a hit naming a video of another tenant is never shown
    store.hits.set('zorblax', [
      cue('v7', 21, 23.5, 'Our new Zorblax ships', 9),
      cue('other', 1, 2, 'zorblax in tenant two', 9.5),
      cue('v9', 40, 41, 'a zorblax, they said', 8),
      cue('v7', 50, 51, 'zorblax again', 7),
      {
        videoId: 'v9',
        field: 'title',
        text: 'Zorblax review',
        start: null,
        end: null,
        trackId: null,
        score: 6,
      },
    ]);
  });

  it('ranks the videos that say a name first, at their cue, and says why', async () => {
    const service = new SearchService({ store, embedder });
    const answer = await service.search('zorblax', { tenant: 't1', k: 5 });
    expect(answer.mode).toBe('hybrid');
    expect(answer.results.map((x) => x.videoId).slice(0, 2)).toEqual(['v7', 'v9']);
    const top = answer.results[0]!;
    expect(top.moment).toMatchObject({ start: 21, end: 23.5 });
    expect(top.moment.cue).toEqual({
      trackId: 'embedded-1',
      text: 'Our new Zorblax ships',
      highlights: [[8, 15]],
    });
    expect(top.moments.slice(0, 2).map((m) => [m.start, m.cue?.text])).toEqual([
      [21, 'Our new Zorblax ships'],
      [50, 'zorblax again'],
    ]);
    // 60 s videos of 12 frames at interval middles (2.5, 7.5, …): 22.25 s is nearest frame 4 (22.5 s)
    expect(top.moment.frameIndex).toBe(4);
    expect(top.matchedBy).toEqual(['cue']);
    expect(answer.results[1]!.matchedBy).toEqual(['cue', 'title']);
    expect(answer.results[1]!.words.map((w) => w.field)).toEqual(['cue', 'title']);
    expect(answer.results[2]!.matchedBy).toEqual(['frames']);
    expect(answer.results.some((x) => x.videoId === 'other')).toBe(false);
    expect(answer.noGoodMatch).toBe(false);
  });

  it('reads only the words with mode=words, only the frames with mode=visual', async () => {
    const service = new SearchService({ store, embedder });
    const words = await service.search('zorblax', { tenant: 't1', k: 5, mode: 'words' });
    expect(words.results.map((x) => x.videoId)).toEqual(['v7', 'v9']);
    expect(words.results.every((x) => !x.matchedBy.includes('frames'))).toBe(true);
    const before = store.searched;
    const visual = await service.search('zorblax', { tenant: 't1', k: 5, mode: 'visual' });
    expect(store.searched).toBe(before);
    expect(visual.results.every((x) => x.words.length === 0 && x.moment.cue === undefined)).toBe(true);
    const nothing = await service.search('scene 1 of v4', { tenant: 't1', k: 5, mode: 'words' });
    expect(nothing.results).toEqual([]);
    expect(nothing.noGoodMatch).toBe(true);
  });

  it('keeps a visual query ranked by the frames when no words match', async () => {
    const service = new SearchService({ store, embedder });
    const hybrid = await service.search('scene 1 of v4', { tenant: 't1', k: 5 });
    const visual = await service.search('scene 1 of v4', { tenant: 't1', k: 5, mode: 'visual' });
    expect(hybrid.results.map((x) => x.videoId)).toEqual(visual.results.map((x) => x.videoId));
    expect(hybrid.results[0]!.videoId).toBe('v4');
  });

  it('applies filters to what the words found', async () => {
    const service = new SearchService({ store, embedder });
    const odd = await service.search('zorblax', {
      tenant: 't1',
      k: 5,
      mode: 'words',
      filters: { tags: ['odd'] },
    });
    expect(odd.results.map((x) => x.videoId)).toEqual(['v7', 'v9']);
    const even = await service.search('zorblax', {
      tenant: 't1',
      k: 5,
      mode: 'words',
      filters: { tags: ['even'] },
    });
    expect(even.results).toEqual([]);
  });

  it('lists every cue that matched as a moment of its own with group=moment', async () => {
    const service = new SearchService({ store, embedder });
    const answer = await service.search('zorblax', { tenant: 't1', k: 3, mode: 'words', group: 'moment' });
    expect(answer.results.map((x) => [x.videoId, x.moment.start])).toEqual([
      ['v7', 21],
      ['v9', 40],
      ['v7', 50],
    ]);
  });

  it('refuses words without a text, and an unknown mode', async () => {
    const service = new SearchService({ store, embedder });
    expect(await codeOf(service.search({ like: { videoId: 'v1' } }, { tenant: 't1', mode: 'words' }))).toBe(
      'SEARCH_INPUT_INVALID',
    );
    expect(await codeOf(service.search('x', { tenant: 't1', mode: 'loud' as unknown as 'words' }))).toBe(
      'SEARCH_INPUT_INVALID',
    );
    const plain = new SearchService({ store: new MemoryStore(), embedder });
    expect(await codeOf(plain.search('x', { tenant: 't1', mode: 'hybrid' }))).toBe('SEARCH_INPUT_INVALID');
    expect((await plain.search('x', { tenant: 't1' })).mode).toBe('visual');
  });
});
