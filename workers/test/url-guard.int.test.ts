/**
 * Finding 4 of the trust-boundaries issue: the downloader resolved the host, checked the address, then
 * let fetch resolve it again to connect, and a failed lookup was let through. A name that answers a
 * public address first and 127.0.0.1 next (DNS rebinding), or fails first and answers 127.0.0.1 next,
 * reached the server's own services. The check must be on the address actually connected to, for every
 * hop, and fail closed.
 *
 * The process's resolver is replaced for test names only (dns.lookup and dns.promises.lookup, the ESM
 * bindings synced), so whatever resolves names here, the old two-lookup code included, sees the attack.
 * The victims are real HTTP servers on loopback; each counts the requests it got.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UrlFetcher } from '../src/adapters/url-fetcher.ts';
import { answers, installFakeDns, uninstallFakeDns } from './helpers/fake-dns.ts';

interface Victim {
  server: Server;
  port: number;
  hits: number;
}

async function victim(host: string, redirectTo?: () => string): Promise<Victim> {
  const state: Victim = { server: createServer(), port: 0, hits: 0 };
  state.server.on('request', (_req, res) => {
    state.hits++;
    if (redirectTo) {
      res.writeHead(302, { location: redirectTo() });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4' });
    res.end('the internal service answered');
  });
  await new Promise<void>((resolve) => state.server.listen(0, host, resolve));
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

let internal: Victim;
const fetcher = (options: Partial<ConstructorParameters<typeof UrlFetcher>[0]> = {}) =>
  new UrlFetcher({
    videosDir: mkdtempSync(path.join(tmpdir(), 'reel-guard-')),
    maxBytes: 1_000_000,
    timeoutMs: 3_000,
    ...options,
  });
const download = (f: UrlFetcher, url: string) =>
  f.fetch('t', 'v_000000000000000000000001', url, new AbortController().signal);

beforeAll(async () => {
  installFakeDns();
  internal = await victim('127.0.0.1');
});

afterAll(() => {
  uninstallFakeDns();
  internal?.server.close();
});

describe('the address guard holds at connect time', () => {
  it('never connects to loopback when a name answers a public address first and 127.0.0.1 next', async () => {
    answers.set('rebind.reel.test', [['93.184.216.34'], ['127.0.0.1']]);
    const before = internal.hits;
    await expect(download(fetcher(), `http://rebind.reel.test:${internal.port}/v.mp4`)).rejects.toThrow();
    expect(internal.hits - before).toBe(0);
  });

  it('fails closed when the lookup fails, and never looks again to connect', async () => {
    answers.set('flaky.reel.test', [[], ['127.0.0.1']]);
    const before = internal.hits;
    await expect(download(fetcher(), `http://flaky.reel.test:${internal.port}/v.mp4`)).rejects.toMatchObject({
      code: 'DOWNLOAD_UNAVAILABLE',
    });
    expect(internal.hits - before).toBe(0);
  });

  it('refuses a name whose addresses include an internal one, for good', async () => {
    answers.set('mixed.reel.test', [['93.184.216.34', '127.0.0.1']]);
    answers.set('loop.reel.test', [['127.0.0.1']]);
    for (const host of ['mixed.reel.test', 'loop.reel.test']) {
      const before = internal.hits;
      const error = await download(fetcher(), `http://${host}:${internal.port}/v.mp4`).catch(
        (e: unknown) => e,
      );
      expect(error, host).toMatchObject({ code: 'DOWNLOAD_FORBIDDEN', retryable: false });
      expect((error as Error).message).toContain('127.0.0.1');
      expect(internal.hits - before).toBe(0);
    }
  });

  it('checks every redirect hop, on the address that hop connects to', async () => {
    // Only 127.0.0.1 stands for "public" here; 127.0.0.2 is the internal service a hop tries to reach.
    const hidden = await victim('127.0.0.2');
    const front = await victim('127.0.0.1', () => `http://hidden.reel.test:${hidden.port}/secret`);
    answers.set('front.reel.test', [['127.0.0.1']]);
    answers.set('hidden.reel.test', [['127.0.0.2']]);
    try {
      const guarded = fetcher({ allowAddress: (address) => address === '127.0.0.1' });
      const error = await download(guarded, `http://front.reel.test:${front.port}/v.mp4`).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'DOWNLOAD_FORBIDDEN' });
      expect((error as Error).message).toContain(
        `(redirected to http://hidden.reel.test:${hidden.port}/secret)`,
      );
      expect(front.hits).toBe(1);
      expect(hidden.hits).toBe(0);
      // An IP literal is connected to without a lookup: checked before the hop.
      const literal = await download(guarded, `http://127.0.0.2:${hidden.port}/v.mp4`).catch(
        (e: unknown) => e,
      );
      expect(literal).toMatchObject({ code: 'DOWNLOAD_FORBIDDEN' });
      expect(hidden.hits).toBe(0);
      await guarded.close();
    } finally {
      hidden.server.close();
      front.server.close();
    }
  });

  it('refuses a URL with credentials at once, without echoing them or retrying', async () => {
    const error = await download(fetcher(), 'https://alice:s3cret@example.com/v.mp4').catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'DOWNLOAD_FAILED', retryable: false });
    expect((error as Error).message).not.toMatch(/alice|s3cret/);
  });
});
