/**
 * A video's caption tracks: listed, served as WebVTT (for a player's <track>, and anyone), attached
 * (a caption file sent later than its video) and removed. Their words are what `mode=words|hybrid`
 * searches; the service (`CaptionService`, @reel/workers) reads and stores them.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAX_CAPTION_BYTES } from '@reel/workers';
import { Type } from 'typebox';
import { reauthorize } from '../plugins/auth.ts';
import { HttpProblem } from '../problem.ts';
import { authErrors, CaptionTrackSchema, problemRef, VideoId } from '../schemas.ts';

const TrackId = Type.String({ minLength: 1, maxLength: 120, pattern: '^[A-Za-z0-9._-]+$' });

export const captionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const captions = app.deps.pipeline.captions;
  const idParams = Type.Object({ id: VideoId });
  const trackParams = Type.Object({ id: VideoId, trackId: TrackId });

  app.get(
    '/videos/:id/captions',
    {
      config: { scope: 'search' },
      schema: {
        summary: "A video's caption tracks: inside its file and attached, read or not (and why)",
        tags: ['captions'],
        params: idParams,
        response: {
          200: Type.Object({ tracks: Type.Array(CaptionTrackSchema) }),
          ...authErrors,
          404: problemRef,
        },
      },
    },
    async (request) => ({
      tracks: (await captions.tracks(request.principal.tenant, request.params.id)).map((t) => ({
        ...t,
        url: trackUrl(request.params.id, t.id, t.read),
      })),
    }),
  );

  app.get(
    '/videos/:id/captions/:trackId',
    {
      config: { scope: 'search' },
      schema: {
        summary: 'One caption track as WebVTT (text/vtt), for a player',
        tags: ['captions'],
        params: trackParams,
        produces: ['text/vtt'],
        response: { 200: Type.String({ description: 'WebVTT' }), ...authErrors, 404: problemRef },
      },
    },
    async (request, reply) => {
      const { id, trackId } = request.params;
      const vtt = await captions.webVtt(request.principal.tenant, id, trackId);
      reply.header('content-type', 'text/vtt; charset=utf-8');
      reply.header('cache-control', 'private, no-cache');
      return vtt;
    },
  );

  app.post(
    '/videos/:id/captions',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Attach a caption file (SRT, WebVTT, ASS/SSA; any common text encoding) to a video',
        description: `multipart/form-data: one \`file\` part (at most ${MAX_CAPTION_BYTES} bytes) and an optional \`language\` field (e.g. en, fra, pt-BR; else from a name like talk.fr.srt). The track's id is \`sidecar-<file name>\`: a file of the same name replaces it. Its cues are searchable at once.`,
        tags: ['captions'],
        consumes: ['multipart/form-data'],
        params: idParams,
        response: {
          201: CaptionTrackSchema,
          ...authErrors,
          404: problemRef,
          413: problemRef,
          415: problemRef,
          422: problemRef,
        },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart())
        throw new HttpProblem(415, 'NOT_MULTIPART', 'expected a multipart/form-data body with a file part');
      let language: string | undefined;
      let file: { name: string; bytes: Buffer } | undefined;
      for await (const part of request.parts({ limits: { fileSize: MAX_CAPTION_BYTES, files: 1 } })) {
        if (part.type === 'field') {
          if (part.fieldname !== 'language')
            throw new HttpProblem(
              400,
              'VALIDATION_FAILED',
              `field ${part.fieldname}: unknown (expected a file part and language)`,
            );
          language = String(part.value).trim() || undefined;
          continue;
        }
        const bytes = await part.toBuffer().catch((error: unknown) => {
          if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
            throw new HttpProblem(
              413,
              'CAPTIONS_TOO_LARGE',
              `${part.filename}: more than the ${MAX_CAPTION_BYTES}-byte limit of a caption file`,
            );
          throw error;
        });
        file = { name: part.filename || 'captions', bytes };
      }
      if (file === undefined)
        throw new HttpProblem(
          400,
          'NO_FILES',
          'the request carries no file part (send the caption file as "file")',
        );
      // Reading the body may have taken a while: a key revoked meanwhile attaches nothing.
      await reauthorize(app.deps.access, request);
      const track = await captions.attach(request.principal.tenant, request.params.id, {
        ...file,
        ...(language !== undefined ? { language } : {}),
      });
      reply.code(201);
      return { ...track, url: trackUrl(request.params.id, track.id, track.read) };
    },
  );

  app.delete(
    '/videos/:id/captions/:trackId',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Remove an attached caption track and its words (tracks inside the file stay)',
        tags: ['captions'],
        params: trackParams,
        response: { 204: Type.Null(), ...authErrors, 404: problemRef },
      },
    },
    async (request, reply) => {
      await reauthorize(app.deps.access, request);
      await captions.remove(request.principal.tenant, request.params.id, request.params.trackId);
      reply.code(204);
      return null;
    },
  );
};

/** Where a read track's WebVTT is; null for a track that was not read. */
export function trackUrl(videoId: string, trackId: string, read: boolean): string | null {
  return read ? `/v1/videos/${encodeURIComponent(videoId)}/captions/${encodeURIComponent(trackId)}` : null;
}
