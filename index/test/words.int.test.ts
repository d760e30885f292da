/**
 * The words index on a real LanceDB folder, beyond the contract: the FTS index's settings and that
 * LanceDB's tokenizer cuts and folds words as word-terms.ts says (highlights rely on it), what writes
 * the words table does not get (a status update, a repeated replaceCues), rows written after the index
 * was built being searched, the tenant prefilter under a limit, upkeep building a missing index, a
 * half-done write repaired by the next upsert, and a videos table of an older reel gaining `captions`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LanceIndexStore } from '../src/adapters/lancedb-store.ts';
import { VideoStatus, videoKey } from '../src/video-record.ts';
import { foldWord, wordTerms, wordTokens } from '../src/words/word-terms.ts';
import { makeRecord } from './helpers/index-fixtures.ts';
import { searchCues } from './index-store.contract.ts';

let dir: string;
let store: LanceIndexStore;
let db: lancedb.Connection;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'reel-words-'));
  store = await LanceIndexStore.open({ dir });
  db = await lancedb.connect(dir);
});
afterEach(async () => {
  store.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const words = () => db.openTable('words');
const cue = (start: number, text: string) => ({ start, end: start + 1, text });
const texts = async (tenant: string, query: string, limit?: number) =>
  (await searchCues(store, tenant, query, limit === undefined ? {} : { limit })).map((h) => h.text).sort();

describe('the words table on LanceDB', () => {
  it('is created with its FTS index: simple tokenizer, lower case, ASCII folding, no stemming or stop words', async () => {
    await store.upsertVideo(makeRecord('t', 'v'));
    const [index] = (await (await words()).listIndices()).filter((i) => i.columns.includes('terms'));
    expect(index).toMatchObject({ name: 'terms_fts', indexType: 'FTS' });
    expect(index!.indexDetails).toMatchObject({
      base_tokenizer: 'simple',
      lower_case: true,
      ascii_folding: true,
      stem: false,
      remove_stop_words: false,
      with_position: false,
    });
    // no stop words: the commonest English words are words too
    await store.replaceCues('t', 'v', [{ trackId: 'en', cues: [cue(0, 'To be or not to be')] }]);
    expect(await texts('t', 'the to')).toEqual(['To be or not to be']);
    expect(await texts('t', 'bee')).toEqual([]); // and no stemming or fuzziness
  });

  it('tokenizes and folds as word-terms.ts does (so highlights mark what matched)', async () => {
    await store.upsertVideo(makeRecord('t', 'v'));
    const table = await words();
    const samples = [
      'CAFÉ au lait, s’il vous plaît',
      'Straße Œuvre Ærø Łódź naïve',
      'ＦＵＬＬ width ﬁne e\u0301te x² 3.14',
      "don't stop_me-now",
      '東京タワーに行きました ﾄｳｷｮｳ',
      '한국어 자막 สวัสดีครับ ไม่ใช่',
      'ΑΘΗΝΑ Ωμέγα Москва ЁЛКА',
    ];
    for (const text of samples) {
      const lance = (await table.tokenize(wordTerms(text), { column: 'terms' })).map((t) => t.text);
      expect(wordTokens(text).map((t) => foldWord(t.text))).toEqual(lance);
    }
  });

  it('is not written by a status update or a repeated replaceCues', async () => {
    const record = makeRecord('t', 'v', { title: 'Lighthouse', tags: ['coast'], status: VideoStatus.queued });
    await store.upsertVideo(record);
    await store.replaceCues('t', 'v', [{ trackId: 'en', cues: [cue(0, 'waves'), cue(1, 'gulls')] }]);
    const table = await words();
    const version = await table.version();
    await store.upsertVideo({ ...record, status: VideoStatus.processing });
    await store.upsertVideos([
      { ...record, status: VideoStatus.indexed, durationSeconds: 12, ingestedAt: new Date() },
    ]);
    await store.replaceCues('t', 'v', [{ trackId: 'en', cues: [cue(0, 'waves'), cue(1, 'gulls')] }]);
    await table.checkoutLatest();
    expect(await table.version()).toBe(version);
    // a tag edit writes it: one upsert of the rows that differ
    await store.upsertVideo({ ...record, tags: ['sea', 'cliffs'] });
    await table.checkoutLatest();
    expect(await table.version()).toBe(version + 1);
    expect(await texts('t', 'coast sea cliffs')).toEqual(['cliffs', 'sea']);
    // a dropped tag: only a delete
    await store.upsertVideo({ ...record, tags: ['sea'] });
    await table.checkoutLatest();
    expect(await table.version()).toBe(version + 2);
    expect(await texts('t', 'coast sea cliffs')).toEqual(['sea']);
    // one cue changed: one upsert of the cue and one of its track's words, nothing deleted
    const cues = await db.openTable('cues');
    const cuesVersion = await cues.version();
    await store.replaceCues('t', 'v', [{ trackId: 'en', cues: [cue(0, 'waves'), cue(1, 'terns')] }]);
    await table.checkoutLatest();
    await cues.checkoutLatest();
    expect(await table.version()).toBe(version + 3);
    expect(await cues.version()).toBe(cuesVersion + 1);
    expect(await cues.countRows()).toBe(2);
    expect(await table.countRows(`field = 'track'`)).toBe(1);
    expect(await texts('t', 'terns')).toEqual(['terns']);
  });

  it('searches rows written after the index was built, before upkeep folds them in', async () => {
    await store.upsertVideo(makeRecord('t', 'v', { title: 'Indexed title' }));
    await store.optimize();
    const table = await words();
    expect(await table.indexStats('terms_fts')).toMatchObject({ numUnindexedRows: 0 });
    await store.upsertVideo(makeRecord('t', 'w', { title: 'Unindexed crème' }));
    await table.checkoutLatest();
    expect((await table.indexStats('terms_fts'))!.numUnindexedRows).toBeGreaterThan(0);
    // found, and with the index's tokenizer (folded), though not in the index yet
    expect(await texts('t', 'creme indexed')).toEqual(['Indexed title', 'Unindexed crème']);
    await store.optimize();
    await table.checkoutLatest();
    expect(await table.indexStats('terms_fts')).toMatchObject({ numUnindexedRows: 0 });
    expect(await texts('t', 'creme indexed')).toEqual(['Indexed title', 'Unindexed crème']);
  });

  it('folds new words into the index after a batch once enough are outside it, and not before', async () => {
    await store.upsertVideo(makeRecord('t', 'v', { title: 'Indexed title' }));
    await store.optimize();
    const cues = Array.from({ length: 30 }, (_, i) => ({ start: i, end: i + 0.5, text: `cue number ${i}` }));
    await store.replaceCues('t', 'v', [{ trackId: 'en', cues }]);
    const table = await words();
    // the 30 cues are one document of the index: their track's
    expect(await store.refreshWordsIndex(1000)).toEqual({ unindexed: 1, optimized: false });
    await table.checkoutLatest();
    expect((await table.indexStats('terms_fts'))!.numUnindexedRows).toBe(1);
    expect(await store.refreshWordsIndex(0)).toEqual({ unindexed: 1, optimized: true });
    await table.checkoutLatest();
    expect((await table.indexStats('terms_fts'))!.numUnindexedRows).toBe(0);
    expect((await searchCues(store, 't', 'number 7'))[0]?.text).toBe('cue number 7');
  });

  it('prefilters on the tenant: another tenant’s better rows never take the places of a limit', async () => {
    await store.upsertVideos([makeRecord('big', 'v'), makeRecord('small', 'v')]);
    await store.replaceCues('big', 'v', [
      { trackId: 'en', cues: Array.from({ length: 300 }, (_, i) => cue(i, `otter otter otter ${i}`)) },
    ]);
    await store.replaceCues('small', 'v', [
      { trackId: 'en', cues: [cue(0, 'one otter among many words here')] },
    ]);
    expect(await texts('small', 'otter', 1)).toEqual(['one otter among many words here']);
    await store.optimize(); // with the bitmap index on tenant and every row in the FTS index
    expect(await texts('small', 'otter', 1)).toEqual(['one otter among many words here']);
    expect(await texts('big', 'otter', 300)).toHaveLength(300);
  });

  it('gets its indexes from upkeep, the FTS index too when it is missing', async () => {
    await store.upsertVideo(makeRecord('t', 'v', { title: 'Kelp forest' }));
    let report = (await store.optimize()).find((r) => r.table === 'words');
    expect(report).toMatchObject({ rows: 2, indexesCreated: ['key', 'video', 'tenant'] });
    await (await words()).dropIndex('terms_fts');
    report = (await store.optimize()).find((r) => r.table === 'words');
    expect(report?.indexesCreated).toEqual(['terms_fts']);
    expect(await texts('t', 'KELP')).toEqual(['Kelp forest']);
  });

  it('repairs rows a half-done write left behind on the next upsert of the video', async () => {
    const record = makeRecord('t', 'v', { title: 'Tide pools', tags: ['rocks'] });
    await store.upsertVideo(record);
    // as if the process died between the videos write and the words write
    await (await words()).delete(`video = '${videoKey('t', 'v').replaceAll("'", "''")}' AND field = 'title'`);
    expect(await texts('t', 'tide')).toEqual([]);
    await store.upsertVideo({ ...record, status: VideoStatus.failed, error: { code: 'X', message: 'y' } });
    expect(await texts('t', 'tide')).toEqual(['Tide pools']);
  });

  it('brings a videos table of an older reel (no error_retryable, no file_name) up to date', async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
    const old = await lancedb.connect(dir);
    await old.createTable('videos', [
      {
        key: videoKey('t', 'old'),
        tenant: 't',
        id: 'old',
        title: 'old',
        tags: ['x'],
        created_at: 1,
        ingested_at: 2,
        duration: 1,
        source: '/videos/old.mp4',
        sha256: '00',
        fingerprint: 'sha256:old',
        status: 'failed',
        error_code: 'FFMPEG_TIMEOUT',
        error_message: 'killed',
        updated_at: 1,
      },
    ]);
    old.close();
    store = await LanceIndexStore.open({ dir });
    expect((await store.getVideo('t', 'old'))?.fileName).toBeUndefined();
    await store.upsertVideo(
      makeRecord('t', 'new', { fileName: 'Beach Day.mp4', source: '/data/videos/t/3f2a.mp4' }),
    );
    expect((await store.getVideo('t', 'new'))?.fileName).toBe('Beach Day.mp4');
    expect((await store.getVideo('t', 'old'))?.fileName).toBeUndefined();
    // the file row is the name the video came with, not the stored name; an old record's is its source's
    const files = await store.searchWords('t', 'beach');
    expect(files.map((h) => [h.videoId, h.field, h.text])).toEqual([['new', 'file', 'Beach Day.mp4']]);
    expect((await store.searchWords('t', '3f2a')).length).toBe(0);
  });
});
