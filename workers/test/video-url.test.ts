import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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
      problem: 'file:///etc/passwd: expected an http:// or https:// URL, got the file scheme',
    });
    expect(checkVideoUrl('/videos/a.mp4')).toEqual({
      ok: false,
      problem: '"/videos/a.mp4" is not a URL (expected http:// or https://...)',
    });
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

describe('VideoFiles.storedPath', () => {
  it('is set only for files inside the videos folder, symlinked folders resolved', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'reel-video-files-'));
    const videos = path.join(root, 'videos');
    const outside = path.join(root, 'footage');
    mkdirSync(path.join(videos, 'uploads'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'mine.mp4'), 'x');
    symlinkSync(outside, path.join(videos, 'linked'));
    const files = new VideoFiles({ videos, thumbnails: path.join(root, 't'), spool: path.join(root, 's') });
    expect(await files.storedPath(path.join(videos, 'uploads', 'a.mp4'))).toBe(
      path.join(videos, 'uploads', 'a.mp4'),
    );
    expect(await files.storedPath(path.join(outside, 'mine.mp4'))).toBeUndefined();
    expect(await files.storedPath(path.join(videos, 'linked', 'mine.mp4'))).toBeUndefined();
    expect(await files.storedPath(path.join(videos, '..', 'footage', 'mine.mp4'))).toBeUndefined();
    expect(await files.storedPath(videos)).toBeUndefined();
    expect(await files.storedPath('https://example.com/a.mp4')).toBeUndefined();
  });
});
