import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInternalAddress, UrlFetcher } from '../src/adapters/url-fetcher.ts';

describe('downloads never reach internal addresses unless allowed', () => {
  it('classifies loopback, private, link-local and metadata addresses as internal', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      expect(isInternalAddress(address), address).toBe(true);
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])
      expect(isInternalAddress(address), address).toBe(false);
  });

  it('refuses a loopback URL by default, naming the host and the setting, without connecting', async () => {
    const fetcher = new UrlFetcher({
      videosDir: mkdtempSync(path.join(tmpdir(), 'reel-fetch-')),
      maxBytes: 1000,
      timeoutMs: 5000,
    });
    for (const url of [
      'http://127.0.0.1:9/video.mp4',
      'http://localhost:9/video.mp4',
      'http://[::1]:9/v.mp4',
    ])
      await expect(
        fetcher.fetch('t', 'v_000000000000000000000001', url, new AbortController().signal),
      ).rejects.toMatchObject({
        code: 'DOWNLOAD_FORBIDDEN',
        message: expect.stringMatching(/internal address .*REEL_DOWNLOAD_ALLOW_PRIVATE=true/),
      });
  });
});
