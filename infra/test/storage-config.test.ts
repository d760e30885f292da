import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ReelError } from '../src/errors.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv');
  } catch (error) {
    expect(error).toBeInstanceOf(ReelError);
    return ((error as ReelError).details?.problems as string[]) ?? [];
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadConfig: storage', () => {
  it('keeps everything in the data folder by default', () => {
    const config = loadConfig({}, '/srv');
    expect(config.storage).toBe('local');
    expect(config.paths.lancedb).toBe('/srv/.reel/lancedb');
    expect(config.s3ForcePathStyle).toBe(false);
    expect(config.s3Bucket).toBeUndefined();
  });

  it('reads the S3 settings and normalises the prefix', () => {
    const config = loadConfig(
      {
        REEL_STORAGE: 's3',
        REEL_S3_BUCKET: 'reel-media',
        REEL_S3_ENDPOINT: 'https://minio.internal:9000',
        REEL_S3_REGION: 'eu-west-1',
        REEL_S3_PREFIX: '/prod/reel//',
        REEL_S3_FORCE_PATH_STYLE: 'true',
        REEL_INDEX_URI: 's3://reel-index/prod/lancedb',
      },
      '/srv',
    );
    expect(config).toMatchObject({
      storage: 's3',
      s3Bucket: 'reel-media',
      s3Endpoint: 'https://minio.internal:9000',
      s3Region: 'eu-west-1',
      s3Prefix: 'prod/reel/',
      s3ForcePathStyle: true,
    });
    expect(config.paths.lancedb).toBe('s3://reel-index/prod/lancedb');
    expect(loadConfig({ REEL_S3_PREFIX: '/' }, '/srv').s3Prefix).toBe('');
    expect(loadConfig({ REEL_INDEX_URI: '../index' }, '/srv/app').paths.lancedb).toBe('/srv/index');
  });

  it('refuses s3 without a bucket, half a key pair, and other URIs, all together', () => {
    const problems = problemsOf({
      REEL_STORAGE: 's3',
      REEL_S3_ACCESS_KEY_ID: 'AKIA',
      REEL_INDEX_URI: 'gs://bucket/index',
      REEL_S3_ENDPOINT: 'minio:9000',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^REEL_S3_BUCKET: REEL_STORAGE=s3 keeps videos and thumbnails in a bucket/),
        expect.stringMatching(
          /^REEL_S3_ACCESS_KEY_ID and REEL_S3_SECRET_ACCESS_KEY go together: got only the key id/,
        ),
        'REEL_INDEX_URI: expected a folder path or an s3://bucket/path URL, got "gs://bucket/index"',
        'REEL_S3_ENDPOINT: expected an http:// or https:// URL, got "minio:9000"',
      ]),
    );
    expect(problemsOf({ REEL_STORAGE: 'gcs' })).toEqual(['REEL_STORAGE: expected local or s3, got "gcs"']);
    // an invalid bucket is reported once, as invalid (not also as missing)
    expect(problemsOf({ REEL_STORAGE: 's3', REEL_S3_BUCKET: 'Bad_Bucket' })).toEqual([
      'REEL_S3_BUCKET: expected a bucket name (3-63 lowercase letters, digits, dots and hyphens), got "Bad_Bucket"',
    ]);
  });
});
