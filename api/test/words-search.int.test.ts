/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * Words in videos, end to end through the real server, worker, Redis, ffmpeg, LanceDB and onnxruntime:
 * subtitle tracks inside MP4 (mov_text) and Matroska (SubRip) files, caption files uploaded beside their
 * videos (SRT, WebVTT, a malformed one, one in windows-1252), one attached later; searched by their words
 * (mode=words), with the frames (hybrid, the default) and without (visual); deleting a video and editing
 * its tags keep the words index in step.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFixture,
  json,
  renderColourVideo,
  startApi,
  uploadForm,
  waitForBatch,
} from './helpers/api-server.ts';
import { runCli } from './helpers/run-cli.ts';

let api: ApiFixture;
let dir: string;
const ids: Record<string, string> = {};
let upload: Record<string, any>;

const srt = (cues: [string, string, string][]) =>
  cues.map(([from, to, text], i) => `${i + 1}\n${from} --> ${to}\n${text}\n`).join('\n');

/** Every cue the corpus holds, by video: [start, end, a word only that cue has, its text as read]. */
const CUES: Record<string, [number, number, string, string][]> = {
  'red-talk.mp4': [
    [0.5, 1.5, 'quarterly', 'Welcome to the quarterly results'],
    [2, 3.5, 'zorblax', 'Our new Zorblax 3000 ships today'],
  ],
  'blue-film.mkv': [
    [0.4, 1.4, 'café', 'Le café est prêt'],
    [2.2, 3.2, 'müller', 'Bonjour Müller'],
  ],
  'green.mp4': [[1, 2, 'quixotron', 'The Quixotron demo starts now']],
  'yellow.mp4': [[0.5, 2.5, 'hyperloopia', 'Welcome to Hyperloopia']],
  'orange.mp4': [[1.25, 3, 'señor', 'Crème brûlée for Señor Pérez']],
};

const search = async (query: Record<string, string>) =>
  json(await fetch(`${api.url}/v1/search?${new URLSearchParams(query)}`));

beforeAll(async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-words-'));
  dir = path.join(root, 'corpus');
  mkdirSync(dir, { recursive: true });
  api = await startApi({ root, env: { REEL_API_ALLOWED_ROOTS: dir } });
  // A colour video with one subtitle track muxed from an SRT: its codec and language as given.
  const withSubtitles = (
    name: string,
    colour: string,
    codec: string,
    language: string,
    cues: [string, string, string][],
  ) => {
    const video = renderColourVideo(dir, `${colour}-raw.mp4`, [{ colour, seconds: 4 }]);
    const subtitles = path.join(dir, `${colour}.srt`);
    writeFileSync(subtitles, srt(cues));
    execFileSync(
      'ffmpeg',
      ['-v', 'error', '-y', '-i', video, '-i', subtitles, '-map', '0', '-map', '1'].concat([
        '-c:v',
        'copy',
        '-c:s',
        codec,
        '-metadata:s:s:0',
        `language=${language}`,
        path.join(dir, name),
      ]),
    );
  };
  withSubtitles('red-talk.mp4', 'red', 'mov_text', 'eng', [
    ['00:00:00,500', '00:00:01,500', 'Welcome to the <i>quarterly</i> results'],
    ['00:00:02,000', '00:00:03,500', 'Our new Zorblax 3000 ships today'],
  ]);
  withSubtitles('blue-film.mkv', 'blue', 'srt', 'fra', [
    ['00:00:00,400', '00:00:01,400', 'Le café est prêt'],
    ['00:00:02,200', '00:00:03,200', '<b>Bonjour</b> Müller'],
  ]);
  for (const [name, colour] of [
    ['green.mp4', 'green'],
    ['yellow.mp4', 'yellow'],
    ['orange.mp4', 'orange'],
    ['purple.mp4', 'purple'],
    ['white.mp4', 'white'],
  ] as const)
    renderColourVideo(dir, name, [{ colour, seconds: 4 }]);
  writeFileSync(
    path.join(dir, 'green.srt'),
    srt([['00:00:01,000', '00:00:02,000', 'The Quixotron demo starts now']]),
  );
  writeFileSync(
    path.join(dir, 'yellow.en.vtt'),
    'WEBVTT\n\nNOTE made by the test\n\n00:00:00.500 --> 00:00:02.500 align:start\n<v Anna>Welcome to <b>Hyperloopia</b>\n',
  );
  writeFileSync(path.join(dir, 'purple.srt'), '1\nthis is not a time line\nHello\n');
  writeFileSync(
    path.join(dir, 'orange.srt'),
    Buffer.from('1\r\n00:00:01,250 --> 00:00:03,000\r\nCrème brûlée for Señor Pérez\r\n', 'latin1'),
  );
  const form = uploadForm(
    [
      'red-talk.mp4',
      'blue-film.mkv',
      'green.mp4',
      'green.srt',
      'yellow.mp4',
      'yellow.en.vtt',
      'orange.mp4',
      'orange.srt',
      'purple.mp4',
      'purple.srt',
      'white.mp4',
      'nobody.srt',
    ].map((name) => ({ file: path.join(dir, name === 'nobody.srt' ? 'green.srt' : name), name })),
  );
  upload = await json(await fetch(`${api.url}/v1/videos`, { method: 'POST', body: form }));
  expect(upload.videos).toHaveLength(7);
  for (const v of upload.videos) ids[v.name] = v.videoId;
  const done = await waitForBatch(api.url, upload.batchId);
  expect(done.counts).toMatchObject({ indexed: 7 });
}, 240_000);

afterAll(async () => {
  await api?.close();
});

describe('reading the words', () => {
  it('attaches each caption file to its video, and says which could not be', () => {
    const byName = Object.fromEntries(upload.captions.map((c: any) => [c.name, c]));
    expect(byName['green.srt']).toMatchObject({ videoId: ids['green.mp4'], cues: 1 });
    expect(byName['yellow.en.vtt']).toMatchObject({ videoId: ids['yellow.mp4'], cues: 1 });
    expect(byName['orange.srt']).toMatchObject({ videoId: ids['orange.mp4'], cues: 1 });
    expect(byName['purple.srt']).toMatchObject({
      videoId: ids['purple.mp4'],
      cues: 0,
      code: 'CAPTIONS_MALFORMED',
    });
    expect(byName['purple.srt'].message).toMatch(/purple\.srt: line 2/);
    expect(byName['nobody.srt']).toMatchObject({ videoId: null, code: 'CAPTIONS_UNMATCHED' });
  });

  it('lists every track: inside the file with its language, beside it, and the one not read', async () => {
    const red = await json(await fetch(`${api.url}/v1/videos/${ids['red-talk.mp4']}/captions`));
    expect(red.tracks).toEqual([
      expect.objectContaining({
        id: 'embedded-1',
        source: 'embedded',
        codec: 'mov_text',
        language: 'eng',
        read: true,
        cueCount: 2,
      }),
    ]);
    const blue = await json(await fetch(`${api.url}/v1/videos/${ids['blue-film.mkv']}`));
    expect(blue.captions).toEqual([
      expect.objectContaining({ source: 'embedded', codec: 'subrip', language: 'fra', cueCount: 2 }),
    ]);
    const yellow = await json(await fetch(`${api.url}/v1/videos/${ids['yellow.mp4']}/captions`));
    expect(yellow.tracks[0]).toMatchObject({
      source: 'sidecar',
      codec: 'webvtt',
      language: 'en',
      read: true,
    });
    const purple = await json(await fetch(`${api.url}/v1/videos/${ids['purple.mp4']}/captions`));
    expect(purple.tracks[0]).toMatchObject({ read: false, url: null, error: { code: 'CAPTIONS_MALFORMED' } });
  });

  it('serves a track as WebVTT, its text as plain text', async () => {
    const response = await fetch(`${api.url}/v1/videos/${ids['red-talk.mp4']}/captions/embedded-1`);
    expect(response.headers.get('content-type')).toMatch(/^text\/vtt/);
    const vtt = await response.text();
    expect(vtt).toBe(
      'WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nWelcome to the quarterly results\n\n00:00:02.000 --> 00:00:03.500\nOur new Zorblax 3000 ships today\n',
    );
    const missing = await fetch(`${api.url}/v1/videos/${ids['red-talk.mp4']}/captions/embedded-9`);
    expect(missing.status).toBe(404);
    expect((await json(missing)).code).toBe('CAPTION_TRACK_NOT_FOUND');
  });
});

describe('searching the words', () => {
  it('finds every cue, at its own time, by a word only it has', async () => {
    for (const [name, cues] of Object.entries(CUES))
      for (const [start, end, word, text] of cues) {
        const answer = await search({ q: word, mode: 'words' });
        expect(answer.mode).toBe('words');
        const top = answer.results[0];
        expect(top?.videoId, `${word} → ${name}`).toBe(ids[name]);
        expect(top.moment.start).toBeCloseTo(start, 2);
        expect(top.moment.end).toBeCloseTo(end, 2);
        expect(top.moment.cue.text).toBe(text);
        expect(top.matchedBy).toEqual(['cue']);
      }
  });

  it('answers a query only the words can: a made-up name, at its cue, with the word marked', async () => {
    const answer = await search({ q: 'the Zorblax launch' });
    expect(answer.mode).toBe('hybrid');
    const top = answer.results[0];
    expect(top.videoId).toBe(ids['red-talk.mp4']);
    expect(top.moment).toMatchObject({ start: 2, end: 3.5 });
    const { text, highlights } = top.moment.cue;
    expect(highlights.map(([a, b]: [number, number]) => text.slice(a, b))).toEqual(['Zorblax']);
    expect(top.matchedBy).toContain('cue');
    expect(top.streamUrl).toMatch(/#t=2$/);
    expect(answer.noGoodMatch).toBe(false);
  });

  it('ignores case and accents, and reads a windows-1252 file as its writer meant', async () => {
    const cafe = await search({ q: 'CAFE', mode: 'words' });
    expect(cafe.results[0].videoId).toBe(ids['blue-film.mkv']);
    expect(cafe.results[0].words[0].text).toBe('Le café est prêt');
    const senor = await search({ q: 'senor perez', mode: 'words' });
    expect(senor.results[0].words[0].text).toBe('Crème brûlée for Señor Pérez');
  });

  it('still ranks a colour query by the frames', async () => {
    for (const colour of ['blue', 'green', 'purple', 'white']) {
      const visual = await search({ q: colour, mode: 'visual' });
      const hybrid = await search({ q: colour });
      expect(hybrid.mode).toBe('hybrid');
      expect(hybrid.results[0].videoId, colour).toBe(visual.results[0].videoId);
      expect(hybrid.results[0].matchedBy[0]).toBe('frames');
    }
    const visual = await search({ q: 'Zorblax', mode: 'visual' });
    expect(visual.results.every((r: any) => r.words.length === 0 && r.moment.cue === null)).toBe(true);
  });

  it('finds file names and titles, and says so', async () => {
    // An upload is titled after its file: both match, and both are said.
    const byFile = await search({ q: 'film', mode: 'words' });
    expect(byFile.results[0].videoId).toBe(ids['blue-film.mkv']);
    expect(byFile.results[0].matchedBy.sort()).toEqual(['file', 'title']);
    expect(byFile.results[0].words.map((w: any) => [w.field, w.text]).sort()).toEqual([
      ['file', 'blue-film.mkv'],
      ['title', 'blue-film'],
    ]);
  });
});

describe('keeping the words in step', () => {
  it('searches a caption file attached later at once, and forgets it when removed', async () => {
    const body = new FormData();
    body.append(
      'file',
      new Blob(['1\n00:00:00,000 --> 00:00:01,000\nA flibbertigibbet appears\n']),
      'white.de.srt',
    );
    const attached = await fetch(`${api.url}/v1/videos/${ids['white.mp4']}/captions`, {
      method: 'POST',
      body,
    });
    expect(attached.status).toBe(201);
    const track = await json(attached);
    expect(track).toMatchObject({ source: 'sidecar', language: 'de', cueCount: 1, read: true });
    expect((await search({ q: 'flibbertigibbet', mode: 'words' })).results[0].videoId).toBe(ids['white.mp4']);
    const bad = new FormData();
    bad.append('file', new Blob(['\u0000\u0001binary']), 'white.srt');
    const refused = await fetch(`${api.url}/v1/videos/${ids['white.mp4']}/captions`, {
      method: 'POST',
      body: bad,
    });
    expect(refused.status).toBe(415);
    expect((await json(refused)).code).toBe('CAPTIONS_UNSUPPORTED');
    const removed = await fetch(`${api.url}/v1/videos/${ids['white.mp4']}/captions/${track.id}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    expect((await search({ q: 'flibbertigibbet', mode: 'words' })).results).toEqual([]);
  });

  it('follows tag and title edits', async () => {
    const edit = (body: unknown) =>
      fetch(`${api.url}/v1/videos/${ids['green.mp4']}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await edit({ tags: ['Kalamazoo'], title: 'Annual gala' })).status).toBe(200);
    const tag = await search({ q: 'kalamazoo', mode: 'words' });
    expect(tag.results[0]).toMatchObject({ videoId: ids['green.mp4'], matchedBy: ['tag'] });
    expect((await search({ q: 'gala', mode: 'words' })).results[0].matchedBy).toEqual(['title']);
    await edit({ tags: [] });
    expect((await search({ q: 'kalamazoo', mode: 'words' })).results).toEqual([]);
  });

  it('reads the caption files beside a server-side path, and says which it skipped', async () => {
    const lecture = renderColourVideo(dir, 'lecture.mp4', [{ colour: 'gray', seconds: 3 }]);
    writeFileSync(
      path.join(dir, 'lecture.es.srt'),
      srt([['00:00:01,000', '00:00:02,000', 'La biblioteca de Alejandría']]),
    );
    const accepted = await json(
      await fetch(`${api.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ videos: [{ path: lecture }] }),
      }),
    );
    expect((await waitForBatch(api.url, accepted.batchId)).counts).toMatchObject({ indexed: 1 });
    const id = accepted.videos[0].videoId;
    const tracks = await json(await fetch(`${api.url}/v1/videos/${id}/captions`));
    expect(tracks.tracks).toEqual([
      expect.objectContaining({
        id: 'sidecar-lecture.es.srt',
        source: 'sidecar',
        language: 'es',
        cueCount: 1,
      }),
    ]);
    const top = (await search({ q: 'alejandria', mode: 'words' })).results[0];
    expect(top).toMatchObject({ videoId: id, moment: { start: 1, end: 2 } });
    expect(top.words.find((w: any) => w.field === 'file')).toBeUndefined();
  });

  it('prints the cue that matched from the CLI', async () => {
    const run = await runCli(['search', 'Zorblax'], {
      PATH: process.env.PATH ?? '',
      REEL_DATA_DIR: path.join(api.root, 'data'),
      REEL_REDIS_URL: api.config.redisUrl,
      REEL_QUEUE_PREFIX: api.config.queuePrefix,
      REEL_LOG_LEVEL: 'warn',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^1 +red-talk .* 0:02\.0–0:03\.5 +cue /m);
    expect(run.stdout).toMatch(
      /moment 0:02\.0–0:03\.5 {2}score [\d.]+ {2}said "Our new \[Zorblax\] 3000 ships today"/,
    );
    expect(run.stdout).toMatch(/^hybrid · /m);
  });

  it("removes a deleted video's words", async () => {
    expect((await fetch(`${api.url}/v1/videos/${ids['red-talk.mp4']}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    const answer = await search({ q: 'zorblax', mode: 'words' });
    expect(answer.results).toEqual([]);
  });
});
