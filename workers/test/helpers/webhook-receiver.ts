/**
 * A local webhook receiver for tests: an HTTP server on a loopback port that records every request
 * (path, headers, raw body) and answers per path with what the test's `answer` says (default 200).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The parsed body. */
  // biome-ignore lint/suspicious/noExplicitAny: JSON the test reads loosely
  json: any;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests to one path. */
  at(path: string): Received[];
  close(): Promise<void>;
}

/**
 * `answer(path, nth)` gives the status for the nth (1-based) request to `path`, or a promise of one (a
 * held answer), or 'hang' to never answer.
 */
export async function startReceiver(
  answer: (path: string, nth: number, request: Received) => number | Promise<number> | 'hang' = () => 200,
): Promise<Receiver> {
  const received: Received[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {}
      const entry: Received = { path, headers: request.headers, body, json };
      received.push(entry);
      const nth = received.filter((r) => r.path === path).length;
      const status = answer(path, nth, entry);
      if (status === 'hang') {
        open.add(response);
        return;
      }
      response.statusCode = await status;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (path) => received.filter((r) => r.path === path),
    async close() {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
