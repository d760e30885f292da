/// <reference lib="dom" />
// (The callbacks passed to page.evaluate run in the browser: they use the DOM types.)
/**
 * The web page in a real browser (Debian's chromium driven by playwright-core) against the real API,
 * worker, Redis, ffmpeg, onnxruntime and LanceDB: upload two generated videos, watch them get indexed,
 * search, open the first result and check the player stands at the matched moment. Screenshots are
 * written to api/test-artifacts/ (web-page-results.png, web-page-player.png) for a person to look at.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '../src/keys/key-store.ts';
import {
  type ApiFixture,
  json,
  renderColourVideo,
  startApi,
  uploadForm,
  waitForBatch,
  writeStill,
} from './helpers/api-server.ts';
import { ARTIFACTS, launchBrowser, openPage as openPageIn } from './helpers/browser.ts';

let api: ApiFixture;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  api = await startApi();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

/** A new page that fails the test on any error the page's script throws or logs. */
const openPage = (address: string) => openPageIn(browser, address);

describe('the web page at / (real chromium, API, worker, ffmpeg, onnxruntime, LanceDB)', () => {
  it('uploads two videos, shows them indexed, finds the right one first and plays it from the moment', async () => {
    // sunrise: blue, then yellow from 3 s (the moment to find); meadow: green throughout.
    const sunrise = renderColourVideo(api.videos, 'sunrise.mp4', [
      { colour: 'blue', seconds: 3 },
      { colour: 'yellow', seconds: 3 },
    ]);
    const meadow = renderColourVideo(api.videos, 'meadow.mp4', [{ colour: 'green', seconds: 6 }]);

    const { page, errors } = await openPage(`${api.url}/`);
    await expect.poll(() => page.locator('#server-status').textContent()).not.toBe('Connecting…');
    expect(await page.locator('#key-section').isHidden()).toBe(true);
    // Every form control has a label a screen reader can announce.
    const unlabelled = await page.$$eval('input, select', (controls) =>
      controls
        .filter((c) => (c as HTMLInputElement).labels?.length === 0 && !c.getAttribute('aria-label'))
        .map((c) => c.id),
    );
    expect(unlabelled).toEqual([]);

    // Dropping files on the drop zone picks them, as the file picker does.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['x'], 'dropped.mp4', { type: 'video/mp4' }));
      document.getElementById('drop-zone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data }));
    });
    expect(await page.locator('#picked').textContent()).toBe('1 file: dropped.mp4');

    await page.setInputFiles('#files', [sunrise, meadow]);
    // Record every status the batch table shows, to see it update live.
    await page.evaluate(() => {
      const seen = new Set<string>();
      (window as unknown as { seenStatuses: Set<string> }).seenStatuses = seen;
      new MutationObserver(() => {
        for (const row of document.querySelectorAll('#batch-rows tr'))
          seen.add(row.getAttribute('data-status')!);
      }).observe(document.getElementById('batch-rows')!, { childList: true, subtree: true });
    });
    await expect.poll(() => page.locator('#picked').textContent()).toContain('2 files');
    await page.fill('#upload-tags', 'browser');
    await page.click('#upload-button');
    await page.locator('#upload-status', { hasText: 'Done:' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('#upload-status').textContent()).toBe(
      'Done: 2 indexed, 0 already there, 0 failed.',
    );
    const seen = await page.evaluate(() => [
      ...(window as unknown as { seenStatuses: Set<string> }).seenStatuses,
    ]);
    expect(seen).toContain('queued');
    expect(seen).toContain('indexed');
    const rows = await page.$$eval('#batch-rows tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows.map((r) => r.slice(0, 2)).sort()).toEqual([
      ['meadow.mp4', 'indexed'],
      ['sunrise.mp4', 'indexed'],
    ]);

    // Search: the yellow video first, its moment in the yellow half.
    await page.fill('#q', 'yellow');
    await page.press('#q', 'Enter');
    await page.locator('#results li').first().waitFor();
    const first = page.locator('#results li').first();
    expect(await first.locator('.card-title').textContent()).toBe('sunrise');
    const expected = (await (await fetch(`${api.url}/v1/search?q=yellow&k=1`)).json()) as {
      results: { videoId: string; moment: { start: number; end: number } }[];
    };
    const moment = expected.results[0]!.moment;
    expect(moment.start).toBeGreaterThanOrEqual(2.5);
    expect(await first.getAttribute('data-video-id')).toBe(expected.results[0]!.videoId);
    // The thumbnail of the matched frame loaded.
    await expect
      .poll(() => first.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-results.png'), fullPage: true });

    // Clicking the card opens the player at the moment's start.
    await first.locator('button.card').click();
    await page.locator('#player-dialog[open]').waitFor();
    const video = page.locator('#player');
    await expect
      .poll(() => video.evaluate((v) => (v as HTMLVideoElement).readyState), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(1);
    expect(await video.evaluate((v) => (v as HTMLVideoElement).error)).toBeNull();
    const at = await video.evaluate((v) => (v as HTMLVideoElement).currentTime);
    expect(at).toBeGreaterThanOrEqual(moment.start - 0.05);
    expect(at).toBeLessThan(moment.start + 1.5);
    // It plays on from there into the yellow scene (the moment starts half a frame-spacing before it).
    await expect
      .poll(() => video.evaluate((v) => (v as HTMLVideoElement).currentTime), { timeout: 10_000 })
      .toBeGreaterThan(Math.max(3.2, moment.start + 0.3));
    const pixel = await video.evaluate((v) => {
      const media = v as HTMLVideoElement;
      const canvas = document.createElement('canvas');
      canvas.width = media.videoWidth;
      canvas.height = media.videoHeight;
      const context = canvas.getContext('2d')!;
      context.drawImage(media, 0, 0);
      return [...context.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data.slice(0, 3)];
    });
    expect(pixel[0]).toBeGreaterThan(200);
    expect(pixel[1]).toBeGreaterThan(200);
    expect(pixel[2]).toBeLessThan(100);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-player.png') });

    // Keyboard: Escape closes the player.
    await page.keyboard.press('Escape');
    await page.locator('#player-dialog[open]').waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('filters by date and pages with "load more"', async () => {
    const { page, errors } = await openPage(`${api.url}/?k=1&q=green`);
    await page.locator('#results li').first().waitFor();
    expect(await page.locator('#results li .card-title').allTextContents()).toEqual(['meadow']);
    // One result a page: the next page comes from the cursor.
    await page.click('#load-more');
    await expect.poll(() => page.locator('#results li').count()).toBe(2);
    expect(await page.locator('#results li .card-title').allTextContents()).toEqual(['meadow', 'sunrise']);

    // Videos added until yesterday: none.
    const yesterday = new Date(Date.now() - 86_400_000);
    const day = `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, '0')}-${String(yesterday.getDate()).padStart(2, '0')}`;
    await page.click('#filters summary');
    await page.fill('#filter-before', day);
    await page.press('#q', 'Enter');
    await page.locator('#search-status', { hasText: 'No videos match' }).waitFor();
    expect(await page.locator('#results li').count()).toBe(0);
    // A tag no video carries: none either; the upload's tag: both (one a page, so "load more" shows).
    await page.fill('#filter-before', '');
    await page.fill('#filter-tags', 'no-such-tag');
    await page.press('#q', 'Enter');
    await page.locator('#search-status', { hasText: 'No videos match' }).waitFor();
    await page.fill('#filter-tags', 'browser');
    await page.press('#q', 'Enter');
    await page.locator('#load-more').waitFor({ state: 'visible' });
    expect(await page.locator('#results li .card-title').allTextContents()).toEqual(['meadow']);
    // A query that matches nothing the model knows: "no good match" above the closest videos.
    await page.fill('#filter-tags', '');
    await page.fill('#q', 'xyzzy plugh');
    await page.press('#q', 'Enter');
    await page
      .locator('#search-status[data-tone="warning"]', { hasText: 'No good match for "xyzzy plugh"' })
      .waitFor();
    expect(await page.locator('#results li').count()).toBeGreaterThan(0);
    expect(await page.locator('#results li .confidence.match').count()).toBe(0);
    // A real one: no warning, and its best card marked as a match.
    await page.fill('#q', 'green');
    await page.press('#q', 'Enter');
    await page.locator('#search-status:not([data-tone])', { hasText: 'for "green"' }).waitFor();
    expect(await page.locator('#results li').first().locator('.confidence.match').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('finds similar videos from a card and from the player, and by an image dropped on the search box', async () => {
    const { page, errors } = await openPage(`${api.url}/?q=green`);
    await page.locator('#results li').first().waitFor();
    const meadow = page.locator('#results li', { hasText: 'meadow' });
    await meadow.locator('button.similar').click();
    await page.locator('#search-status', { hasText: 'for videos like "meadow"' }).waitFor();
    expect(await page.locator('#results li .card-title').allTextContents()).not.toContain('meadow');

    // From the player, at the yellow half of sunrise: a like-search by that frame.
    await page.fill('#q', 'yellow');
    await page.press('#q', 'Enter');
    await page.locator('#search-status', { hasText: 'for "yellow"' }).waitFor();
    await page.locator('#results li').first().locator('button.card').click();
    await page.locator('#player-dialog[open]').waitFor();
    await page.click('#player-similar');
    await page.locator('#player-dialog[open]').waitFor({ state: 'detached' });
    await page.locator('#search-status', { hasText: 'for videos like "sunrise" at' }).waitFor();
    expect(await page.locator('#results li .card-title').allTextContents()).not.toContain('sunrise');

    // Drop a yellow still on the search box: sunrise comes first.
    const still = path.join(api.root, 'yellow-still.png');
    writeStill(still, 'color=c=yellow:s=64x48');
    const base64 = readFileSync(still).toString('base64');
    const transfer = await page.evaluateHandle((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'yellow-still.png', { type: 'image/png' }));
      return dt;
    }, base64);
    await page.fill('#q', '');
    await page.dispatchEvent('#search-form', 'drop', { dataTransfer: transfer });
    await page.locator('#search-status', { hasText: 'for the image yellow-still.png' }).waitFor();
    expect(await page.locator('#results li .card-title').first().textContent()).toBe('sunrise');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-similar.png'), fullPage: true });
    // The filters hold for an image too: a tag no video carries leaves nothing.
    await page.click('#filters summary');
    await page.fill('#filter-tags', 'no-such-tag');
    await page.dispatchEvent('#search-form', 'drop', { dataTransfer: transfer });
    await page.locator('#search-status', { hasText: 'No videos match the image yellow-still.png' }).waitFor();
    await page.fill('#filter-tags', '');
    await page.click('#filters summary');

    // A video with two white scenes: the player lists both moments and jumps to the second.
    const twice = renderColourVideo(api.videos, 'white-twice.mp4', [
      { colour: 'white', seconds: 2 },
      { colour: 'black', seconds: 2 },
      { colour: 'white', seconds: 2 },
    ]);
    const accepted = await json(
      await fetch(`${api.url}/v1/videos`, { method: 'POST', body: uploadForm([{ file: twice }]) }),
    );
    await waitForBatch(api.url, accepted.batchId);
    await page.fill('#q', 'white');
    await page.press('#q', 'Enter');
    await page.locator('#results li', { hasText: 'white-twice' }).waitFor();
    await page.locator('#results li', { hasText: 'white-twice' }).locator('button.card').click();
    await page.locator('#player-dialog[open]').waitFor();
    const marks = page.locator('#player-moments .moment-mark');
    await expect.poll(() => marks.count()).toBe(2);
    // Within one sampled frame (0.5 s) of the scenes' 0–2 s and 4–6 s.
    const labels = (await marks.allTextContents()).sort();
    expect(labels[0]).toMatch(/^0:00\.[0-4]–0:0[12]\.\d$/);
    expect(labels[1]).toMatch(/^0:0[34]\.\d–0:0[56]\.\d$/);
    await page.locator('#player-moments .moment-mark', { hasText: labels[1]! }).click();
    await expect
      .poll(() => page.locator('#player').evaluate((v) => (v as HTMLVideoElement).currentTime), {
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(3.4);
    await page.keyboard.press('Escape');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('shows why a video failed, beside the others of its batch', async () => {
    const broken = path.join(api.videos, 'broken.mp4');
    writeFileSync(broken, 'this is not a video');
    const ocean = renderColourVideo(api.videos, 'ocean.mp4', [{ colour: 'cyan', seconds: 2 }]);
    const { page, errors } = await openPage(`${api.url}/`);
    await page.setInputFiles('#files', [broken, ocean]);
    await page.click('#upload-button');
    await page.locator('#upload-status', { hasText: 'Done:' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('#upload-status').textContent()).toBe(
      'Done: 1 indexed, 0 already there, 1 failed.',
    );
    const failed = page.locator('#batch-rows tr[data-status="failed"] td');
    const [, , reason] = await failed.allTextContents();
    expect(await failed.allTextContents()).toEqual([
      'broken.mp4',
      'failed',
      expect.stringMatching(/^[A-Z_]+: .+/),
    ]);

    // The same two files again: the broken one shows its failure again (not "already indexed"), the
    // other is a duplicate that says of what.
    await page.setInputFiles('#files', [broken, ocean]);
    await page.click('#upload-button');
    await page.locator('#upload-status', { hasText: 'Done:' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('#upload-status').textContent()).toBe(
      'Done: 0 indexed, 1 already there, 1 failed.',
    );
    const code = reason!.split(':')[0];
    expect(await failed.allTextContents()).toEqual([
      'broken.mp4',
      'failed',
      expect.stringMatching(
        new RegExp(`^${code}: .+\\(when it was submitted before; the same content fails the same way\\)$`),
      ),
    ]);
    expect(await page.locator('#batch-rows tr[data-status="duplicate"] td').allTextContents()).toEqual([
      'ocean.mp4',
      'duplicate',
      expect.stringMatching(/^ocean\.mp4: already indexed as v_[0-9a-f]{24}$/),
    ]);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('fits phones and desktops (320, 390, 1280 px): nothing cut, no sideways scrolling', async () => {
    for (const width of [320, 390, 1280]) {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      await page.goto(`${api.url}/?q=red`);
      await page.locator('#results li').first().waitFor();
      await page.click('#filters summary');
      await page.fill('#filter-tags', 'a-rather-long-tag-name, another-long-tag, and-one-more');
      await page.fill('#upload-tags', 'holiday, beach, family, 2026, a-long-tag-for-good-measure');
      const layout = await page.evaluate(() => {
        const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect();
        const panelOf = (selector: string) =>
          document.querySelector(selector)!.closest('.panel')!.getBoundingClientRect();
        const inside = (selector: string) => {
          const b = box(selector);
          const p = panelOf(selector);
          return b.left >= p.left - 0.5 && b.right <= p.right + 0.5;
        };
        return {
          scrollWidth: document.documentElement.scrollWidth,
          viewport: window.innerWidth,
          inside: Object.fromEntries(
            [
              '#search-form button[type="submit"]',
              '#q',
              '#filter-tags',
              '#upload-tags',
              '#upload-button',
              '#results li',
            ].map((s) => [s, inside(s)]),
          ),
        };
      });
      expect(layout.scrollWidth, `${width} px: page wider than the screen`).toBeLessThanOrEqual(
        layout.viewport,
      );
      for (const [selector, fits] of Object.entries(layout.inside))
        expect(fits, `${width} px: ${selector} sticks out of its panel`).toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, `web-page-${width}px.png`), fullPage: true });
      await page.close();
    }
  }, 60_000);

  it('offers only the poolings the server can run, its default named', async () => {
    const { page, errors } = await openPage(`${api.url}/`);
    await expect
      .poll(
        () =>
          page
            .locator('#filter-pooling option')
            .evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value)),
        // the page also loads the library at start: on a loaded machine the answer may take seconds
        { timeout: 15_000 },
      )
      .toEqual(['', 'attention', 'topk', 'max', 'mean']); // no learned head on this server: no xpool
    expect(await page.locator('#filter-pooling option[value=""]').textContent()).toBe(
      'server default (attention)',
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it('asks for an API key when the server needs one, and uses it for search and media', async () => {
    const keys = new KeyStore(api.config.paths.apiKeys);
    const { key } = await keys.create({ tenant: 'default', scopes: ['search', 'ingest'], name: 'browser' });
    // The server re-reads the key file within a second.
    await expect
      .poll(async () => (await fetch(`${api.url}/v1/videos?limit=1`)).status, { timeout: 5_000 })
      .toBe(401);

    const { page } = await openPage(`${api.url}/`);
    await page.locator('#key-section').waitFor({ state: 'visible' });
    expect(await page.locator('#key-reason').textContent()).toContain('needs an API key');
    // A key the server rejects: asked again, and never "using your API key"
    await page.fill('#api-key', `${key.slice(0, -4)}AAAA`);
    await page.press('#api-key', 'Enter');
    await page.locator('#key-section').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#server-status').textContent()).not.toBe('Connecting…');
    expect(await page.locator('#server-status').textContent()).not.toContain('using your API key');
    // an error is shown as one, not as plain grey text
    await page.fill('#q', 'yellow');
    await page.press('#q', 'Enter');
    await page.locator('#search-status[data-tone="error"]').waitFor();
    expect(await page.locator('#search-status').evaluate((e) => getComputedStyle(e).color)).toBe(
      'rgb(179, 38, 30)',
    );
    await page.fill('#api-key', key);
    await page.press('#api-key', 'Enter');
    await page.locator('#key-section').waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => sessionStorage.getItem('reel.apiKey'))).toBe(key);

    await page.fill('#q', 'yellow');
    await page.press('#q', 'Enter');
    const first = page.locator('#results li').first();
    await first.waitFor();
    expect(await first.locator('.card-title').textContent()).toBe('sunrise');
    // Thumbnails come through the key (a blob URL): the element cannot send the header itself.
    await expect
      .poll(() => first.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);
    expect(await first.locator('img').getAttribute('src')).toMatch(/^blob:/);
    await first.locator('button.card').click();
    await expect
      .poll(() => page.locator('#player').evaluate((v) => (v as HTMLVideoElement).readyState), {
        timeout: 20_000,
      })
      .toBeGreaterThanOrEqual(1);
    expect(
      await page.locator('#player').evaluate((v) => (v as HTMLVideoElement).currentTime),
    ).toBeGreaterThan(2.4);
    await page.close();
  }, 60_000);
});
