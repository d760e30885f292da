/**
 * Reindexing on demand (`POST /v1/reindex`: queued for the workers, which also run it on schedule) and
 * the models (`GET /v1/models`: installed ones, the active one, the one searches read).
 *
 * A tenant admin's reindex is a sweep of its own tenant's videos (re-run failed, missing or stuck ones);
 * a model backfill and upkeep act on every tenant and need an operator key, as a queue-wide sweep does.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listInstalledModels, resolveActiveModel } from '@reel/models';
import { Type } from 'typebox';
import { requireRedis } from '../require-redis.ts';
import { authErrors, problemRef } from '../schemas.ts';

export const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, pipeline, search } = app.deps;

  app.post(
    '/reindex',
    {
      config: { scope: 'admin', operator: 'allowed' },
      preHandler: requireRedis,
      schema: {
        summary:
          "Queue reindexing now: a tenant admin's key sweeps its own tenant; an operator key may also start the model backfill and upkeep (all three when none is set)",
        tags: ['admin'],
        body: Type.Optional(
          Type.Object(
            {
              model: Type.Optional(Type.Boolean({ description: 'Model backfill and switch (operator key)' })),
              sweep: Type.Optional(Type.Boolean({ description: 'Re-run failed, missing or stuck videos' })),
              upkeep: Type.Optional(
                Type.Boolean({ description: 'Compaction and index upkeep (operator key)' }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
        response: {
          202: Type.Object({
            jobs: Type.Array(Type.Object({ kind: Type.String(), jobId: Type.String() })),
            activeModel: Type.String(),
            searchModel: Type.String(),
          }),
          ...authErrors,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      // A tenant's key sweeps its own tenant; an operator key (and the keyless local tenant) acts on all.
      const { operator, tenant } = request.principal;
      const jobs = await pipeline.reindex.request(request.body ?? {}, operator ? {} : { tenant });
      const active = await pipeline.activeModel();
      const searching = await pipeline.searchModel();
      reply.code(202);
      return { jobs, activeModel: active.fingerprint, searchModel: searching.fingerprint };
    },
  );

  app.get(
    '/models',
    {
      config: { scope: 'admin', operator: 'allowed' },
      schema: {
        summary: 'Installed models, the active one and the one searches read',
        tags: ['admin'],
        response: {
          200: Type.Object({
            active: Type.Object({ id: Type.String(), source: Type.String() }),
            searching: Type.Union([Type.String(), Type.Null()]),
            models: Type.Array(
              Type.Object({
                id: Type.String(),
                layout: Type.Union([Type.String(), Type.Null()]),
                complete: Type.Boolean(),
                problem: Type.Union([Type.String(), Type.Null()]),
                fingerprint: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
          ...authErrors,
        },
      },
    },
    async () => {
      const active = resolveActiveModel(config.model, config.paths.models);
      return {
        active: { id: active.name, source: active.source },
        searching: search.fingerprint,
        models: listInstalledModels(config.paths.models).map((m) => ({
          id: m.id,
          layout: m.report.ok ? m.report.layout : null,
          complete: m.report.ok,
          problem: m.report.ok ? null : m.report.problem,
          fingerprint: m.fingerprint ?? null,
        })),
      };
    },
  );
};
