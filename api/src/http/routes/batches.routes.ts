/**
 * Batches: `POST /v1/batches` submits server-side paths (under the allowed roots) or http(s) URLs
 * (downloaded by the workers, with size and time limits); `GET /v1/batches/:id` shows progress and
 * per-video outcomes. A batch of another tenant is a 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clientBatchId } from '@reel/workers';
import { Type } from 'typebox';
import { batchSummaryView, batchView } from '../../json-views.ts';
import { AllowedPaths } from '../allowed-paths.ts';
import { HttpProblem } from '../problem.ts';
import { requireRedis } from '../require-redis.ts';
import {
  authErrors,
  BatchAcceptedSchema,
  problemRef,
  SamplingPrecisionSchema,
  toAccepted,
} from '../schemas.ts';

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 });

const BatchSummarySchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  total: Type.Integer(),
  done: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer()),
  stages: Type.Record(Type.String(), Type.Object({ done: Type.Integer(), running: Type.Integer() })),
  etaSeconds: Type.Union([Type.Number(), Type.Null()]),
});

const BatchStatusSchema = Type.Object({
  ...BatchSummarySchema.properties,
  videos: Type.Array(
    Type.Object({
      videoId: Type.String(),
      name: Type.String(),
      status: Type.String({
        description: 'queued, ingesting, embedding, indexing, indexed, duplicate or failed',
      }),
      code: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      duplicateOf: Type.Optional(Type.String()),
      sampling: Type.Optional(
        Type.Object(
          {
            precision: SamplingPrecisionSchema,
            plan: Type.String({ description: 'How ffmpeg decoded: seek, single-pass or keyframes' }),
            offsetsMs: Type.Array(Type.Integer(), {
              description: 'Per frame, milliseconds from its target to where it landed (positive: after)',
            }),
            redecoded: Type.Integer({
              description: 'Targets fast precision had moved more than a frame, decoded again exactly',
            }),
          },
          { description: 'Once sampled: how the frames were taken' },
        ),
      ),
      updatedAt: Type.String({ format: 'date-time' }),
    }),
  ),
});

export const batchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, pipeline } = app.deps;
  const allowed = new AllowedPaths(config.apiAllowedRoots);

  app.post(
    '/batches',
    {
      config: { scope: 'ingest' },
      preHandler: requireRedis,
      schema: {
        summary: 'Submit a batch of server-side paths or http(s) URLs',
        description:
          'Each entry has either `path` (a file or folder under REEL_API_ALLOWED_ROOTS) or `url`; one batch holds one kind. `batchId` makes the submit idempotent.',
        tags: ['batches'],
        body: Type.Object(
          {
            videos: Type.Array(
              Type.Object(
                {
                  path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
                  url: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
                  title: Type.Optional(Type.String({ maxLength: 500 })),
                  tags: Type.Optional(Tags),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: config.apiMaxFiles },
            ),
            batchId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' })),
            precision: Type.Optional(SamplingPrecisionSchema),
          },
          { additionalProperties: false },
        ),
        response: { 202: BatchAcceptedSchema, ...authErrors, 404: problemRef, 503: problemRef },
      },
    },
    async (request, reply) => {
      const tenant = request.principal.tenant;
      const { videos, batchId, precision } = request.body;
      for (const [i, v] of videos.entries())
        if ((v.path === undefined) === (v.url === undefined))
          throw new HttpProblem(
            400,
            'VALIDATION_FAILED',
            `body.videos.${i}: give exactly one of path or url`,
          );
      const kinds = new Set(videos.map((v) => (v.path !== undefined ? 'path' : 'url')));
      if (kinds.size > 1)
        throw new HttpProblem(
          400,
          'VALIDATION_FAILED',
          'body.videos: one batch holds either paths or URLs, not both',
        );
      const model = await pipeline.searchModel();
      let result: Awaited<ReturnType<typeof pipeline.service.submit>>;
      if (kinds.has('path')) {
        const files = [];
        for (const v of videos) {
          for (const file of await allowed.resolve(v.path!, config.apiMaxFiles))
            files.push({
              path: file.real,
              name: file.name,
              ...(v.title ? { title: v.title } : {}),
              tags: v.tags ?? [],
            });
        }
        if (files.length > config.apiMaxFiles)
          throw new HttpProblem(
            413,
            'TOO_MANY_FILES',
            `the paths expand to ${files.length} videos; at most ${config.apiMaxFiles} per batch (REEL_API_MAX_FILES)`,
          );
        // Not read here: each file is opened and hashed by the worker that indexes it.
        result = await pipeline.service.submitPaths({
          tenant,
          files,
          model,
          ...(batchId ? { batchId } : {}),
          ...(precision ? { precision } : {}),
        });
      } else {
        result = await pipeline.service.submitUrls({
          tenant,
          videos: videos.map((v) => ({
            url: v.url!,
            ...(v.title ? { title: v.title } : {}),
            ...(v.tags ? { tags: v.tags } : {}),
          })),
          model,
          ...(batchId ? { batchId } : {}),
          ...(precision ? { precision } : {}),
        });
      }
      reply.code(202);
      return toAccepted(result);
    },
  );

  app.get(
    '/batches',
    {
      config: { scope: 'ingest' },
      preHandler: requireRedis,
      schema: {
        summary:
          "The tenant's recent batches, newest first, with their progress (kept 30 days after they end)",
        tags: ['batches'],
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
            before: Type.Optional(
              Type.Integer({ minimum: 0, description: 'Page back: the nextBefore of the previous page' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            batches: Type.Array(BatchSummarySchema),
            nextBefore: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...authErrors,
          503: problemRef,
        },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      const page = await pipeline.service.recentOf(request.principal.tenant, {
        limit: limit ?? 20,
        ...(before !== undefined ? { before } : {}),
      });
      return {
        batches: page.batches.map((b) => batchSummaryView(b, clientBatchId(b.id))),
        nextBefore: page.nextBefore,
      };
    },
  );

  app.get(
    '/batches/:id',
    {
      config: { scope: 'ingest' },
      preHandler: requireRedis,
      schema: {
        summary: "A batch's progress (per stage, ETA) and per-video outcomes",
        tags: ['batches'],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: BatchStatusSchema, ...authErrors, 404: problemRef, 503: problemRef },
      },
    },
    async (request) => {
      const { id } = request.params;
      // Batch ids are the tenant's own: the same id of another tenant is another batch.
      const status = await pipeline.service.statusOf(request.principal.tenant, id);
      if (!status) throw new HttpProblem(404, 'BATCH_NOT_FOUND', `no batch ${id}`);
      return batchView(status, id);
    },
  );
};
