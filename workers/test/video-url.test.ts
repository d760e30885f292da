import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VideoFiles } from '../src/adapters/video-files.ts';
import { checkVideoUrl, titleForUrl, videoIdForUrl } from '../src/video-url.ts';

describe('video URLs', () => {
  it('accepts http and https only, saying what was wrong', () => {
    expect(checkVideoUrl('https://example.com/a.mp4')).toMatchObject({ ok: true });
    expect(checkVideoUrl('HTTP://Example.com/a.mp4')).toMatchObject({ ok: true });
    expect(checkVideoUrl('file:///etc/passwd')).toEqual({
      ok: false,
      shown: 'file:///etc/passwd',
      problem: 'file:///etc/passwd: expected an http:// or https:// URL, got the file scheme',
    });
    expect(checkVideoUrl('/videos/a.mp4')).toEqual({
      ok: false,
      shown: '/videos/a.mp4',
      problem: '"/videos/a.mp4" is not a URL (expected http:// or https://...)',
    });
  });

  it('refuses a URL with credentials and never echoes them', () => {
    for (const url of ['https://alice:s3cret@example.com/a.mp4', 'http://alice@example.com/a.mp4']) {
      const checked = checkVideoUrl(url);
      expect(checked.ok).toBe(false);
      if (checked.ok) continue;
      expect(checked.shown).toBe(`${url.startsWith('https') ? 'https' : 'http'}://***@example.com/a.mp4`);
      expect(checked.problem).toContain('URLs with a user name or password are refused');
      expect(`${checked.shown} ${checked.problem}`).not.toMatch(/alice|s3cret/);
    }
  });

  it('gives one id per URL and tenant in the usual format, and a title from the path', () => {
    const url = new URL('https://example.com/clips/red%20car.mp4?x=1');
    expect(videoIdForUrl('t', url)).toMatch(/^v_[0-9a-f]{24}$/);
    expect(videoIdForUrl('t', url)).toBe(
      videoIdForUrl('t', new URL('https://EXAMPLE.com/clips/red%20car.mp4?x=1')),
    );
    expect(videoIdForUrl('t', url)).not.toBe(videoIdForUrl('u', url));
    expect(titleForUrl(url)).toBe('red car');
    expect(titleForUrl(new URL('https://example.com/'))).toBe('example.com');
  });
});

describe('VideoFiles.remove', () => {
  it('removes only what storage holds for that tenant’s video, symlinked folders resolved', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-video-files-'));
    const videos = path.join(root, 'videos');
    const outside = path.join(root, 'footage');
    for (const dir of [path.join(videos, 'acme'), path.join(videos, 'globex'), outside])
      mkdirSync(dir, { recursive: true });
    for (const file of [
      path.join(videos, 'acme', 'a.mp4'),
      path.join(videos, 'globex', 'b.mp4'),
      path.join(outside, 'mine.mp4'),
    ])
      writeFileSync(file, 'x');
    symlinkSync(outside, path.join(videos, 'acme', 'linked'));
    const files = new VideoFiles({ videos, thumbnails: path.join(root, 't'), spool: path.join(root, 's') });
    const removed = await files.remove('acme', 'v_000000000000000000000001', [
      path.join(videos, 'acme', 'a.mp4'),
      path.join(videos, 'globex', 'b.mp4'),
      path.join(outside, 'mine.mp4'),
      path.join(videos, 'acme', 'linked', 'mine.mp4'),
      path.join(videos, 'acme', '..', '..', 'footage', 'mine.mp4'),
      videos,
      'https://example.com/a.mp4',
    ]);
    expect(removed).toEqual([path.join(videos, 'acme', 'a.mp4')]);
    expect(existsSync(path.join(videos, 'globex', 'b.mp4'))).toBe(true);
    expect(existsSync(path.join(outside, 'mine.mp4'))).toBe(true);
  });
});
