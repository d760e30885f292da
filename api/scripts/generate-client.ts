/**
 * `npm run client:generate`: regenerates @reel/client from the spec a real server serves. Starts the
 * API on a loopback port over a scratch data folder (the synthetic model, the configured Redis),
 * reads GET /docs/json, and writes client/openapi.json and client/src/openapi.ts (openapi-typescript).
 * api/test/client-spec.int.test.ts fails until this has been run after a route's schema changes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, loadConfig } from '@reel/infra';
import { writeSyntheticClip } from '@reel/models';
import { generateTypes } from '../../client/scripts/generate-types.ts';
import { startServer } from '../src/http/server.ts';

export const CLIENT_DIR = path.resolve(import.meta.dirname, '../../client');

/** The spec a server started on a scratch folder serves, as JSON text (2-space indent, newline). */
export async function servedSpec(): Promise<string> {
  const root = mkdtempSync(path.join(tmpdir(), 'reel-openapi-'));
  try {
    const config = loadConfig(
      // Defaults only (limits such as the query length are in the spec): the Redis to reach excepted.
      {
        ...(process.env.REEL_REDIS_URL ? { REEL_REDIS_URL: process.env.REEL_REDIS_URL } : {}),
        REEL_DATA_DIR: path.join(root, 'data'),
        REEL_API_HOST: '127.0.0.1',
        REEL_API_PORT: '0',
        REEL_LOG_LEVEL: 'error',
      },
      root,
    );
    await writeSyntheticClip(path.join(config.paths.models, 'reel-synthetic-clip'));
    const server = await startServer(config, createLogger({ level: 'error', name: 'reel-openapi' }));
    try {
      const spec = await (await fetch(`${server.url}/docs/json`)).json();
      return `${JSON.stringify(spec, null, 2)}\n`;
    } finally {
      await server.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const spec = await servedSpec();
  writeFileSync(path.join(CLIENT_DIR, 'openapi.json'), spec);
  writeFileSync(path.join(CLIENT_DIR, 'src', 'openapi.ts'), await generateTypes(JSON.parse(spec)));
  console.log('wrote client/openapi.json and client/src/openapi.ts');
}
