import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkRedis, compareVersions, redactUrl } from '../src/adapters/redis.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** A port nothing listens on: bind to 0, read the port, close. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('checkRedis (real Redis)', () => {
  it('reads the version of the local Redis', async () => {
    const result = await checkRedis(REDIS_URL);
    expect(result.ok).toBe(true);
    if (result.ok) expect(compareVersions(result.version, '6.2.0')).toBeGreaterThanOrEqual(0);
  });

  it('fails fast, with the URL, when nothing listens', async () => {
    const port = await unusedPort();
    const started = Date.now();
    const result = await checkRedis(`redis://127.0.0.1:${port}`, 2_000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('compareVersions / redactUrl', () => {
  it('orders dotted versions numerically', () => {
    expect(compareVersions('6.2.0', '6.2.0')).toBe(0);
    expect(compareVersions('6.0.16', '6.2.0')).toBe(-1);
    expect(compareVersions('7.0.15', '6.2.0')).toBe(1);
    expect(compareVersions('10.0', '9.9.9')).toBe(1);
  });

  it('hides passwords', () => {
    expect(redactUrl('redis://user:secret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
  });
});
