import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configReference, loadConfig } from '../src/config.ts';
import { isReelError, type ReelError } from '../src/errors.ts';

function configError(fn: () => unknown): ReelError {
  try {
    fn();
  } catch (error) {
    if (isReelError(error, 'CONFIG_INVALID')) return error;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadConfig', () => {
  it('gives the embedded defaults with no environment', () => {
    const config = loadConfig({}, '/srv/reel');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.apiHost).toBe('127.0.0.1');
    expect(config.apiPort).toBe(3000);
    expect(config.logLevel).toBe('info');
    expect(config.model).toBeUndefined();
    expect(config.hfEndpoint).toBe('https://huggingface.co');
    expect(config.hfToken).toBeUndefined();
    expect(config.dataDir).toBe('/srv/reel/.reel');
    expect(config.paths).toEqual({
      dataDir: '/srv/reel/.reel',
      lancedb: '/srv/reel/.reel/lancedb',
      videos: '/srv/reel/.reel/videos',
      thumbnails: '/srv/reel/.reel/thumbnails',
      models: '/srv/reel/.reel/models',
      tmp: '/srv/reel/.reel/tmp',
      apiKeys: '/srv/reel/.reel/api-keys.json',
    });
    expect(config.apiAllowedRoots).toEqual([]);
  });

  it('reads the API allowed roots as a comma-separated list', () => {
    const config = loadConfig({ REEL_API_ALLOWED_ROOTS: ' /srv/videos, ./footage ,' }, '/srv');
    expect(config.apiAllowedRoots).toEqual(['/srv/videos', './footage']);
    expect(() => loadConfig({ REEL_API_MAX_K: '0' }, '/srv')).toThrow(/REEL_API_MAX_K.*1 to 1000/);
  });

  it('reads REEL_ variables and converts numbers', () => {
    const config = loadConfig(
      {
        REEL_REDIS_URL: 'rediss://cache.internal:6380/2',
        REEL_DATA_DIR: 'data',
        REEL_API_HOST: '0.0.0.0',
        REEL_API_PORT: '8080',
        REEL_MODEL: '/models/clip',
        REEL_LOG_LEVEL: 'debug',
        HF_TOKEN: 'hf_x',
      },
      '/srv',
    );
    expect(config).toMatchObject({
      redisUrl: 'rediss://cache.internal:6380/2',
      dataDir: '/srv/data',
      apiHost: '0.0.0.0',
      apiPort: 8080,
      model: '/models/clip',
      logLevel: 'debug',
      hfToken: 'hf_x',
    });
  });

  it('reports every bad variable at once, by name, with what was expected', () => {
    const error = configError(() =>
      loadConfig({ REEL_API_PORT: 'eighty', REEL_LOG_LEVEL: 'loud', REEL_REDIS_URL: 'http://x' }),
    );
    expect(error.message).toContain('REEL_API_PORT: expected an integer from 0 to 65535, got "eighty"');
    expect(error.message).toContain(
      'REEL_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
    expect(error.message).toContain('REEL_REDIS_URL: expected a redis:// or rediss:// URL, got "http://x"');
    expect(error.details?.problems).toHaveLength(3);
  });

  it('refuses a cron pattern the job schedulers cannot run, at start-up', () => {
    // Before: "99 99 * * *" passed config (5 fields) and failed only when a worker upserted its schedule.
    const error = configError(() =>
      loadConfig({ REEL_SWEEP_CRON: '99 99 * * *', REEL_UPKEEP_CRON: 'daily' }),
    );
    expect(error.message).toContain(
      'REEL_SWEEP_CRON: expected a cron pattern of 5 or 6 fields, e.g. "*/15 * * * *"',
    );
    expect(error.message).toContain('expected range 0-59');
    expect(error.message).toContain('REEL_UPKEEP_CRON: expected a cron pattern of 5 or 6 fields');
    expect(loadConfig({ REEL_SWEEP_CRON: '0 */2 * * *' }).sweepCron).toBe('0 */2 * * *');
  });

  it('rejects out-of-range and fractional ports', () => {
    expect(configError(() => loadConfig({ REEL_API_PORT: '70000' })).message).toContain('REEL_API_PORT');
    expect(configError(() => loadConfig({ REEL_API_PORT: '80.5' })).message).toContain('got "80.5"');
  });

  it('reads a JSON config file, with environment variables winning', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-config-'));
    const file = path.join(dir, 'reel.json');
    writeFileSync(file, JSON.stringify({ apiPort: 4000, logLevel: 'warn', dataDir: '/var/reel' }));
    const config = loadConfig({ REEL_CONFIG: file, REEL_LOG_LEVEL: 'error' }, dir);
    expect(config.apiPort).toBe(4000);
    expect(config.logLevel).toBe('error');
    expect(config.dataDir).toBe('/var/reel');
    expect(config.configFile).toBe(file);
  });

  it('names the file and key for bad or unknown config-file entries', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-config-'));
    const file = path.join(dir, 'reel.json');
    writeFileSync(file, JSON.stringify({ apiPort: 'x', colour: 'red' }));
    const error = configError(() => loadConfig({ REEL_CONFIG: file }, dir));
    expect(error.message).toContain(`${file}: apiPort: expected an integer from 0 to 65535, got "x"`);
    expect(error.message).toContain(`${file}: unknown key "colour"`);
  });

  it('fails clearly on a missing or malformed config file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'reel-config-'));
    expect(configError(() => loadConfig({ REEL_CONFIG: 'nope.json' }, dir)).message).toMatch(
      /REEL_CONFIG: cannot read config file .*nope\.json/,
    );
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{ apiPort: 1');
    expect(configError(() => loadConfig({ REEL_CONFIG: bad }, dir)).message).toContain('is not valid JSON');
  });

  it('documents every variable it reads', () => {
    const names = configReference().map((row) => row.env);
    expect(names).toEqual(
      expect.arrayContaining([
        'REEL_REDIS_URL',
        'REEL_DATA_DIR',
        'REEL_API_HOST',
        'REEL_API_PORT',
        'REEL_MODEL',
        'REEL_LOG_LEVEL',
        'REEL_CONFIG',
      ]),
    );
  });
});

describe('loadConfig: REEL_FFMPEG_SPAWN_HOST', () => {
  it('starts ffmpeg through the spawn host unless set to false, and refuses other values', () => {
    expect(loadConfig({}, '/srv').ffmpegSpawnHost).toBe(true);
    expect(loadConfig({ REEL_FFMPEG_SPAWN_HOST: 'false' }, '/srv').ffmpegSpawnHost).toBe(false);
    expect(configError(() => loadConfig({ REEL_FFMPEG_SPAWN_HOST: 'off' }, '/srv')).message).toContain(
      'REEL_FFMPEG_SPAWN_HOST: expected true or false',
    );
  });
});

describe('loadConfig: Redis Cluster', () => {
  it('takes a comma-separated list of node URLs as a cluster, and REEL_REDIS_CLUSTER for one seed', () => {
    const list = loadConfig({ REEL_REDIS_URL: ' redis://10.0.0.1:7000, redis://10.0.0.2:7000 ,' }, '/srv');
    expect(list.redisUrl).toBe('redis://10.0.0.1:7000,redis://10.0.0.2:7000');
    expect(list.redisCluster).toBe(true);
    expect(list.queuePrefix).toBe('{reel}');
    const seed = loadConfig({ REEL_REDIS_URL: 'redis://10.0.0.1:7000', REEL_REDIS_CLUSTER: 'true' }, '/srv');
    expect(seed.redisCluster).toBe(true);
    expect(loadConfig({}, '/srv').redisCluster).toBe(false);
    expect(configError(() => loadConfig({ REEL_REDIS_CLUSTER: 'yes' }, '/srv')).message).toContain(
      'REEL_REDIS_CLUSTER: expected true or false',
    );
    expect(
      configError(() => loadConfig({ REEL_REDIS_URL: 'redis://a:1,http://b:2' }, '/srv')).message,
    ).toContain(
      'REEL_REDIS_URL: expected a comma-separated list of redis:// or rediss:// URLs (Redis Cluster nodes), got "redis://a:1,http://b:2"',
    );
  });

  it('refuses a cluster whose queue prefix has no {hash tag}, and only then', () => {
    const urls = 'redis://10.0.0.1:7000,redis://10.0.0.2:7000';
    for (const prefix of ['reel', 'reel{}', '{}reel{x}', '{reel']) {
      const message = configError(() =>
        loadConfig({ REEL_REDIS_URL: urls, REEL_QUEUE_PREFIX: prefix }, '/srv'),
      ).message;
      expect(message).toContain(
        'REEL_QUEUE_PREFIX: Redis Cluster mode (REEL_REDIS_URL lists 2 nodes) needs a prefix with a {hash tag}',
      );
      expect(message).toContain(`got ${JSON.stringify(prefix)}`);
    }
    expect(
      configError(() => loadConfig({ REEL_REDIS_CLUSTER: 'true', REEL_QUEUE_PREFIX: 'reel' }, '/srv'))
        .message,
    ).toContain('Redis Cluster mode (REEL_REDIS_CLUSTER is true)');
    for (const prefix of ['{reel}', 'app:{reel}', '{tenant-a}:reel']) {
      expect(loadConfig({ REEL_REDIS_URL: urls, REEL_QUEUE_PREFIX: prefix }, '/srv').queuePrefix).toBe(
        prefix,
      );
    }
    // A single Redis does not care.
    expect(loadConfig({ REEL_QUEUE_PREFIX: 'reel' }, '/srv').queuePrefix).toBe('reel');
  });

  it('refuses node URLs that disagree on scheme or credentials, or name a database', () => {
    const message = (url: string) => configError(() => loadConfig({ REEL_REDIS_URL: url }, '/srv')).message;
    expect(message('redis://a:1,rediss://b:2')).toContain('share one scheme');
    expect(message('redis://:x@a:1,redis://:y@b:2')).toContain('share one user and password');
    expect(message('redis://a:1/2,redis://b:2/2')).toContain('only database 0');
    expect(loadConfig({ REEL_REDIS_URL: 'redis://:x@a:1/0,redis://:x@b:2' }, '/srv').redisCluster).toBe(true);
  });
});
