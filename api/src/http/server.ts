/**
 * Starts the HTTP API with the real dependencies from config. Refuses to listen on a non-loopback
 * address while no API key is active (see keys/access-policy.ts: the keyless local mode would otherwise
 * serve anyone on the network).
 */
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type Logger, type ReelConfig, ReelError } from '@reel/infra';
import { LiveSearch, type LiveSearchOptions, openPipeline } from '@reel/workers';
import { AccessPolicy } from '../keys/access-policy.ts';
import { KeyStore } from '../keys/key-store.ts';
import { type ApiDeps, buildApp, type ReelApp } from './app.ts';

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export interface RunningServer {
  app: ReelApp;
  deps: ApiDeps;
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  close(): Promise<void>;
}

export async function startServer(
  config: ReelConfig,
  logger: Logger,
  options: { search?: LiveSearchOptions } = {},
): Promise<RunningServer> {
  const keys = new KeyStore(config.paths.apiKeys);
  const access = await AccessPolicy.forServer(keys, isLoopback(config.apiHost), config.apiHost);
  await mkdir(config.paths.thumbnails, { recursive: true });
  await mkdir(config.paths.videos, { recursive: true });
  const pipeline = await openPipeline(config, logger);
  const search = new LiveSearch(pipeline, logger, options.search);
  const deps: ApiDeps = { config, logger, pipeline, search, keys, access };
  let app: ReelApp;
  try {
    app = await buildApp(deps);
    await app.listen({ host: config.apiHost, port: config.apiPort });
  } catch (error) {
    await search.close();
    await pipeline.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new ReelError(
        'PORT_IN_USE',
        `${config.apiHost}:${config.apiPort} is taken by another process: stop it (lsof -i :${config.apiPort}, or ss -ltnp), or set REEL_API_PORT to a free port`,
      );
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.apiPort;
  const host = isIP(config.apiHost) === 6 ? `[${config.apiHost}]` : config.apiHost;
  // Load the search model now, so the first search does not wait for it.
  void search
    .service()
    .catch((error) => logger.warn({ err: (error as Error).message }, 'search model not loaded yet'));
  return {
    app,
    deps,
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await search.close();
      // Gives up on Redis after a few seconds when it does not answer (see Pipeline.close).
      await pipeline.close();
    },
  };
}
