/**
 * The ObjectStorage contract, the same cases against both implementations: LocalStorage on temp folders,
 * and S3Storage on a real S3-compatible server (fauxqs, started here on a loopback port; the real
 * @aws-sdk/client-s3 and lib-storage, no mock), under a key prefix.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStorage } from '../src/adapters/storage/local-storage.ts';
import type { ObjectStorage } from '../src/adapters/storage/object-storage.ts';
import { s3ClientConfig } from '../src/adapters/storage/open-storage.ts';
import { S3Storage } from '../src/adapters/storage/s3-storage.ts';
import { type S3Fixture, startS3 } from './helpers/s3-server.ts';

let s3: S3Fixture;

beforeAll(async () => {
  s3 = await startS3('contract');
});

afterAll(async () => {
  await s3?.close();
});

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `chunks`, then a failure (a client that went away, a limit hit). */
function failingStream(chunks: Buffer[], error: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      throw error;
    })(),
  );
}

interface Case {
  name: string;
  open(): { storage: ObjectStorage; root: string };
  /** References that name nothing of this storage. */
  foreign(root: string): string[];
}

const CASES: Case[] = [
  {
    name: 'LocalStorage (folders)',
    open() {
      const root = mkdtempSync(path.join(tmpdir(), 'reel-storage-'));
      const storage = new LocalStorage({
        videos: path.join(root, 'videos'),
        thumbnails: path.join(root, 'thumbnails'),
      });
      return { storage, root };
    },
    foreign(root) {
      const outside = path.join(root, 'footage');
      mkdirSync(outside, { recursive: true });
      writeFileSync(path.join(outside, 'mine.mp4'), 'x');
      mkdirSync(path.join(root, 'videos'), { recursive: true });
      symlinkSync(outside, path.join(root, 'videos', 'linked'));
      return [
        path.join(outside, 'mine.mp4'),
        path.join(root, 'videos', 'linked', 'mine.mp4'), // a link inside leading out
        path.join(root, 'videos', '..', 'footage', 'mine.mp4'),
        path.join(root, 'videos'),
        path.join(root, 'api-keys.json'),
        'videos/t/a.mp4', // relative: not a reference
        's3://contract/videos/t/a.mp4',
      ];
    },
  },
  {
    name: 'S3Storage (fauxqs, prefix)',
    open() {
      const prefix = `p-${randomBytes(4).toString('hex')}/`;
      const storage = new S3Storage({
        bucket: s3.bucket,
        prefix,
        client: s3ClientConfig({
          s3Endpoint: s3.endpoint,
          s3Region: undefined,
          s3ForcePathStyle: true,
          s3AccessKeyId: 'reel-test',
          s3SecretAccessKey: 'reel-test-secret',
        }),
      });
      return { storage, root: prefix };
    },
    foreign(prefix) {
      return [
        `s3://other-bucket/${prefix}videos/t/a.mp4`,
        `s3://${s3.bucket}/videos/t/a.mp4`, // outside the prefix
        `s3://${s3.bucket}/${prefix}videos/../x`,
        `s3://${s3.bucket}/${prefix}models/x`,
        '/srv/videos/t/a.mp4',
        'https://example.com/a.mp4',
      ];
    },
  },
];

describe.each(CASES)('ObjectStorage contract: $name', (c) => {
  let storage: ObjectStorage;
  let root: string;

  beforeAll(() => {
    ({ storage, root } = c.open());
  });

  afterAll(() => storage?.close());

  it('stores bytes and streams, whole and by range, with size and type', async () => {
    const clip = randomBytes(50_000);
    expect(await storage.put('videos/t/a.mp4', clip)).toEqual({ size: 50_000 });
    const streamed = randomBytes(30_000);
    expect(await storage.put('thumbnails/v_1/thumb-0000.webp', Readable.from([streamed]))).toEqual({
      size: 30_000,
    });

    const info = await storage.stat('videos/t/a.mp4');
    expect(info).toMatchObject({ size: 50_000, contentType: 'video/mp4' });
    expect(info?.etag).toBeTruthy();
    expect((await storage.stat('thumbnails/v_1/thumb-0000.webp'))?.contentType).toBe('image/webp');

    const whole = await storage.get('videos/t/a.mp4');
    expect(whole?.range).toBeUndefined();
    expect((await bytesOf(whole!.stream)).equals(clip)).toBe(true);

    const part = await storage.get('videos/t/a.mp4', { range: { start: 100, end: 199 } });
    expect(part).toMatchObject({ size: 50_000, range: { start: 100, end: 199 } });
    expect((await bytesOf(part!.stream)).equals(clip.subarray(100, 200))).toBe(true);

    // an end past the object is clamped to its last byte
    const tail = await storage.get('videos/t/a.mp4', { range: { start: 49_990, end: 99_999 } });
    expect(tail?.range).toEqual({ start: 49_990, end: 49_999 });
    expect((await bytesOf(tail!.stream)).equals(clip.subarray(49_990))).toBe(true);
  });

  it('replaces an object on put, and has nothing for a missing key', async () => {
    await storage.put('videos/t/b.mp4', Buffer.from('first'));
    await storage.put('videos/t/b.mp4', Buffer.from('second!'));
    expect((await bytesOf((await storage.get('videos/t/b.mp4'))!.stream)).toString()).toBe('second!');
    expect(await storage.get('videos/t/none.mp4')).toBeUndefined();
    expect(await storage.stat('videos/t/none.mp4')).toBeUndefined();
    expect(
      await storage.localCopy('videos/t/none.mp4', { dir: mkdtempSync(path.join(tmpdir(), 'c-')) }),
    ).toBe(undefined);
    await storage.delete('videos/t/none.mp4'); // nothing to delete is fine
  });

  it('stores nothing when the body fails, and fails with the body’s own error', async () => {
    const boom = new Error('client went away');
    await expect(
      storage.put('videos/t/broken.mp4', failingStream([randomBytes(1000), randomBytes(1000)], boom)),
    ).rejects.toBe(boom);
    expect(await storage.stat('videos/t/broken.mp4')).toBeUndefined();
    // and no temporary file is listed or left behind
    expect((await storage.list('videos/')).filter((k) => k.includes('broken'))).toEqual([]);
  });

  it('streams a large body (a multipart upload on S3) intact', async () => {
    const big = randomBytes(12 * 1024 * 1024 + 123); // two 8 MiB parts on S3
    const chunks = Array.from({ length: Math.ceil(big.length / 65_536) }, (_, i) =>
      big.subarray(i * 65_536, (i + 1) * 65_536),
    );
    expect(await storage.put('videos/t/big.mp4', Readable.from(chunks))).toEqual({ size: big.length });
    const copy = await storage.localCopy('videos/t/big.mp4', {
      dir: mkdtempSync(path.join(tmpdir(), 'reel-copy-')),
    });
    expect(copy).toBeDefined();
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(readFileSync(copy!.path))).toBe(sha(big));
    await copy!.release();
    if (storage.localPath('videos/t/big.mp4') === undefined) {
      expect(existsSync(copy!.path)).toBe(false); // a download, removed on release
    } else {
      expect(copy!.path).toBe(storage.localPath('videos/t/big.mp4')); // the stored file itself, kept
      expect(existsSync(copy!.path)).toBe(true);
    }
    await storage.delete('videos/t/big.mp4');
  });

  it('names objects by reference and tells its own references from anything else', async () => {
    const ref = storage.ref('videos/t/a.mp4');
    expect(await storage.keyOf(ref)).toBe('videos/t/a.mp4');
    expect(await storage.keyOf(storage.ref('thumbnails/v_1/thumb-0000.webp'))).toBe(
      'thumbnails/v_1/thumb-0000.webp',
    );
    if (storage.kind === 'local') {
      expect(ref).toBe(path.join(root, 'videos', 't', 'a.mp4'));
      expect(storage.localPath('videos/t/a.mp4')).toBe(ref);
    } else {
      expect(ref).toBe(`s3://${s3.bucket}/${root}videos/t/a.mp4`);
      expect(storage.localPath('videos/t/a.mp4')).toBeUndefined();
      expect(await s3.keys(root)).toContain(`${root}videos/t/a.mp4`); // really in the bucket, prefixed
    }
    for (const foreign of c.foreign(root)) expect(await storage.keyOf(foreign), foreign).toBeUndefined();
  });

  it('refuses keys that could leave the layout', async () => {
    for (const key of ['../x.mp4', 'videos/../../x', 'videos//a.mp4', 'models/x', 'videos', '/videos/a'])
      await expect(storage.put(key, Buffer.from('x')), key).rejects.toMatchObject({
        code: 'STORAGE_BAD_KEY',
      });
    expect(() => storage.ref('videos/./a')).toThrow(/STORAGE_BAD_KEY|expected/);
  });

  it('lists and deletes by folder, leaving neighbours alone', async () => {
    for (const key of [
      'videos/v_1/download.mp4',
      'videos/v_10/download.mp4',
      'thumbnails/v_1/thumb-0001.webp',
    ])
      await storage.put(key, Buffer.from(key));
    expect(await storage.list('videos/v_1/')).toEqual(['videos/v_1/download.mp4']);
    expect(await storage.list('thumbnails/v_1/')).toEqual([
      'thumbnails/v_1/thumb-0000.webp',
      'thumbnails/v_1/thumb-0001.webp',
    ]);
    await storage.deletePrefix('videos/v_1/');
    await storage.deletePrefix('thumbnails/v_1/');
    await storage.deletePrefix('thumbnails/v_404/'); // nothing there is fine
    expect(await storage.list('videos/v_1/')).toEqual([]);
    expect(await storage.list('thumbnails/')).toEqual([]);
    expect(await storage.list('videos/v_10/')).toEqual(['videos/v_10/download.mp4']);
    await storage.delete('videos/t/a.mp4');
    expect(await storage.list('')).toEqual(['videos/t/b.mp4', 'videos/v_10/download.mp4']);
    if (storage.kind === 'local') {
      // like a bucket, no empty folders are left (but the areas' own folders stay)
      expect(existsSync(path.join(root, 'thumbnails', 'v_1'))).toBe(false);
      expect(existsSync(path.join(root, 'thumbnails'))).toBe(true);
      await storage.delete('videos/t/b.mp4');
      expect(existsSync(path.join(root, 'videos', 't'))).toBe(false);
    }
  });
});
