/**
 * @reel/client cannot drift from the API: the spec committed beside the client must be the one a real
 * server serves, and the client's types must be openapi-typescript's output for it. A route whose schema
 * changed without `npm run client:generate` fails here, naming the command.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTypes } from '../../client/scripts/generate-types.ts';
import { CLIENT_DIR, servedSpec } from '../scripts/generate-client.ts';

const FIX =
  'the client is stale: run `npm run client:generate` and commit client/openapi.json and client/src/openapi.ts';

describe('@reel/client and the served spec', () => {
  it('commits the spec the server serves', async () => {
    const committed = JSON.parse(readFileSync(path.join(CLIENT_DIR, 'openapi.json'), 'utf8'));
    expect(JSON.parse(await servedSpec()), FIX).toEqual(committed);
  });

  it("commits openapi-typescript's types for that spec", async () => {
    const committed = JSON.parse(readFileSync(path.join(CLIENT_DIR, 'openapi.json'), 'utf8'));
    const types = readFileSync(path.join(CLIENT_DIR, 'src', 'openapi.ts'), 'utf8');
    expect(types === (await generateTypes(committed)), FIX).toBe(true);
  });
});
