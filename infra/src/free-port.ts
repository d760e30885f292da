import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now (the system picks it): for servers reel starts itself (the
 * demo's private Redis) and for tests that start their own. Another process may take it before it is
 * used; callers that must not fail retry or check.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
