/**
 * Storage from config: the data folder (`REEL_STORAGE=local`, the default) or a bucket (`REEL_STORAGE=s3`
 * with `REEL_S3_*`), and how LanceDB connects to the index (`REEL_INDEX_URI`: a folder, or `s3://` with
 * storage options built from the same S3 settings).
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { ReelConfig } from '@reel/infra';
import { LocalStorage } from './local-storage.ts';
import type { ObjectStorage } from './object-storage.ts';
import { S3Storage } from './s3-storage.ts';

type S3Settings = Pick<
  ReelConfig,
  's3Endpoint' | 's3Region' | 's3ForcePathStyle' | 's3AccessKeyId' | 's3SecretAccessKey'
>;

/** The region to sign with: the setting, else us-east-1 for a custom endpoint, else the SDK's own chain. */
function regionOf(config: S3Settings): string | undefined {
  return config.s3Region ?? (config.s3Endpoint ? 'us-east-1' : undefined);
}

/**
 * The S3 client's settings. Unset credentials leave the AWS SDK's chain (AWS_ACCESS_KEY_ID, AWS_PROFILE,
 * instance and pod roles); an unset region without an endpoint leaves its region chain (AWS_REGION).
 */
export function s3ClientConfig(config: S3Settings): S3ClientConfig {
  const region = regionOf(config);
  return {
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
    ...(region ? { region } : {}),
    forcePathStyle: config.s3ForcePathStyle,
    ...(config.s3AccessKeyId && config.s3SecretAccessKey
      ? { credentials: { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey } }
      : {}),
  };
}

/** The storage `config` names. */
export function openStorage(config: ReelConfig): ObjectStorage {
  if (config.storage === 's3') {
    return new S3Storage({
      // config refuses REEL_STORAGE=s3 without a bucket
      bucket: config.s3Bucket as string,
      prefix: config.s3Prefix ?? '',
      client: s3ClientConfig(config),
    });
  }
  return new LocalStorage({ videos: config.paths.videos, thumbnails: config.paths.thumbnails });
}

/**
 * How LanceDB opens the index: the folder as it is, or an `s3://` URI with object_store's options from
 * the S3 settings (what is unset is left to its own AWS_* environment chain).
 */
export function lanceConnection(config: S3Settings & { paths: Pick<ReelConfig['paths'], 'lancedb'> }): {
  uri: string;
  storageOptions?: Record<string, string>;
} {
  const uri = config.paths.lancedb;
  if (!uri.startsWith('s3://')) return { uri };
  const region = regionOf(config);
  const storageOptions: Record<string, string> = {
    virtual_hosted_style_request: String(!config.s3ForcePathStyle),
  };
  if (config.s3Endpoint) {
    storageOptions.endpoint = config.s3Endpoint;
    storageOptions.allow_http = String(config.s3Endpoint.startsWith('http:'));
  }
  if (region) storageOptions.region = region;
  if (config.s3AccessKeyId && config.s3SecretAccessKey) {
    storageOptions.aws_access_key_id = config.s3AccessKeyId;
    storageOptions.aws_secret_access_key = config.s3SecretAccessKey;
  }
  return { uri, storageOptions };
}
