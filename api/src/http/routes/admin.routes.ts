/**
 * Reindexing on demand (`POST /v1/reindex`: queued for the workers, which also run it on schedule) and
 * the models (`GET /v1/models`: installed ones, the active one, the one searches read).
 *
 * A tenant admin's reindex is a sweep of its own tenant's videos (re-run failed, missing or stuck ones);
 * a model backfill and upkeep act on every tenant and need an operator key, as a queue-wide sweep does.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listInstalledModels, resolveActiveModel } from '@reel/models';
import { JobName } from '@reel/workers';
import { Type } from 'typebox';
import { HttpProblem } from '../problem.ts';
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
      const body = request.body ?? {};
      const operator = request.principal.operator;
      const all = !body.model && !body.sweep && !body.upkeep;
      if (!operator && (body.model || body.upkeep))
        throw new HttpProblem(
          403,
          'OPERATOR_REQUIRED',
          'a model backfill and upkeep act on every tenant: they need an operator key (a tenant admin may sweep its own videos: {"sweep": true})',
        );
      const active = await pipeline.activeModel();
      const searching = await pipeline.searchModel();
      const jobs: { kind: string; jobId: string }[] = [];
      const queue = pipeline.queues.reindex;
      if (operator && (all || body.model)) {
        const job = await queue.add(JobName.backfill, { kind: 'backfill', model: active });
        jobs.push({ kind: 'backfill', jobId: job.id ?? '' });
      }
      if (all || body.sweep) {
        // A tenant's key sweeps its own tenant; the keyless local tenant is the operator and sweeps all.
        const tenant = operator ? undefined : request.principal.tenant;
        const job = await queue.add(JobName.sweep, { kind: 'sweep', ...(tenant ? { tenant } : {}) });
        jobs.push({ kind: 'sweep', jobId: job.id ?? '' });
      }
      if (operator && (all || body.upkeep)) {
        const job = await queue.add(JobName.upkeep, { kind: 'upkeep' });
        jobs.push({ kind: 'upkeep', jobId: job.id ?? '' });
      }
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
