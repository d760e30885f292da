/**
 * `GET /healthz`: the process is up. `GET /readyz`: each dependency with its state; 200 when search can
 * answer (index and model), with Redis and workers listed (ingest needs them, search does not).
 *
 * Both are public, so /readyz says nothing of where things are (no paths, hosts or error texts: those
 * go to the log) and is worked out at most once a second, however often it is asked (it queries
 * LanceDB and Redis); like every route but /healthz it counts against the rate limit.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isReelError, withTimeout } from '@reel/infra';
import { Type } from 'typebox';

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
    async (request, reply) => {
      const now = Date.now();
      if (!cached || now - cached.at >= READY_CACHE_MS) cached = { at: now, answer: readiness(request) };
      const answer = await cached.answer;
      reply.code(answer.search ? 200 : 503);
      return answer;
    },
  );

  type Readiness = { ready: boolean; search: boolean; ingest: boolean; checks: CheckResult[] };
  type CheckResult = { name: string; ok: boolean; detail: string; requiredFor: string };
  let cached: { at: number; answer: Promise<Readiness> } | undefined;

  async function readiness(request: { log: { warn: (o: object, m: string) => void } }): Promise<Readiness> {
    const checks: CheckResult[] = [];
    const check = async (name: string, requiredFor: string, run: () => Promise<string>) => {
      try {
        checks.push({ name, ok: true, detail: await run(), requiredFor });
      } catch (error) {
        request.log.warn({ check: name, err: (error as Error).message }, 'readiness check failed');
        const code = isReelError(error) ? error.code : (error as { code?: unknown }).code;
        const detail =
          error instanceof ReadinessProblem
            ? error.message
            : typeof code === 'string'
              ? `unavailable (${code})`
              : 'unavailable (see the server log)';
        checks.push({ name, ok: false, detail, requiredFor });
      }
    };
    await Promise.all([
      check('index', 'both', async () => {
        const counts = await withTimeout(pipeline.status.videoCounts(), 3000, 'index');
        return `${counts.indexed} videos indexed`;
      }),
      check('model', 'search', async () => {
        await withTimeout(search.service(), 30_000, 'model');
        return `searching model ${search.fingerprint}`;
      }),
      check('redis', 'ingest', async () => {
        const state = pipeline.status.redisState();
        if (state !== 'ready') throw new ReadinessProblem(`not connected (${state})`);
        await withTimeout(pipeline.status.pingRedis(), 1000, 'redis');
        return 'answers PING';
      }),
    ]);
    const redisOk = checks.find((c) => c.name === 'redis')?.ok === true;
    if (redisOk)
      await check('workers', 'ingest', async () => {
        if (!(await withTimeout(pipeline.status.workersListening(), 1000, 'workers')))
          throw new ReadinessProblem(
            'no worker listens on every stage queue: start one with npx reel worker',
          );
        return 'listening';
      });
    const ok = (name: string) => checks.find((c) => c.name === name)?.ok !== false;
    const searchReady = ok('index') && ok('model');
    const ingestReady = ok('index') && ok('redis') && ok('workers');
    return { ready: searchReady && ingestReady, search: searchReady, ingest: ingestReady, checks };
  }
};

/** A failed check's words written here, with nothing of the server's in them: safe to show. */
class ReadinessProblem extends Error {}

/** How long one readiness answer is reused. */
const READY_CACHE_MS = 1000;
