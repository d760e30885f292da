import { loadConfig } from '@reel/infra';
import { describe, expect, it } from 'vitest';
import { lanceConnection, openStorage, s3ClientConfig } from '../src/adapters/storage/open-storage.ts';
import {
  checkKey,
  contentTypeOf,
  downloadKey,
  downloadKeyFor,
  isVideoKey,
  legacyVideoFolder,
  ownsStoredVideo,
  thumbnailKey,
  thumbnailsFolder,
  uploadKey,
  videoFolder,
} from '../src/adapters/storage/storage-keys.ts';

describe('storage keys', () => {
  it('lays objects out as the data folder always has', () => {
    expect(uploadKey('acme', '123e4567', '.mp4')).toBe('videos/acme/123e4567.mp4');
    expect(downloadKey('acme', 'v_0123', '')).toBe('videos/acme/v_0123/download');
    expect(downloadKeyFor('acme', 'v_0123', 'https://x.org/a/clip.MP4?s=1')).toBe(
      'videos/acme/v_0123/download.mp4',
    );
    expect(downloadKeyFor('acme', 'v_0123', 'https://x.org/a/clip.exe')).toBe('videos/acme/v_0123/download');
    expect(videoFolder('acme', 'v_0123')).toBe('videos/acme/v_0123/');
    expect(legacyVideoFolder('v_0123')).toBe('videos/v_0123/');
    expect(thumbnailsFolder('v_0123')).toBe('thumbnails/v_0123/');
    expect(thumbnailKey('v_0123/thumb-0000.webp')).toBe('thumbnails/v_0123/thumb-0000.webp');
  });

  it('refuses anything that could name a file outside the layout', () => {
    for (const bad of [
      '',
      'videos',
      'videos/',
      '/videos/a',
      'videos//a',
      'videos/./a',
      'videos/../api-keys.json',
      'models/x/model.onnx',
      'videos/a\\..\\b',
      'videos/a\nb',
    ])
      expect(() => checkKey(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'STORAGE_BAD_KEY' }),
      );
    expect(() => uploadKey('../other', 'u', '.mp4')).toThrow(/STORAGE_BAD_KEY|expected/);
    expect(() => thumbnailKey('../../videos/t/a.mp4')).toThrow(/expected/);
    expect(() => videoFolder('t', 'a/b/..')).toThrow(/expected/);
  });

  it('lets a tenant’s video read only its tenant’s stored content (or its own legacy folder)', () => {
    expect(ownsStoredVideo('videos/acme/u.mp4', 'acme', 'v_1')).toBe(true);
    expect(ownsStoredVideo('videos/acme/v_1/download.mp4', 'acme', 'v_1')).toBe(true);
    expect(ownsStoredVideo('videos/v_1/download.mp4', 'acme', 'v_1')).toBe(true);
    expect(ownsStoredVideo('videos/globex/u.mp4', 'acme', 'v_1')).toBe(false);
    expect(ownsStoredVideo('videos/v_2/download.mp4', 'acme', 'v_1')).toBe(false);
    expect(ownsStoredVideo('thumbnails/v_1/thumb-0000.webp', 'acme', 'v_1')).toBe(false);
    expect(ownsStoredVideo('videos/acme', 'acme', 'v_1')).toBe(false);
  });

  it('tells stored videos from thumbnails, and types by extension', () => {
    expect(isVideoKey('videos/t/a.mp4')).toBe(true);
    expect(isVideoKey('thumbnails/v/a.webp')).toBe(false);
    expect(isVideoKey('videos/../x')).toBe(false);
    expect(contentTypeOf('videos/t/a.MP4')).toBe('video/mp4');
    expect(contentTypeOf('videos/t/a.webm')).toBe('video/webm');
    expect(contentTypeOf('thumbnails/v/thumb-0000.webp')).toBe('image/webp');
    expect(contentTypeOf('videos/v/download')).toBeUndefined();
  });
});

describe('storage from config', () => {
  const s3 = {
    REEL_STORAGE: 's3',
    REEL_S3_BUCKET: 'media',
    REEL_S3_ENDPOINT: 'http://127.0.0.1:9000',
    REEL_S3_FORCE_PATH_STYLE: 'true',
    REEL_S3_ACCESS_KEY_ID: 'AKIA',
    REEL_S3_SECRET_ACCESS_KEY: 'secret',
    REEL_S3_PREFIX: '/reel',
  };

  it('is the data folder by default, with the index in it', () => {
    const config = loadConfig({ REEL_DATA_DIR: '/srv/reel' }, '/');
    const storage = openStorage(config);
    expect(storage.kind).toBe('local');
    expect(storage.ref('videos/t/a.mp4')).toBe('/srv/reel/videos/t/a.mp4');
    expect(storage.ref('thumbnails/v/thumb-0000.webp')).toBe('/srv/reel/thumbnails/v/thumb-0000.webp');
    expect(lanceConnection(config)).toEqual({ uri: '/srv/reel/lancedb' });
  });

  it('is a bucket with REEL_STORAGE=s3, under the prefix', () => {
    const config = loadConfig(s3, '/');
    const storage = openStorage(config);
    expect(storage.kind).toBe('s3');
    expect(storage.location).toBe('s3://media/reel/');
    expect(storage.ref('videos/t/a.mp4')).toBe('s3://media/reel/videos/t/a.mp4');
    storage.close();
    expect(s3ClientConfig(config)).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1', // a custom endpoint without a region: MinIO's default
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
    });
  });

  it("leaves region and credentials to the AWS SDK's chain when unset", () => {
    const config = loadConfig({ REEL_STORAGE: 's3', REEL_S3_BUCKET: 'media' }, '/');
    expect(s3ClientConfig(config)).toEqual({ forcePathStyle: false });
  });

  it('puts LanceDB on s3:// with object_store options from the same settings', () => {
    expect(lanceConnection(loadConfig({ ...s3, REEL_INDEX_URI: 's3://index/reel/lancedb' }, '/'))).toEqual({
      uri: 's3://index/reel/lancedb',
      storageOptions: {
        endpoint: 'http://127.0.0.1:9000',
        allow_http: 'true',
        region: 'us-east-1',
        virtual_hosted_style_request: 'false',
        aws_access_key_id: 'AKIA',
        aws_secret_access_key: 'secret',
      },
    });
    // AWS itself: virtual-hosted style, region and credentials from AWS_* (object_store reads them)
    expect(lanceConnection(loadConfig({ REEL_INDEX_URI: 's3://index/lancedb' }, '/'))).toEqual({
      uri: 's3://index/lancedb',
      storageOptions: { virtual_hosted_style_request: 'true' },
    });
    // a relative folder is resolved against the working directory
    expect(lanceConnection(loadConfig({ REEL_INDEX_URI: 'idx' }, '/srv'))).toEqual({ uri: '/srv/idx' });
  });
});
