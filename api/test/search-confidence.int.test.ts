/** biome-ignore-all lint/suspicious/noExplicitAny: JSON response bodies, checked by the assertions */
/**
 * Confidence and "no good match", measured on the synthetic colour corpus through the real server, worker,
 * Redis, LanceDB and onnxruntime: answerable queries (colour and position phrases, each matching a video
 * of the corpus) against nonsense (random strings, words the model does not know, an SQL injection).
 * The goal: at least 95% of each told apart. The same run measures the alternative (a z-score of the top
 * result against the query's own pool of results) and prints both, for the closing note.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFixture,
  json,
  renderColourVideo,
  startApi,
  uploadForm,
  waitForBatch,
  writeStill,
} from './helpers/api-server.ts';

const CORPUS: Record<string, Parameters<typeof renderColourVideo>[2]> = {
  'red.mp4': [{ colour: 'red', seconds: 2 }],
  'blue.mp4': [{ colour: 'blue', seconds: 2 }],
  'green-left.mp4': [{ colour: 'green', right: 'white', seconds: 2 }],
  'yellow-bottom.mp4': [{ colour: 'black', bottom: 'yellow', seconds: 2 }],
  'pink-centre.mp4': [{ colour: 'gray', centre: 'pink', seconds: 2 }],
  'purple.mp4': [{ colour: 'purple', seconds: 2 }],
  'orange-then-cyan.mp4': [
    { colour: 'orange', seconds: 2 },
    { colour: 'cyan', seconds: 2 },
  ],
  'brown-right.mp4': [{ colour: 'white', right: 'brown', seconds: 2 }],
  // Look-alikes for "more like this": each is the other's nearest video.
  'dark-red.mp4': [{ colour: '0xB81A1A', seconds: 2 }],
  'cyan.mp4': [{ colour: '0x00D8E6', seconds: 2 }],
  // Two white scenes with a black one between: two moments for "white".
  'white-black-white.mp4': [
    { colour: 'white', seconds: 2 },
    { colour: 'black', seconds: 2 },
    { colour: 'white', seconds: 2 },
  ],
};

const ANSWERABLE = [
  'red',
  'a red video',
  'blue',
  'the colour blue',
  'green on the left',
  'a green square on the left side',
  'white on the right',
  'yellow at the bottom',
  'black on top',
  'pink in the centre',
  'a pink box in the middle',
  'purple',
  'violet',
  'orange',
  'cyan',
  'turquoise',
  'brown on the right',
  'gray background',
  'white',
  'dark',
];

const NONSENSE = [
  'asdf qwer zxcv',
  'xyzzy plugh',
  'a dog on a beach',
  'the quick fox jumps',
  "'; DROP TABLE videos; --",
  'mountain sunrise',
  'a photo of a cat',
  'politics and economics',
  'kjhgfdsa',
  'lorem ipsum',
  'banana',
  'music concert',
  'car',
  '12345',
  'a video',
  'something happening',
  'people talking',
  'zzzz zzzz',
  'table and chair',
  '🐱🐶',
];

interface Answer {
  noGoodMatch: boolean;
  warnings: string[];
  matchConfidence: number;
  results: { title: string; score: number; confidence: number }[];
}

let api: ApiFixture;
const answers = new Map<string, Answer>();
const ids = new Map<string, string>();

beforeAll(async () => {
  api = await startApi();
  const files = Object.entries(CORPUS).map(([name, segments]) => ({
    file: renderColourVideo(api.videos, name, segments),
  }));
  const accepted = await json(
    await fetch(`${api.url}/v1/videos`, { method: 'POST', body: uploadForm(files) }),
  );
  const status = await waitForBatch(api.url, accepted.batchId);
  expect(status.counts.indexed).toBe(files.length);
  for (const video of status.videos as { name: string; videoId: string }[])
    ids.set(video.name, video.videoId);
  for (const q of [...ANSWERABLE, ...NONSENSE]) {
    const body = await json(
      await fetch(`${api.url}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: q, k: 100 }),
      }),
    );
    answers.set(q, body as unknown as Answer);
  }
}, 180_000);

afterAll(async () => {
  await api?.close();
});

/** The alternative: how far the top score stands above the query's other results, in their sd. */
function poolZ(answer: Answer): number {
  const scores = answer.results.map((r) => r.score);
  const rest = scores.slice(1);
  const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
  const sd = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length);
  return (scores[0]! - mean) / Math.max(sd, 1e-6);
}

describe('confidence on the synthetic corpus (real server)', () => {
  it('tells at least 95% of answerable queries and of nonsense apart', () => {
    const answered = ANSWERABLE.filter((q) => !answers.get(q)!.noGoodMatch);
    const flagged = NONSENSE.filter((q) => answers.get(q)!.noGoodMatch);
    // The alternative, thresholded at its best single cut for this corpus (in its favour).
    const z = (q: string) => poolZ(answers.get(q)!);
    const cuts = [...ANSWERABLE, ...NONSENSE].map(z).sort((a, b) => a - b);
    let best = { cut: 0, accuracy: 0, answered: 0, flagged: 0 };
    for (const cut of cuts) {
      const a = ANSWERABLE.filter((q) => z(q) >= cut).length / ANSWERABLE.length;
      const f = NONSENSE.filter((q) => z(q) < cut).length / NONSENSE.length;
      if (Math.min(a, f) > best.accuracy) best = { cut, accuracy: Math.min(a, f), answered: a, flagged: f };
    }
    console.log(
      `confidence (reference texts): answerable ${answered.length}/${ANSWERABLE.length}, nonsense flagged ${flagged.length}/${NONSENSE.length}; ` +
        `pool z-score at its best cut ${best.cut.toFixed(2)}: answerable ${(best.answered * 100).toFixed(0)}%, nonsense flagged ${(best.flagged * 100).toFixed(0)}%`,
    );
    expect(
      ANSWERABLE.filter((q) => answers.get(q)!.noGoodMatch),
      'answerable queries called "no good match"',
    ).toEqual([]);
    expect(
      NONSENSE.filter((q) => !answers.get(q)!.noGoodMatch),
      'nonsense queries with a match',
    ).toEqual([]);
    expect(answered.length / ANSWERABLE.length).toBeGreaterThanOrEqual(0.95);
    expect(flagged.length / NONSENSE.length).toBeGreaterThanOrEqual(0.95);
  });

  it('puts the matching video first with a clear confidence, and drops the rest with minConfidence', async () => {
    const red = answers.get('red')!;
    expect(red.results[0]).toMatchObject({ title: 'red' });
    expect(red.results[0]!.confidence).toBeGreaterThanOrEqual(red.matchConfidence);
    const confident = await json(
      await fetch(`${api.url}/v1/search?q=red&k=100&minConfidence=${red.matchConfidence}`),
    );
    expect(confident.results.map((r: { title: string }) => r.title)).toEqual(
      red.results.filter((r) => r.confidence >= red.matchConfidence).map((r) => r.title),
    );
    expect(confident.results.length).toBeLessThan(red.results.length);
    const nonsense = await json(
      await fetch(`${api.url}/v1/search?q=${encodeURIComponent('xyzzy plugh')}&minConfidence=3`),
    );
    expect(nonsense).toMatchObject({ results: [], noGoodMatch: true });
  });

  it('breaks exact ties the same way every time', async () => {
    // Nonsense scores every video alike; the order must still be stable.
    const first = answers.get('xyzzy plugh')!.results.map((r) => r.title);
    const again = await json(
      await fetch(`${api.url}/v1/search?q=${encodeURIComponent('xyzzy plugh')}&k=100`),
    );
    expect(again.results.map((r: { title: string }) => r.title)).toEqual(first);
  });
});

describe('the query text', () => {
  it('warns when a query is longer than the model reads, and says nothing for one that fits', async () => {
    const long = Array.from({ length: 100 }, () => 'red').join(' ');
    const body = await json(await fetch(`${api.url}/v1/search?q=${encodeURIComponent(long)}`));
    expect(body.warnings).toEqual([
      'query: 102 tokens, but the model reads at most 77: only the start of it was searched (cut at a token boundary)',
    ]);
    expect(body.results[0].title).toBe('red');
    expect(answers.get('red')).toMatchObject({ warnings: [] });
  });
});

describe('more like this (an example video)', () => {
  async function like(body: Record<string, unknown>): Promise<Record<string, any>> {
    const response = await fetch(`${api.url}/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ k: 3, ...body }),
    });
    return { status: response.status, ...(await json(response)) };
  }

  it("finds a video's look-alike first and never the video itself", async () => {
    const red = await like({ like: { videoId: ids.get('red.mp4') } });
    expect(red.status).toBe(200);
    expect(red.results[0].title).toBe('dark-red');
    expect(red.results.map((r: { title: string }) => r.title)).not.toContain('red');
    expect(red.results[0].confidence).toBeGreaterThanOrEqual(red.matchConfidence);
    expect(red.noGoodMatch).toBe(false);
  });

  it('searches by the frame nearest a time: the cyan half of a video that turns from orange to cyan', async () => {
    const later = await like({ like: { videoId: ids.get('orange-then-cyan.mp4'), at: 3 } });
    expect(later.results[0].title).toBe('cyan');
  });

  it('combines a text and an example, the weight deciding between them', async () => {
    const mostlyText = await like({
      query: 'purple',
      like: { videoId: ids.get('red.mp4') },
      exampleWeight: 0.1,
    });
    expect(mostlyText.results[0].title).toBe('purple');
    const mostlyExample = await like({
      query: 'purple',
      like: { videoId: ids.get('red.mp4') },
      exampleWeight: 0.9,
    });
    expect(mostlyExample.results[0].title).toBe('dark-red');
  });

  it('says which video is unknown, and what a query needs', async () => {
    const unknown = await like({ like: { videoId: 'v_nope' } });
    expect(unknown).toMatchObject({ status: 404, code: 'VIDEO_NOT_FOUND' });
    expect(unknown.detail).toContain('"v_nope"');
    const neither = await like({});
    expect(neither).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(neither.detail).toContain(
      'give query (a text), like (an example video) or image (a multipart part)',
    );
  });
});

describe('search by image (multipart)', () => {
  /** A still written by ffmpeg from a lavfi source (a colour layout the corpus knows). */
  function still(name: string, source: string): Buffer {
    const file = path.join(api.root, name);
    writeStill(file, source);
    return readFileSync(file);
  }

  async function byImage(image: Buffer, name: string, fields: Record<string, string> = {}) {
    const body = new FormData();
    for (const [key, value] of Object.entries(fields)) body.append(key, value);
    body.append('image', new Blob([new Uint8Array(image)]), name);
    const response = await fetch(`${api.url}/v1/search`, { method: 'POST', body });
    return { status: response.status, ...(await json(response)) } as Record<string, any>;
  }

  it('finds the video of the colour layout a still shows, in the top 3', async () => {
    const red = await byImage(still('red.png', 'color=c=0xE61919:s=96x72'), 'red.png', { k: '3' });
    expect(red.status).toBe(200);
    expect(red.results.map((r: { title: string }) => r.title)).toContain('red');
    expect(red.results[0].confidence).toBeGreaterThanOrEqual(red.matchConfidence);
    const split = still(
      'green-left.jpg',
      "color=c=white:s=96x72,format=rgb24,geq=r='if(lt(X,W/2),25,255)':g='if(lt(X,W/2),180,255)':b='if(lt(X,W/2),25,255)'",
    );
    const green = await byImage(split, 'green-left.jpg', { k: '3' });
    expect(green.results.slice(0, 3).map((r: { title: string }) => r.title)).toContain('green-left');
    // The same filters as a JSON search, sent as JSON text: a tag no video carries leaves nothing.
    const filtered = await byImage(split, 'green-left.jpg', {
      filters: JSON.stringify({ tags: ['no-such-tag'] }),
    });
    expect(filtered).toMatchObject({ status: 200, results: [] });
    expect(await byImage(split, 'green-left.jpg', { filters: '{not json' })).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    // With a text too: the image leads at a high weight.
    const both = await byImage(split, 'green-left.jpg', { query: 'purple', exampleWeight: '0.9' });
    expect(both.results[0].title).toBe('green-left');
  });

  it('tells stills of the corpus from pictures of nothing by confidence (pictures of nothing as references)', async () => {
    // Answerable: a frame of each video, as a person would screenshot it.
    const answerable = Object.keys(CORPUS).map((name) => {
      const file = path.join(api.root, `frame-of-${name}.png`);
      writeStill(file, `movie=${path.join(api.videos, name)},trim=start_frame=3`);
      return { name, image: readFileSync(file) };
    });
    // Nonsense: pictures with no scene, none of them a reference picture (other noise seeds, strengths
    // and colours, blurred noise, other gradient directions). Not counted as nonsense here: flat fields
    // and black-and-white bands, which on this corpus of flat colour fields and bands are near real
    // videos (a flat grey still does stand out for the video with a grey background).
    const nonsense = [
      'color=c=gray:s=96x72,noise=alls=80:allf=t+u:all_seed=11',
      'color=c=gray:s=96x72,noise=alls=60:allf=t+u:all_seed=12',
      'color=c=0x7a7a7a:s=96x72,noise=alls=30:allf=u:all_seed=13',
      'color=c=gray:s=96x72,noise=c0s=90:c1s=90:c2s=90:allf=u:all_seed=14',
      'color=c=gray:s=96x72,noise=alls=100:allf=u:all_seed=15,gblur=sigma=2',
      "nullsrc=s=96x72,geq=lum='(X+Y)*255/166':cb=128:cr=128",
      "nullsrc=s=96x72,geq=lum='255-Y*255/71':cb=128:cr=128",
      "nullsrc=s=96x72,geq=lum='255-X*255/95':cb=128:cr=128",
    ].map((source, i) => still(`nothing-${i}.png`, source));
    const found: string[] = [];
    const answered: string[] = [];
    for (const { name, image } of answerable) {
      const answer = await byImage(image, `${name}.png`, { k: '3' });
      if (answer.results.some((r: { title: string }) => `${r.title}.mp4` === name)) found.push(name);
      if (!answer.noGoodMatch) answered.push(name);
    }
    const flagged: number[] = [];
    for (const [i, image] of nonsense.entries())
      if ((await byImage(image, `nothing-${i}.png`)).noGoodMatch) flagged.push(i);
    console.log(
      `search by image: own video in the top 3 for ${found.length}/${answerable.length} stills; confidence: answerable ${answered.length}/${answerable.length}, pictures of nothing flagged ${flagged.length}/${nonsense.length}; not answered: ${
        answerable
          .map((a) => a.name)
          .filter((n) => !answered.includes(n))
          .join(', ') || 'none'
      }; not flagged: ${
        nonsense
          .map((_, i) => i)
          .filter((i) => !flagged.includes(i))
          .join(', ') || 'none'
      }`,
    );
    expect(found.length / answerable.length).toBeGreaterThanOrEqual(0.95);
    expect(answered.length / answerable.length).toBeGreaterThanOrEqual(0.95);
    expect(flagged.length / nonsense.length).toBeGreaterThanOrEqual(0.95);
  });

  it('refuses what is not a JPEG, PNG or WebP (an SVG, a text), and an image over the limit, with their codes', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>',
    );
    expect(await byImage(svg, 'x.svg')).toMatchObject({ status: 400, code: 'IMAGE_INVALID' });
    expect(await byImage(Buffer.from('not an image at all'), 'x.png')).toMatchObject({
      status: 400,
      code: 'IMAGE_INVALID',
    });
    const huge = Buffer.alloc(10 * 1024 * 1024 + 1);
    huge.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const tooLarge = await byImage(huge, 'huge.png');
    expect(tooLarge).toMatchObject({ status: 413, code: 'IMAGE_TOO_LARGE' });
    // A PNG header claiming 60000 × 60000 pixels: refused by the pixel limit, not decoded.
    const bomb = still('small.png', 'color=c=red:s=8x8');
    bomb.writeUInt32BE(60_000, 16);
    bomb.writeUInt32BE(60_000, 20);
    expect(await byImage(bomb, 'bomb.png')).toMatchObject({ status: 400, code: 'IMAGE_INVALID' });
    // The server still answers.
    expect((await fetch(`${api.url}/v1/search?q=red`)).status).toBe(200);
  });
});

describe('every matching moment', () => {
  it('finds both white scenes of a white-black-white video, boundaries within one sampled frame', async () => {
    // 12 frames over 6 s: one every 0.5 s.
    const spacing = 0.5;
    const byVideo = await json(await fetch(`${api.url}/v1/search?q=white&k=20`));
    const video = byVideo.results.find((r: { title: string }) => r.title === 'white-black-white');
    expect(video.moments).toHaveLength(2);
    const [a, b] = [...video.moments].sort((x: { start: number }, y: { start: number }) => x.start - y.start);
    expect(Math.abs(a.start - 0)).toBeLessThanOrEqual(spacing);
    expect(Math.abs(a.end - 2)).toBeLessThanOrEqual(spacing);
    expect(Math.abs(b.start - 4)).toBeLessThanOrEqual(spacing);
    expect(Math.abs(b.end - 6)).toBeLessThanOrEqual(spacing);
    expect(a.thumbnailUrl).toMatch(/\/frames\/\d+\/thumbnail$/);
    // A one-scene video has one moment.
    const red = await json(await fetch(`${api.url}/v1/search?q=red&k=3`));
    expect(red.results.find((r: { title: string }) => r.title === 'red').moments).toHaveLength(1);

    const byMoment = await json(await fetch(`${api.url}/v1/search?q=white&k=40&group=moment`));
    const ofVideo = byMoment.results.filter((r: { title: string }) => r.title === 'white-black-white');
    expect(ofVideo).toHaveLength(2);
    const scores = byMoment.results.map((r: { score: number }) => r.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(byMoment.results.map((r: { rank: number }) => r.rank)).toEqual(
      scores.map((_: number, i: number) => i + 1),
    );
    for (const r of ofVideo)
      expect(r.moments).toEqual([expect.objectContaining({ start: r.moment.start, end: r.moment.end })]);
  });
});
