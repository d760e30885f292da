import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../src/free-port.ts';

describe('freePort', () => {
  it('returns a port that is free on 127.0.0.1: a server can listen on it', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    expect((server.address() as { port: number }).port).toBe(port);
    // While it is taken, the next call picks another.
    expect(await freePort()).not.toBe(port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
