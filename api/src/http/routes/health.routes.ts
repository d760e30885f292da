/**
 * `GET /healthz`: the process is up. `GET /readyz`: each dependency with its state; 200 when search can
 * answer (index and model), with Redis and workers listed (ingest needs them, search does not).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { withTimeout } from '../../services/with-timeout.ts';

const Check = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  detail: Type.String(),
  requiredFor: Type.String({ description: 'search, ingest or both' }),
});

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { pipeline, search } = app.deps;
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['operations'],
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: each dependency and whether search and ingest can work',
        tags: ['operations'],
        security: [],
        response: {
          '2xx': Type.Object({
            ready: Type.Boolean(),
            search: Type.Boolean(),
            ingest: Type.Boolean(),
            checks: Type.Array(Check),
          }),
        },
      },
    },
    async (_request, reply) => {
      const checks: { name: string; ok: boolean; detail: string; requiredFor: string }[] = [];
      const check = async (name: string, requiredFor: string, run: () => Promise<string>) => {
        try {
          checks.push({ name, ok: true, detail: await run(), requiredFor });
        } catch (error) {
          checks.push({ name, ok: false, detail: (error as Error).message, requiredFor });
        }
      };
      await Promise.all([
        check('index', 'both', async () => {
          const counts = await withTimeout(pipeline.store.countByStatus(), 3000, 'index');
          return `LanceDB at ${pipeline.config.paths.lancedb}: ${counts.indexed} videos indexed`;
        }),
        check('model', 'search', async () => {
          await withTimeout(search.service(), 30_000, 'model');
          return `searching model ${search.fingerprint}`;
        }),
        check('redis', 'ingest', async () => {
          if (pipeline.redis.status !== 'ready') throw new Error(`not connected (${pipeline.redis.status})`);
          await withTimeout(pipeline.redis.ping(), 1000, 'redis');
          return 'answers PING';
        }),
      ]);
      const redisOk = checks.find((c) => c.name === 'redis')?.ok === true;
      if (redisOk)
        await check('workers', 'ingest', async () => {
          if (!(await withTimeout(pipeline.workersListening(), 1000, 'workers')))
            throw new Error('no worker listens on every stage queue: start one with npx reel worker');
          return 'listening';
        });
      const ok = (name: string) => checks.find((c) => c.name === name)?.ok !== false;
      const searchReady = ok('index') && ok('model');
      const ingestReady = ok('index') && ok('redis') && ok('workers');
      reply.code(searchReady ? 200 : 503);
      return { ready: searchReady && ingestReady, search: searchReady, ingest: ingestReady, checks };
    },
  );
};
