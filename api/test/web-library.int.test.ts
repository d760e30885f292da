/// <reference lib="dom" />
// (The callbacks passed to page.evaluate run in the browser: they use the DOM types.)
/**
 * The web page's library in a real browser (Debian's chromium driven by playwright-core) against the
 * real API, worker, Redis, ffmpeg, onnxruntime and LanceDB: browse (order, status with the reason,
 * length filter), open a video (facts, player, the last search's moments), edit its title and tags,
 * delete one after a confirmation, retry a failed one and read the batch history. At desktop and phone
 * widths; screenshots in api/test-artifacts/ (web-library-*.png).
 */
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiFixture,
  json,
  renderColourVideo,
  startApi,
  uploadForm,
  waitForBatch,
} from './helpers/api-server.ts';
import { ARTIFACTS, launchBrowser, openPage as openPageIn } from './helpers/browser.ts';

let api: ApiFixture;
let browser: Browser;
const ids: Record<string, string> = {};
let redFile: string;

beforeAll(async () => {
  browser = await launchBrowser();
  api = await startApi();
  redFile = renderColourVideo(api.videos, 'red.mp4', [{ colour: 'red', seconds: 2 }]);
  const blue = renderColourVideo(api.videos, 'blue.mp4', [{ colour: 'blue', seconds: 5 }]);
  const broken = path.join(api.videos, 'Broken.mp4');
  writeFileSync(broken, 'not a video');
  const accepted = await json(
    await fetch(`${api.url}/v1/videos`, {
      method: 'POST',
      body: uploadForm([{ file: redFile }, { file: blue }, { file: broken }], { tags: 'colours' }),
    }),
  );
  const batch = await waitForBatch(api.url, accepted.batchId);
  expect(batch.counts).toMatchObject({ indexed: 2, failed: 1 });
  for (const v of batch.videos) ids[v.name] = v.videoId;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

async function openPage(width = 1100): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPageIn(browser, `${api.url}/`, { width, height: 900 });
  await opened.page.locator('#library-list li').first().waitFor();
  return opened;
}

const titles = (page: Page) => page.locator('#library-list .card-title').allTextContents();

describe('the library in the web page (real chromium, API, worker, LanceDB)', () => {
  it('browses by order, status (with the reason) and length', async () => {
    const { page, errors } = await openPage();
    expect(await page.locator('#library-list li').count()).toBe(3);
    await page.selectOption('#lib-sort', 'title');
    await page.click('#library-form button[type="submit"]');
    await expect.poll(() => titles(page)).toEqual(['Broken', 'blue', 'red']);

    await page.selectOption('#lib-status', 'failed');
    await page.click('#library-form button[type="submit"]');
    await expect.poll(() => titles(page)).toEqual(['Broken']);
    expect(await page.locator('#library-list .reason').textContent()).toMatch(/^NOT_A_VIDEO: .*Broken\.mp4/);
    expect(await page.locator('#library-list li .retry').count()).toBe(1);

    await page.selectOption('#lib-status', '');
    await page.fill('#lib-min', '3');
    await page.click('#library-form button[type="submit"]');
    await expect.poll(() => titles(page)).toEqual(['blue']);
    expect(await page.locator('#library-status').textContent()).toBe('1 video.');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-library.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("opens a video with its facts, the last search's moments, and edits its title and tags", async () => {
    const { page, errors } = await openPage();
    await page.fill('#q', 'red');
    await page.press('#q', 'Enter');
    await page.locator('#results li').first().waitFor();
    await page.locator(`#library-list li[data-video-id="${ids['red.mp4']}"] .library-open`).click();
    await page.locator('#video-dialog[open]').waitFor();
    const facts = await page.$$eval('#video-facts dt, #video-facts dd', (nodes) =>
      nodes.map((n) => n.textContent),
    );
    const fact = (name: string) => facts[facts.indexOf(name) + 1];
    expect(fact('Status')).toBe('indexed');
    expect(fact('Size')).toBe(`${(statSync(redFile).size / 1000).toFixed(1)} kB`);
    expect(fact('Length')).toMatch(/^0:0[12]\.\d$/);
    expect(fact('Model')).toMatch(/^sha256:/);
    expect(await page.locator('#video-moments .moment-mark').count()).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('#video-player').evaluate((v) => (v as HTMLVideoElement).readyState))
      .toBeGreaterThan(0);

    await page.fill('#video-edit-title', 'Crimson');
    await page.fill('#video-edit-tags', 'warm, sunset, warm');
    await page.click('#video-edit button[type="submit"]');
    await page.locator('#video-status', { hasText: 'Saved.' }).waitFor();
    expect(await page.locator('#video-title').textContent()).toBe('Crimson');
    expect(await page.inputValue('#video-edit-tags')).toBe('warm, sunset');
    const stored = await json(await fetch(`${api.url}/v1/videos/${ids['red.mp4']}`));
    expect(stored).toMatchObject({ title: 'Crimson', tags: ['warm', 'sunset'] });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-library-video.png') });
    await page.click('#video-close');
    expect(
      await page.locator(`#library-list li[data-video-id="${ids['red.mp4']}"] .card-title`).textContent(),
    ).toBe('Crimson');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('deletes a video only after the confirmation', async () => {
    const { page, errors } = await openPage();
    const row = page.locator(`#library-list li[data-video-id="${ids['blue.mp4']}"]`);
    await row.locator('.library-open').click();
    await page.click('#video-delete');
    await page.locator('#video-confirm').waitFor({ state: 'visible' });
    await page.click('#video-confirm-no');
    expect(await page.locator('#video-confirm').isHidden()).toBe(true);
    expect((await fetch(`${api.url}/v1/videos/${ids['blue.mp4']}`)).status).toBe(200);
    await page.click('#video-delete');
    await page.click('#video-confirm-yes');
    await page.locator('#video-dialog').waitFor({ state: 'hidden' });
    await expect.poll(() => row.count()).toBe(0);
    expect(await page.locator('#library-status').textContent()).toBe('Deleted blue.');
    expect((await fetch(`${api.url}/v1/videos/${ids['blue.mp4']}`)).status).toBe(404);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('retries a failed video and shows it in the batch history with each outcome', async () => {
    const { page, errors } = await openPage();
    await page.locator('#batches-list li').first().waitFor();
    expect(await page.locator('#batches-list li').count()).toBe(1);
    await page.locator(`#library-list li[data-video-id="${ids['Broken.mp4']}"] .retry`).click();
    await page.locator('#library-status', { hasText: 'Retrying in batch' }).waitFor();
    await expect.poll(() => page.locator('#batches-list li').count()).toBe(2);
    const newest = page.locator('#batches-list li').first();
    expect(await newest.locator('summary').textContent()).toMatch(/· retry · [01] of 1 done/);
    // The retry fails again (the file is still not a video): its outcome says why.
    const retryId = await newest.locator('details').getAttribute('data-batch-id');
    await waitForBatch(api.url, retryId!);
    await newest.locator('summary').click();
    await newest.locator('tbody tr').waitFor();
    expect(await newest.locator('tbody td').allTextContents()).toEqual([
      'Broken',
      expect.stringMatching(/^failed: NOT_A_VIDEO: /),
    ]);
    const upload = page.locator('#batches-list li').nth(1);
    expect(await upload.locator('summary').textContent()).toMatch(
      /· upload · 3 of 3 done · 2 indexed, 0 already there, 1 failed$/,
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits phones and desktops (320, 390, 1280 px): nothing cut, no sideways scrolling', async () => {
    for (const width of [320, 390, 1280]) {
      const { page } = await openPage(width);
      await page.locator('#batches-list li').first().waitFor();
      const layout = await page.evaluate(() => {
        const panel = document.getElementById('library')!.getBoundingClientRect();
        const out = [...document.querySelectorAll('#library li, #library-form label, #library-form button')]
          .map((e) => ({ id: e.textContent?.slice(0, 30), box: e.getBoundingClientRect() }))
          .filter(({ box }) => box.left < panel.left - 0.5 || box.right > panel.right + 0.5)
          .map(({ id }) => id);
        return { scrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, out };
      });
      expect(layout.scrollWidth, `${width} px: page wider than the screen`).toBeLessThanOrEqual(
        layout.viewport,
      );
      expect(layout.out, `${width} px: sticks out of the library panel`).toEqual([]);
      await page.locator('#library-list .library-open').first().click();
      await page.locator('#video-dialog[open]').waitFor();
      const dialog = await page.evaluate(() => {
        const box = document.getElementById('video-dialog')!.getBoundingClientRect();
        return { left: box.left, right: box.right, viewport: window.innerWidth };
      });
      expect(dialog.left).toBeGreaterThanOrEqual(0);
      expect(dialog.right).toBeLessThanOrEqual(dialog.viewport);
      await page.screenshot({ path: path.join(ARTIFACTS, `web-library-${width}px.png`), fullPage: true });
      await page.close();
    }
  }, 60_000);
});
