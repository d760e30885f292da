import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SamplingPrecision } from '@reel/ingest';
import { LABEL_LIMITS, type ObjectInfo } from '@reel/workers';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { parseRange } from '../byte-range.ts';
import { reauthorize } from '../plugins/auth.ts';
import { HttpProblem, sendProblem } from '../problem.ts';
import { requireRedis } from '../require-redis.ts';
import {
  authErrors,
  BatchAcceptedSchema,
  CaptionTrackSchema,
  filterQuery,
  filtersFromQuery,
  problemRef,
  samplingPrecisionField,
  splitTags,
  thumbnailUrl,
  toAccepted,
  toVideoBody,
  toVideoFilters,
  VideoId,
  VideoSchema,
} from '../schemas.ts';
import { trackUrl } from './captions.routes.ts';

/** One video as the library opens it: the record, its file's size, its frames. */
const VideoDetailsSchema = Type.Object({
  ...VideoSchema.properties,
  sizeBytes: Type.Union([Type.Integer(), Type.Null()], {
    description: "The stored file's size in bytes; null before it is indexed or when the file is gone",
  }),
  frameTimes: Type.Array(Type.Number(), { description: "The sampled frames' times in seconds" }),
  thumbnailUrls: Type.Array(Type.String(), { description: "Each sampled frame's thumbnail" }),
  captions: Type.Array(CaptionTrackSchema, {
    description: 'Its caption tracks (see GET /v1/videos/{id}/captions), each with its WebVTT url when read',
  }),
});

const STATUSES = ['queued', 'processing', 'indexed', 'failed'] as const;

/** Tags kept from a form or query field (as many as a JSON filter may carry). */
const MAX_TAGS = 20;

/**
 * Headers of a stored object: its type from reel's key (never a type stored with the object, which
 * another tool could have set), and its validators.
 */
function objectHeaders(
  reply: FastifyReply,
  info: Pick<ObjectInfo, 'etag' | 'lastModified'>,
  contentType: string | undefined,
): void {
  reply.header('content-type', contentType ?? 'application/octet-stream');
  if (info.etag) reply.header('etag', info.etag);
  if (info.lastModified) reply.header('last-modified', info.lastModified.toUTCString());
}

export const videoRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, pipeline, search } = app.deps;
  const videos = pipeline.videos;
  app.addSchema(VideoSchema);
  // reply.sendFile (Range, ETag, 416) for this plugin's routes only: bull-board registers its own.
  await app.register(fastifyStatic, { root: config.paths.thumbnails, serve: false });

  const notFound = (id: string) => new HttpProblem(404, 'VIDEO_NOT_FOUND', `no video ${id}`);

  app.post(
    '/videos',
    {
      config: { scope: 'ingest' },
      preHandler: requireRedis,
      schema: {
        summary: 'Upload a batch of videos (multipart/form-data)',
        description:
          'One or many `file` parts. Optional `title` and `tags` (comma-separated) fields apply to the file parts that follow them; an optional `precision` field (`exact`, `fast` or `keyframes`; default REEL_SAMPLING_PRECISION) applies to the whole upload. Files stream to storage; each is limited in size, and so is the request.',
        tags: ['videos'],
        consumes: ['multipart/form-data'],
        response: {
          202: BatchAcceptedSchema,
          ...authErrors,
          413: problemRef,
          415: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart())
        throw new HttpProblem(
          415,
          'NOT_MULTIPART',
          'expected a multipart/form-data body with one or more file parts',
        );
      const upload = pipeline.uploads.start(request.principal.tenant);
      let title: string | undefined;
      let tags: string[] = [];
      let precision: SamplingPrecision | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'field') {
            const value = typeof part.value === 'string' ? part.value : String(part.value);
            if (part.fieldname === 'title') title = value.trim().slice(0, 500) || undefined;
            else if (part.fieldname === 'tags') tags = splitTags(value).slice(0, MAX_TAGS);
            else if (part.fieldname === 'precision') precision = samplingPrecisionField(value);
            else
              throw new HttpProblem(
                400,
                'VALIDATION_FAILED',
                `field ${part.fieldname}: unknown (expected title, tags, precision or file parts)`,
              );
            continue;
          }
          const file = part.file;
          await upload.addFile({
            filename: part.filename,
            stream: file,
            truncated: () => file.truncated,
            ...(title ? { title } : {}),
            tags,
          });
        }
        // The upload may have streamed for minutes: a key revoked meanwhile commits nothing.
        await reauthorize(app.deps.access, request);
        const result = await upload.finish(await pipeline.searchModel(), precision ? { precision } : {});
        reply.code(202);
        return toAccepted(result);
      } catch (error) {
        await upload.abort();
        throw error;
      }
    },
  );

  app.get(
    '/videos',
    {
      config: { scope: 'search' },
      schema: {
        summary: 'List videos, newest first or by title',
        tags: ['videos'],
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            sort: Type.Optional(
              Type.Union([Type.Literal('newest'), Type.Literal('title')], {
                description:
                  'newest (creation time, the default) or title (code-point order: capitals first)',
              }),
            ),
            cursor: Type.Optional(Type.String({ maxLength: 4096 })),
            status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)))),
            ...filterQuery(),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            videos: Type.Array(Type.Ref('Video')),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...authErrors,
        },
      },
    },
    async (request) => {
      const { status, limit, cursor, sort, ...filters } = request.query;
      const page = await videos.list(request.principal.tenant, {
        limit: limit ?? 50,
        ...(sort ? { sort } : {}),
        ...(cursor ? { cursor } : {}),
        filters: {
          ...toVideoFilters(filtersFromQuery(filters)),
          ...(status ? { status: [status] } : {}),
        },
      });
      return { videos: page.videos.map(toVideoBody), nextCursor: page.nextCursor };
    },
  );

  const idParams = Type.Object({ id: VideoId });

  app.get(
    '/videos/:id',
    {
      config: { scope: 'search' },
      schema: {
        summary: "One video, with its file's size and its sampled frames' times",
        tags: ['videos'],
        params: idParams,
        response: { 200: VideoDetailsSchema, ...authErrors, 404: problemRef },
      },
    },
    async (request) => {
      const details = await videos.details(request.principal.tenant, request.params.id);
      return {
        ...toVideoBody(details.video),
        sizeBytes: details.sizeBytes,
        frameTimes: details.frameTimes,
        thumbnailUrls: details.frameTimes.map((_, n) => thumbnailUrl(details.video.id, n)),
        captions: (await pipeline.captions.tracks(request.principal.tenant, details.video.id)).map((t) => ({
          ...t,
          url: trackUrl(details.video.id, t.id, t.read),
        })),
      };
    },
  );

  app.patch(
    '/videos/:id',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: "Edit a video's title or tags (the tags given replace the video's)",
        tags: ['videos'],
        params: idParams,
        body: Type.Object(
          {
            title: Type.Optional(Type.String({ minLength: 1, maxLength: LABEL_LIMITS.titleLength })),
            tags: Type.Optional(
              Type.Array(Type.String({ maxLength: LABEL_LIMITS.tagLength }), { maxItems: LABEL_LIMITS.tags }),
            ),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Video'), ...authErrors, 404: problemRef },
      },
    },
    async (request) => {
      // The edit may have waited on the store: a key revoked meanwhile changes nothing.
      await reauthorize(app.deps.access, request);
      return toVideoBody(await videos.edit(request.principal.tenant, request.params.id, request.body));
    },
  );

  app.post(
    '/videos/:id/retry',
    {
      config: { scope: 'ingest' },
      preHandler: requireRedis,
      schema: {
        summary: 'Run a failed video again, as a batch of its own',
        tags: ['videos'],
        params: idParams,
        response: {
          202: BatchAcceptedSchema,
          ...authErrors,
          404: problemRef,
          409: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      const result = await pipeline.reindex.retry(request.principal.tenant, request.params.id);
      reply.code(202);
      return toAccepted(result);
    },
  );

  app.delete(
    '/videos/:id',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Delete a video: its vectors, frames, thumbnails and stored file',
        tags: ['videos'],
        params: idParams,
        response: { 204: Type.Null(), ...authErrors, 404: problemRef, 503: problemRef },
      },
    },
    async (request, reply) => {
      const deleted = await videos.delete(request.principal.tenant, request.params.id);
      if (!deleted) throw notFound(request.params.id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/videos/:id/stream',
    {
      config: { scope: 'search' },
      schema: {
        summary: 'The video file of an indexed video (supports HTTP Range requests)',
        tags: ['videos'],
        params: idParams,
        produces: ['video/*'],
        response: {
          200: Type.Any(),
          206: Type.Any(),
          ...authErrors,
          404: problemRef,
          409: problemRef,
          416: problemRef,
        },
      },
    },
    async (request, reply) => {
      const file = await videos.openFile(request.principal.tenant, request.params.id);
      const range = parseRange(request.headers.range, file.size);
      reply.header('accept-ranges', 'bytes');
      if (range === 'unsatisfiable') {
        await file.close();
        reply.header('content-range', `bytes */${file.size}`);
        return sendProblem(
          reply,
          416,
          'RANGE_NOT_SATISFIABLE',
          `${request.headers.range}: outside the video's ${file.size} bytes`,
        );
      }
      const body = await file.read(range);
      objectHeaders(reply, file, file.contentType);
      if (range) {
        reply.code(206);
        reply.header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
        reply.header('content-length', range.end - range.start + 1);
      } else {
        reply.header('content-length', file.size);
      }
      return reply.send(body);
    },
  );

  app.get(
    '/videos/:id/frames/:n/thumbnail',
    {
      config: { scope: 'search' },
      schema: {
        summary: "A sampled frame's thumbnail (WebP)",
        tags: ['videos'],
        params: Type.Object({ id: VideoId, n: Type.Integer({ minimum: 0, maximum: 100_000 }) }),
        produces: ['image/webp'],
        response: { 200: Type.Any(), ...authErrors, 404: problemRef },
      },
    },
    async (request, reply) => {
      const { id, n } = request.params;
      const thumbnail = await videos.thumbnail(
        request.principal.tenant,
        id,
        n,
        search.fingerprint ?? undefined,
      );
      if (thumbnail.kind === 'local')
        // Whole thumbnails only (a few kB): a Range is ignored (RFC 9110 allows it) rather than answered
        // by the static plugin's own 416, which has neither reel's code nor Content-Range.
        return reply.sendFile(thumbnail.name, config.paths.thumbnails, {
          cacheControl: true,
          maxAge: 3600_000,
          acceptRanges: false,
        });
      const { object } = thumbnail;
      objectHeaders(reply, object, 'image/webp');
      reply.header('cache-control', 'public, max-age=3600');
      reply.header('content-length', object.size);
      return reply.send(object.stream);
    },
  );
};
