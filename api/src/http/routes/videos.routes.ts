import type { Readable } from 'node:stream';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { VideoRecord } from '@reel/index';
import { isReelError } from '@reel/infra';
import type { ByteRange, ObjectInfo, ResolvedSource } from '@reel/workers';
import {
  contentTypeOf,
  openRegularFile,
  resolveSource,
  SOURCE_NOT_ALLOWED,
  thumbnailKey,
} from '@reel/workers';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { parseRange } from '../byte-range.ts';
import { reauthorize } from '../plugins/auth.ts';
import { HttpProblem, sendProblem } from '../problem.ts';
import { requireRedis } from '../require-redis.ts';
import {
  authErrors,
  BatchAcceptedSchema,
  FiltersSchema,
  problemRef,
  splitTags,
  toAccepted,
  toVideoBody,
  toVideoFilters,
  VideoId,
  VideoSchema,
} from '../schemas.ts';

const STATUSES = ['queued', 'processing', 'indexed', 'failed'] as const;

/** Tags kept from a form or query field (as many as a JSON filter may carry). */
const MAX_TAGS = 20;

/**
 * Headers of an object served from storage: its type from reel's key (never a type stored with the
 * object, which another tool could have set), and its validators.
 */
function objectHeaders(reply: FastifyReply, info: ObjectInfo, contentType: string | undefined): void {
  reply.header('content-type', contentType ?? 'application/octet-stream');
  if (info.etag) reply.header('etag', info.etag);
  if (info.lastModified) reply.header('last-modified', info.lastModified.toUTCString());
}

/** A video file the stream route serves, with Range. */
interface StreamableFile {
  size: number;
  /** From reel's key or the file's extension, never a type stored with the object. */
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
  /** The bytes, or the range asked for; undefined when the file vanished meanwhile. */
  read(range: ByteRange | undefined): Promise<Readable | undefined>;
  /** Releases the file when nothing was read. */
  close(): Promise<void>;
}

export const videoRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, pipeline, search } = app.deps;
  const storage = pipeline.storage;
  app.addSchema(VideoSchema);
  // reply.sendFile (Range, ETag, 416) for this plugin's routes only: bull-board registers its own.
  await app.register(fastifyStatic, { root: config.paths.thumbnails, serve: false });

  const notFound = (id: string) => new HttpProblem(404, 'VIDEO_NOT_FOUND', `no video ${id}`);
  const videoOf = async (tenant: string, id: string): Promise<VideoRecord> => {
    const video = await pipeline.store.getVideo(tenant, id);
    if (!video) throw notFound(id);
    return video;
  };

  app.post(
    '/videos',
    {
      config: { scope: 'ingest' },
      preHandler: requireRedis,
      schema: {
        summary: 'Upload a batch of videos (multipart/form-data)',
        description:
          'One or many `file` parts. Optional `title` and `tags` (comma-separated) fields apply to the file parts that follow them. Files stream to storage; each is limited in size, and so is the request.',
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
      try {
        for await (const part of request.parts()) {
          if (part.type === 'field') {
            const value = typeof part.value === 'string' ? part.value : String(part.value);
            if (part.fieldname === 'title') title = value.trim().slice(0, 500) || undefined;
            else if (part.fieldname === 'tags') tags = splitTags(value).slice(0, MAX_TAGS);
            else
              throw new HttpProblem(
                400,
                'VALIDATION_FAILED',
                `field ${part.fieldname}: unknown (expected title, tags or file parts)`,
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
        const result = await upload.finish(await pipeline.searchModel());
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
        summary: 'List videos, newest first',
        tags: ['videos'],
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 4096 })),
            status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)))),
            tags: Type.Optional(
              Type.String({ maxLength: 1000, description: 'Comma-separated; all must match' }),
            ),
            createdAfter: FiltersSchema.properties.createdAfter,
            createdBefore: FiltersSchema.properties.createdBefore,
            minDuration: FiltersSchema.properties.minDuration,
            maxDuration: FiltersSchema.properties.maxDuration,
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
      const { tags: tagList, status, limit, cursor, ...range } = request.query;
      const tags = tagList ? splitTags(tagList).slice(0, MAX_TAGS) : undefined;
      const page = await pipeline.store.listVideos(request.principal.tenant, {
        limit: limit ?? 50,
        ...(cursor ? { cursor } : {}),
        filters: {
          ...toVideoFilters({ ...range, ...(tags ? { tags } : {}) }),
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
        summary: 'One video',
        tags: ['videos'],
        params: idParams,
        response: { 200: Type.Ref('Video'), ...authErrors, 404: problemRef },
      },
    },
    async (request) => toVideoBody(await videoOf(request.principal.tenant, request.params.id)),
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
      const deleted = await pipeline.videos.delete(request.principal.tenant, request.params.id);
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
      const video = await videoOf(request.principal.tenant, request.params.id);
      if (video.status !== 'indexed')
        throw new HttpProblem(
          409,
          'VIDEO_NOT_INDEXED',
          `video ${video.id} is ${video.status}: only indexed videos are streamed`,
        );
      const missing = () =>
        new HttpProblem(404, 'VIDEO_FILE_MISSING', `video ${video.id}: its file is no longer stored`);
      // Only what the record may point to (see @reel/workers video-source.ts), opened as a regular file.
      let source: ResolvedSource;
      try {
        source = await resolveSource(storage, {
          tenant: video.tenant,
          videoId: video.id,
          source: video.source ?? '',
          name: video.title,
        });
      } catch (error) {
        if (!isReelError(error)) throw error;
        if (error.code === SOURCE_NOT_ALLOWED)
          request.log.warn({ videoId: video.id, err: error.message }, 'refused to stream a video source');
        throw missing();
      }
      const file = source.kind === 'stored' ? await storedFile(source.key) : await serverFile(source.path);
      if (!file) throw missing();
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
      if (!body) throw missing();
      reply.header('content-type', file.contentType ?? 'application/octet-stream');
      if (file.etag) reply.header('etag', file.etag);
      if (file.lastModified) reply.header('last-modified', file.lastModified.toUTCString());
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

  /** A stored object (the data folder or a bucket), typed by reel's key. */
  async function storedFile(key: string): Promise<StreamableFile | undefined> {
    const info = await storage.stat(key);
    if (!info) return undefined;
    return {
      size: info.size,
      contentType: contentTypeOf(key),
      etag: info.etag,
      lastModified: info.lastModified,
      read: async (range) => (await storage.get(key, range ? { range } : {}))?.stream,
      close: async () => {},
    };
  }

  /** A server-side path, opened as a regular file: what is streamed is the file that was checked. */
  async function serverFile(file: string): Promise<StreamableFile | undefined> {
    const opened = await openRegularFile(file).catch(() => undefined);
    if (!opened) return undefined;
    return {
      size: opened.stats.size,
      contentType: contentTypeOf(file),
      etag: undefined,
      lastModified: opened.stats.mtime,
      read: async (range) =>
        opened.handle.createReadStream({
          start: range?.start ?? 0,
          ...(range ? { end: range.end } : {}),
          autoClose: true,
        }),
      close: () => opened.handle.close(),
    };
  }

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
      const video = await videoOf(request.principal.tenant, id);
      const fingerprint = search.fingerprint ?? video.fingerprint;
      const embeddings = fingerprint
        ? await pipeline.store.getEmbeddings(request.principal.tenant, id, fingerprint)
        : null;
      const thumbnail = embeddings?.thumbnails[n];
      if (!thumbnail)
        throw new HttpProblem(
          404,
          'THUMBNAIL_NOT_FOUND',
          embeddings
            ? `video ${id} has ${embeddings.thumbnails.length} frames; no frame ${n}`
            : `video ${id} has no frames yet`,
        );
      const key = thumbnailKey(thumbnail);
      if (storage.localPath(key) !== undefined)
        return reply.sendFile(thumbnail, config.paths.thumbnails, { cacheControl: true, maxAge: 3600_000 });
      const object = await storage.get(key);
      if (!object)
        throw new HttpProblem(
          404,
          'THUMBNAIL_NOT_FOUND',
          `video ${id}: frame ${n}'s thumbnail is no longer stored`,
        );
      objectHeaders(reply, object, 'image/webp');
      reply.header('cache-control', 'public, max-age=3600');
      reply.header('content-length', object.size);
      return reply.send(object.stream);
    },
  );
};
