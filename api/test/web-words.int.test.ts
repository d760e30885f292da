/// <reference lib="dom" />
// (The callbacks passed to page.evaluate run in the browser: they use the DOM types.)
/**
 * The words in videos on the web page, in a real browser (Debian's chromium driven by playwright-core)
 * against the real API, worker, Redis, ffmpeg, onnxruntime and LanceDB: videos and their caption files
 * uploaded through the page (each caption's outcome shown), a search by a word only a subtitle cue has
 * (the cue on the card, the word marked, the "said" badge), the player at the cue with the video's
 * subtitle tracks, "Frames only" (kept for "load more"), a hostile cue shown as text, and the caption
 * tracks in the library; with an API key, the tracks come as blob URLs, freed on close. Screenshots in api/test-artifacts/ (web-words-*.png).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../src/keys/key-store.ts';
import { type ApiFixture, renderColourVideo, startApi } from './helpers/api-server.ts';
import { ARTIFACTS, launchBrowser, openPage as openPageIn } from './helpers/browser.ts';

let api: ApiFixture;
let browser: Browser;
let files: string[];

/** A cue text that would run script if a page put it in as HTML (an SRT entity-escapes it). */
const HOSTILE = '<img src=x onerror=alert(1)> the glorptastic part';

const srt = (cues: [string, string, string][]) =>
  cues.map(([from, to, text], i) => `${i + 1}\n${from} --> ${to}\n${text}\n`).join('\n');

beforeAll(async () => {
  browser = await launchBrowser();
  api = await startApi();
  const dir = api.videos;
  // talk.mp4: red, with a mov_text subtitle track (eng) inside; "Zorblax" is said from 2 s to 3.5 s.
  const raw = renderColourVideo(dir, 'talk-raw.mp4', [{ colour: 'red', seconds: 4 }]);
  writeFileSync(
    path.join(dir, 'talk-subs.srt'),
    srt([
      ['00:00:00,500', '00:00:01,500', 'Welcome to the <i>quarterly</i> results'],
      ['00:00:02,000', '00:00:03,500', 'Our new Zorblax 3000 ships today'],
    ]),
  );
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-i', raw, '-i', path.join(dir, 'talk-subs.srt')],
    ...['-map', '0', '-map', '1', '-c:v', 'copy', '-c:s', 'mov_text'],
    ...['-metadata:s:s:0', 'language=eng', path.join(dir, 'talk.mp4')],
  ]);
  // lecture.mp4: blue, with caption files beside it: one in English (its second cue hostile), one that
  // is not a caption file at all; and a caption file named after no video of the upload.
  renderColourVideo(dir, 'lecture.mp4', [{ colour: 'blue', seconds: 4 }]);
  writeFileSync(
    path.join(dir, 'lecture.en.srt'),
    srt([
      ['00:00:00,200', '00:00:01,000', 'Good morning'],
      ['00:00:01,250', '00:00:02,750', HOSTILE.replace('<', '&lt;').replace('>', '&gt;')],
    ]),
  );
  writeFileSync(path.join(dir, 'lecture.fr.srt'), '1\nthis is not a time line\nBonjour\n');
  writeFileSync(path.join(dir, 'nobody.srt'), srt([['00:00:00,000', '00:00:01,000', 'Nobody']]));
  files = ['talk.mp4', 'lecture.mp4', 'lecture.en.srt', 'lecture.fr.srt', 'nobody.srt'].map((f) =>
    path.join(dir, f),
  );
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

/** A page that also records any dialog (an alert would be a cue's markup run as HTML). */
async function openPage(address = `${api.url}/`, width = 1280) {
  const opened = await openPageIn(browser, address, { width, height: 900 });
  const dialogs: string[] = [];
  opened.page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  await expect.poll(() => opened.page.locator('#server-status').textContent()).not.toBe('Connecting…');
  return { ...opened, dialogs };
}

async function searchFor(page: Page, text: string) {
  await page.fill('#q', text);
  await page.press('#q', 'Enter');
  await page.locator('#search-status', { hasText: /results? for|No videos match|No good match/ }).waitFor();
}

const first = (page: Page) => page.locator('#results li').first();

describe('the words in videos on the web page (real chromium, API, worker, ffmpeg, LanceDB)', () => {
  it('uploads videos with their caption files through the page and says what became of each caption', async () => {
    const { page, errors } = await openPage();
    expect(await page.getAttribute('#files', 'accept')).toMatch(/\.srt,\.vtt,\.ass,\.ssa/);
    await page.setInputFiles('#files', files);
    expect(await page.locator('#picked').textContent()).toBe(
      '5 files: talk.mp4, lecture.mp4, lecture.en.srt, lecture.fr.srt, nobody.srt (3 caption files)',
    );
    await page.click('#upload-button');
    await page.locator('#upload-status', { hasText: 'Done:' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('#upload-status').textContent()).toBe(
      'Done: 2 indexed, 0 already there, 0 failed.',
    );
    const rows = await page.$$eval('#caption-rows tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const byName = Object.fromEntries(rows.map(([name, ...rest]) => [name, rest]));
    expect(byName['lecture.en.srt']).toEqual(['lecture.mp4', 'attached, 2 cues']);
    expect(byName['lecture.fr.srt']).toEqual([
      'lecture.mp4',
      expect.stringMatching(/^attached, not read: CAPTIONS_MALFORMED: lecture\.fr\.srt: line 2/),
    ]);
    expect(byName['nobody.srt']).toEqual(['–', expect.stringMatching(/^not attached: CAPTIONS_UNMATCHED: /)]);
    expect(await page.locator('#caption-rows tr[data-status="failed"] td.status-failed').count()).toBe(2);
    await page.locator('#upload-heading').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-words-upload-1280px.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('finds a word only a cue has: the cue on the card, the word marked, the "said" badge', async () => {
    const { page, errors, dialogs } = await openPage();
    await searchFor(page, 'zorblax');
    const card = first(page);
    expect(await card.locator('.card-title').textContent()).toBe('talk');
    expect(await card.locator('.card-words .cue q').textContent()).toBe('Our new Zorblax 3000 ships today');
    expect(await card.locator('.card-words .cue mark').allTextContents()).toEqual(['Zorblax']);
    expect(await card.locator('.badge[data-why="cue"]').textContent()).toBe('said');
    // The badges are read out with the card: its description names why it matched.
    const described = await card
      .locator('button.card')
      .evaluate((b) => document.getElementById(b.getAttribute('aria-describedby')!)!.textContent);
    expect(described).toContain('Matched by: ');
    expect(described).toContain('Our new Zorblax 3000 ships today');
    expect(await card.locator('.moment').textContent()).toBe('0:02.0–0:03.5');
    expect(await page.locator('#search-status').textContent()).toMatch(/by frames and words/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-words-results-1280px.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('plays from the cue, lists it under the player and shows the matched subtitle track', async () => {
    const { page, errors } = await openPage();
    await searchFor(page, 'zorblax');
    // Where the player stands once its metadata is in (after the page's own handler has run).
    await page.evaluate(() => {
      const video = document.getElementById('player') as HTMLVideoElement;
      video.addEventListener(
        'loadedmetadata',
        () =>
          setTimeout(() => {
            (window as unknown as { atMetadata: number }).atMetadata = video.currentTime;
          }, 0),
        { once: true },
      );
    });
    await first(page).locator('button.card').click();
    await page.locator('#player-dialog[open]').waitFor();
    const at = await page.waitForFunction(
      () => (window as unknown as { atMetadata?: number }).atMetadata,
      null,
      {
        timeout: 20_000,
      },
    );
    expect(Math.abs((await at.jsonValue())! - 2)).toBeLessThanOrEqual(0.3);
    // Under the player: the cue, its word marked, with its time to play from.
    expect(await page.locator('#player-words li.said q').textContent()).toBe(
      'Our new Zorblax 3000 ships today',
    );
    expect(await page.locator('#player-words li.said mark').textContent()).toBe('Zorblax');
    expect(await page.locator('#player-words .cue-time').textContent()).toBe('0:02.0');
    // The video's subtitle track is on the player, shown, and its cues load.
    const track = page.locator('#player track');
    await track.waitFor({ state: 'attached' });
    expect(await track.count()).toBe(1);
    expect(await track.getAttribute('kind')).toBe('subtitles');
    expect(await track.getAttribute('srclang')).toBe('eng');
    expect(await track.getAttribute('data-track-id')).toBe('embedded-1');
    await expect
      .poll(() => track.evaluate((t) => (t as HTMLTrackElement).readyState), { timeout: 10_000 })
      .toBe(2);
    const cues = await page.evaluate(() => {
      const list = (document.getElementById('player') as HTMLVideoElement).textTracks[0]!;
      return { mode: list.mode, texts: [...(list.cues ?? [])].map((c) => (c as VTTCue).text) };
    });
    expect(cues).toEqual({
      mode: 'showing',
      texts: ['Welcome to the quarterly results', 'Our new Zorblax 3000 ships today'],
    });
    await page.locator('#player').evaluate((v) => (v as HTMLVideoElement).pause());
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-words-player-1280px.png') });
    // Closing takes the tracks off (their blob URLs, with a key, are freed).
    await page.click('#player-close');
    await expect.poll(() => page.locator('#player track').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('"Frames only" searches the frames, keeps to it for "load more", and shows no cue', async () => {
    const { page, errors } = await openPage(`${api.url}/?k=1`);
    const bodies: Record<string, unknown>[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/search')
        bodies.push(request.postDataJSON());
    });
    await page.selectOption('#search-mode', { label: 'Frames only' });
    await searchFor(page, 'zorblax');
    expect(await page.locator('#search-status').textContent()).toMatch(/\(by frames[,)]/);
    expect(new URL(page.url()).searchParams.get('mode')).toBe('visual');
    await page.click('#load-more');
    await expect.poll(() => page.locator('#results li').count()).toBe(2);
    expect(bodies.map((b) => b.mode)).toEqual(['visual', 'visual']);
    expect(bodies[1]!.cursor).toEqual(expect.any(String));
    expect(await page.locator('#results .cue').count()).toBe(0);
    expect(await page.locator('#results mark').count()).toBe(0);
    expect(await page.locator('#results .badge').allTextContents()).toEqual(['frames', 'frames']);
    // Words only: only the video that says it.
    await page.selectOption('#search-mode', 'words');
    await searchFor(page, 'zorblax');
    expect(bodies.at(-1)!.mode).toBe('words');
    expect(await page.locator('#search-status').textContent()).toMatch(/^1 result for "zorblax" \(by words,/);
    // Auto sends no mode (the server chooses).
    await page.selectOption('#search-mode', '');
    await searchFor(page, 'zorblax');
    expect(bodies.at(-1)!).not.toHaveProperty('mode');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a hostile cue as text: no element of it, no script run', async () => {
    const { page, errors, dialogs } = await openPage();
    await searchFor(page, 'glorptastic');
    const card = first(page);
    expect(await card.locator('.card-title').textContent()).toBe('lecture');
    expect(await card.locator('.cue q').textContent()).toBe(HOSTILE);
    expect(await card.locator('.cue mark').allTextContents()).toEqual(['glorptastic']);
    expect(await card.locator('.card-words img, .card-words [onerror]').count()).toBe(0);
    // The only images of the cards are their thumbnails.
    expect(await page.locator('#results img').count()).toBe(await page.locator('#results li').count());
    await card.locator('button.card').click();
    await page.locator('#player-dialog[open]').waitFor();
    expect(await page.locator('#player-words li.said q').textContent()).toBe(HOSTILE);
    expect(await page.locator('#player-words img').count()).toBe(0);
    // The English file's track is there and shown; the one not read is not offered.
    const track = page.locator('#player track');
    await track.waitFor({ state: 'attached' });
    expect(await track.count()).toBe(1);
    expect(await track.getAttribute('srclang')).toBe('en');
    await expect
      .poll(() => track.evaluate((t) => (t as HTMLTrackElement).readyState), { timeout: 10_000 })
      .toBe(2);
    const cueTexts = await page.evaluate(() =>
      [...((document.getElementById('player') as HTMLVideoElement).textTracks[0]!.cues ?? [])].map(
        (c) => (c as VTTCue).text,
      ),
    );
    expect(cueTexts).toHaveLength(2);
    await page.click('#player-close');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("lists a video's caption tracks in the library, with the error of one not read", async () => {
    const { page, errors } = await openPage();
    const row = page.locator('#library-list li', { hasText: 'lecture' });
    await row.locator('.library-open').click();
    await page.locator('#video-dialog[open]').waitFor();
    const tracks = await page.locator('#video-facts .track-list li').allTextContents();
    expect(tracks).toHaveLength(2);
    expect(tracks).toContainEqual(
      expect.stringMatching(/^lecture\.en\.srt · caption file · English · srt · 2 cues$/),
    );
    expect(tracks).toContainEqual(
      expect.stringMatching(
        /^lecture\.fr\.srt · caption file · French · srt · not read: CAPTIONS_MALFORMED: lecture\.fr\.srt: line 2/,
      ),
    );
    expect(await page.locator('#video-facts .track-list li.not-read').count()).toBe(1);
    // Its player gets the track that was read, for the viewer to turn on.
    await expect.poll(() => page.locator('#video-player track').count()).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-words-library-1280px.png') });
    await page.click('#video-close');
    await expect.poll(() => page.locator('#video-player track').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits phones and desktops (320, 390, 1100, 1280 px): cards, cues and badges inside, no sideways scrolling', async () => {
    for (const width of [320, 390, 1100, 1280]) {
      const { page } = await openPage(`${api.url}/?q=zorblax`, width);
      await first(page).locator('.cue mark').waitFor();
      const layout = await page.evaluate(() => {
        const out: string[] = [];
        for (const selector of ['#results li', '.card-words', '.cue', '.why', '.search-options select']) {
          for (const node of document.querySelectorAll(selector)) {
            const box = node.getBoundingClientRect();
            const panel = node.closest('.panel')!.getBoundingClientRect();
            if (box.left < panel.left - 0.5 || box.right > panel.right + 0.5) out.push(selector);
          }
        }
        return { scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, out };
      });
      expect(layout.scrollWidth, `${width} px: page wider than the screen`).toBeLessThanOrEqual(
        layout.viewport,
      );
      expect(layout.out, `${width} px: sticks out of its panel`).toEqual([]);
      if (width === 390 || width === 1280)
        await page.screenshot({ path: path.join(ARTIFACTS, `web-words-${width}px.png`), fullPage: true });
      if (width === 390) {
        await first(page).locator('button.card').click();
        await page.locator('#player-dialog[open]').waitFor();
        await page.locator('#player track').waitFor({ state: 'attached' });
        const dialog = await page.evaluate(() => {
          const box = document.getElementById('player-dialog')!.getBoundingClientRect();
          return { left: box.left, right: box.right, viewport: window.innerWidth };
        });
        expect(dialog.left).toBeGreaterThanOrEqual(0);
        expect(dialog.right).toBeLessThanOrEqual(dialog.viewport);
        await page.screenshot({ path: path.join(ARTIFACTS, 'web-words-player-390px.png') });
      }
      await page.close();
    }
  }, 90_000);

  // Last: once a key exists, the server wants one for every call.
  it('fetches the subtitle tracks with the API key (blob URLs) and frees them on close', async () => {
    const keys = new KeyStore(api.config.paths.apiKeys);
    const { key } = await keys.create({ tenant: 'default', scopes: ['search', 'ingest'], name: 'words' });
    await expect
      .poll(async () => (await fetch(`${api.url}/v1/videos?limit=1`)).status, { timeout: 5_000 })
      .toBe(401);
    const { page, errors } = await openPage();
    await page.fill('#api-key', key);
    await page.press('#api-key', 'Enter');
    await page.locator('#key-section').waitFor({ state: 'hidden' });
    // (The page's calls before the key was given were refused: those 401s are as they should be.)
    const keyless = errors.length;
    // Which blob URLs the page frees (the page's CSP keeps a test from fetching one to see).
    await page.evaluate(() => {
      const revoked: string[] = [];
      (window as unknown as { revoked: string[] }).revoked = revoked;
      const revoke = URL.revokeObjectURL.bind(URL);
      URL.revokeObjectURL = (url: string) => {
        revoked.push(url);
        revoke(url);
      };
    });
    await searchFor(page, 'zorblax');
    await first(page).locator('button.card').click();
    const track = page.locator('#player track');
    await track.waitFor({ state: 'attached' });
    const src = (await track.getAttribute('src'))!;
    expect(src).toMatch(/^blob:/);
    await expect
      .poll(() => track.evaluate((t) => (t as HTMLTrackElement).readyState), { timeout: 10_000 })
      .toBe(2);
    await page.click('#player-close');
    await expect.poll(() => page.locator('#player track').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { revoked: string[] }).revoked)).toContain(src);
    expect(errors.slice(keyless)).toEqual([]);
    await page.close();
  });
});
