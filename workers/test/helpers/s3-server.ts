/**
 * A local S3-compatible server for tests: fauxqs (npm; its S3 API on a free loopback port, objects kept
 * as files in a temp folder), with one bucket, and an SDK client on it. fauxqs, like s3rver, ignores
 * conditional PUT (If-None-Match), so LanceDB on it is safe with one writer only; unlike s3rver 3.7.1,
 * it lists with a delimiter (LanceDB's tableNames() needs that).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';

export interface S3Fixture {
  endpoint: string;
  bucket: string;
  /** Folder where the server keeps the objects. */
  dir: string;
  client: S3Client;
  /** Environment for reel: REEL_S3_* pointing at this server and bucket. */
  env: Record<string, string>;
  /** Every key in the bucket, sorted. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startS3(bucket = 'reel'): Promise<S3Fixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'reel-s3-'));
  const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, s3StorageDir: dir });
  server.createBucket(bucket);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const credentials = { accessKeyId: 'reel-test', secretAccessKey: 'reel-test-secret' };
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  return {
    endpoint,
    bucket,
    dir,
    client,
    env: {
      REEL_S3_ENDPOINT: endpoint,
      REEL_S3_REGION: 'us-east-1',
      REEL_S3_BUCKET: bucket,
      REEL_S3_FORCE_PATH_STYLE: 'true',
      REEL_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      REEL_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    async keys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async close() {
      client.destroy();
      await server.stop();
    },
  };
}
