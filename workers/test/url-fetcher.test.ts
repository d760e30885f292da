import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressRange, isPublicAddress } from '../src/adapters/address-guard.ts';
import { UrlFetcher } from '../src/adapters/url-fetcher.ts';

describe('downloads never reach internal addresses unless allowed', () => {
  it('passes public unicast addresses only (ipaddr.js ranges, IPv4-compatible IPv6 too)', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      // missed by the old hand-written list:
      '240.0.0.1',
      '198.18.0.1',
      '192.0.0.170',
      '192.0.2.1',
      '::7f00:1',
      '::a00:1',
      '64:ff9b::7f00:1',
      '64:ff9b:1::1',
      '2002:7f00:1::',
      '2001:0:4136:e378::1',
      'fec0::1',
      '::',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:8.8.8.8',
      'not an address',
    ])
      expect(isPublicAddress(address), address).toBe(false);
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '2a00:1450:4001::200e'])
      expect(isPublicAddress(address), address).toBe(true);
    expect(addressRange('::7f00:1')).toBe('ipv4Compatible');
    expect(addressRange('198.18.0.1')).toBe('reserved');
  });

  it('refuses a loopback URL by default, naming the host and the setting, without connecting', async () => {
    const fetcher = new UrlFetcher({
      videosDir: mkdtempSync(path.join(tmpdir(), 'reel-fetch-')),
      maxBytes: 1000,
      timeoutMs: 5000,
    });
    for (const url of [
      'http://127.0.0.1:65000/video.mp4',
      'http://localhost:65000/video.mp4',
      'http://[::1]:65000/v.mp4',
    ])
      await expect(
        fetcher.fetch('t', 'v_000000000000000000000001', url, new AbortController().signal),
      ).rejects.toMatchObject({
        code: 'DOWNLOAD_FORBIDDEN',
        message: expect.stringMatching(/internal address .*REEL_DOWNLOAD_ALLOW_PRIVATE=true/),
      });
  });
});
