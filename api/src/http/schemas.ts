/**
 * JSON schemas shared by several routes (TypeBox: the same object validates requests, types the
 * handlers and documents the OpenAPI spec), and the conversions from index records to API shapes.
 */

import type { VideoFilters, VideoRecord } from '@reel/index';
import { isSamplingPrecision, SAMPLING_PRECISIONS, type SamplingPrecision } from '@reel/ingest';
import { clientBatchId, type SubmitBatchResult } from '@reel/workers';
import { type Static, Type } from 'typebox';
import { HttpProblem } from './problem.ts';

export const problemRef = Type.Ref('Problem');

/** Responses every authenticated route may give besides its own. */
export const authErrors = {
  400: problemRef,
  401: problemRef,
  403: problemRef,
  429: problemRef,
} as const;

/** Tags from a comma-separated form or query field: trimmed, empty ones dropped. */
export function splitTags(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/**
 * Filters in a query string: `tags` comma-separated or repeated (`?tags=a,b` or `?tags=a&tags=b`, all
 * must match), and the same date and duration bounds as a JSON body's `filters`.
 */
export function filterQuery() {
  return {
    tags: Type.Optional(
      Type.Array(Type.String({ maxLength: 1000 }), {
        maxItems: 20,
        description: 'Comma-separated or repeated; videos carrying all of them',
      }),
    ),
    createdAfter: FiltersSchema.properties.createdAfter,
    createdBefore: FiltersSchema.properties.createdBefore,
    minDuration: FiltersSchema.properties.minDuration,
    maxDuration: FiltersSchema.properties.maxDuration,
  };
}

/** The filters of a query string made by {@link filterQuery}, as a JSON body's `filters`. */
export function filtersFromQuery(query: {
  tags?: string[] | undefined;
  createdAfter?: string | undefined;
  createdBefore?: string | undefined;
  minDuration?: number | undefined;
  maxDuration?: number | undefined;
}): Filters {
  const tags = (query.tags ?? []).flatMap(splitTags).slice(0, 20);
  return {
    ...(tags.length > 0 ? { tags } : {}),
    ...(query.createdAfter !== undefined ? { createdAfter: query.createdAfter } : {}),
    ...(query.createdBefore !== undefined ? { createdBefore: query.createdBefore } : {}),
    ...(query.minDuration !== undefined ? { minDuration: query.minDuration } : {}),
    ...(query.maxDuration !== undefined ? { maxDuration: query.maxDuration } : {}),
  };
}

export const VideoId = Type.String({ minLength: 1, maxLength: 200, description: 'Video id' });

export const FiltersSchema = Type.Object(
  {
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: 20,
        description: 'Videos carrying all of these tags',
      }),
    ),
    createdAfter: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
    createdBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
    minDuration: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds, inclusive' })),
    maxDuration: Type.Optional(Type.Number({ minimum: 0, description: 'Seconds, inclusive' })),
  },
  { additionalProperties: false },
);
export type Filters = Static<typeof FiltersSchema>;

export function toVideoFilters(filters: Filters | undefined): VideoFilters {
  if (!filters) return {};
  const out: VideoFilters = {};
  if (filters.tags?.length) out.tags = filters.tags;
  if (filters.createdAfter || filters.createdBefore)
    out.createdAt = {
      ...(filters.createdAfter ? { from: new Date(filters.createdAfter) } : {}),
      ...(filters.createdBefore ? { to: new Date(filters.createdBefore) } : {}),
    };
  if (filters.minDuration !== undefined || filters.maxDuration !== undefined)
    out.durationSeconds = {
      ...(filters.minDuration !== undefined ? { min: filters.minDuration } : {}),
      ...(filters.maxDuration !== undefined ? { max: filters.maxDuration } : {}),
    };
  return out;
}

export const VideoSchema = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    tags: Type.Array(Type.String()),
    status: Type.String({ description: 'queued, processing, indexed or failed' }),
    createdAt: Type.String({ format: 'date-time' }),
    ingestedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    durationSeconds: Type.Union([Type.Number(), Type.Null()]),
    sha256: Type.String(),
    fingerprint: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
    streamUrl: Type.String(),
  },
  { $id: 'Video' },
);
export type VideoBody = Static<typeof VideoSchema>;

export function toVideoBody(video: VideoRecord): VideoBody {
  return {
    id: video.id,
    title: video.title,
    tags: video.tags,
    status: video.status,
    createdAt: video.createdAt.toISOString(),
    ingestedAt: video.ingestedAt ? video.ingestedAt.toISOString() : null,
    durationSeconds: video.durationSeconds,
    sha256: video.sha256,
    fingerprint: video.fingerprint,
    error: video.error ? { code: video.error.code, message: video.error.message } : null,
    streamUrl: `/v1/videos/${encodeURIComponent(video.id)}/stream`,
  };
}

export function thumbnailUrl(videoId: string, frameIndex: number): string {
  return `/v1/videos/${encodeURIComponent(videoId)}/frames/${frameIndex}/thumbnail`;
}

/** A caption track of a video, as listed. */
export const CaptionTrackSchema = Type.Object({
  id: Type.String({ description: 'embedded-<stream index> (inside the file) or sidecar-<file name>' }),
  source: Type.Union([Type.Literal('embedded'), Type.Literal('sidecar')]),
  codec: Type.String({ description: 'mov_text, subrip, webvtt, ass, …; srt, webvtt or ass for a file' }),
  language: Type.Union([Type.String(), Type.Null()]),
  label: Type.Union([Type.String(), Type.Null()]),
  read: Type.Boolean({ description: 'False for bitmap subtitles (PGS, DVB, DVD) and tracks that failed' }),
  cueCount: Type.Integer(),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  url: Type.Union([Type.String(), Type.Null()], { description: 'The track as WebVTT; null when not read' }),
});

export const SubmittedCaptionSchema = Type.Object({
  name: Type.String(),
  videoId: Type.Union([Type.String(), Type.Null()]),
  trackId: Type.Union([Type.String(), Type.Null()]),
  cues: Type.Integer({ description: 'Cues read; 0 when it could not be (code and message say why)' }),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

export const SubmittedVideoSchema = Type.Object({
  name: Type.String(),
  videoId: Type.Optional(Type.String()),
  status: Type.String({ description: 'queued, duplicate or failed' }),
  duplicateOf: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

/** A submit's sampling precision (see REEL_SAMPLING_PRECISION). */
export const SamplingPrecisionSchema = Type.Union(
  SAMPLING_PRECISIONS.map((p) => Type.Literal(p)),
  {
    description:
      'How precisely frames land on their targets: fast (decoder skips unreferenced frames and deblocking; at most one frame after exact), exact, or keyframes (nearest keyframe per target; falls back to fast when keyframes are too sparse). Default: REEL_SAMPLING_PRECISION.',
  },
);

/** A multipart form's `precision` field, checked as the JSON schema would. */
export function samplingPrecisionField(value: string): SamplingPrecision {
  const trimmed = value.trim();
  if (isSamplingPrecision(trimmed)) return trimmed;
  throw new HttpProblem(
    400,
    'VALIDATION_FAILED',
    `field precision: ${JSON.stringify(trimmed.slice(0, 40))} is not one of ${SAMPLING_PRECISIONS.join(', ')}`,
  );
}

export const BatchAcceptedSchema = Type.Object({
  batchId: Type.String(),
  statusUrl: Type.String(),
  existing: Type.Boolean({ description: 'True when this batch id was submitted before' }),
  videos: Type.Array(SubmittedVideoSchema),
  captions: Type.Optional(
    Type.Array(SubmittedCaptionSchema, {
      description:
        'Caption files of an upload (.srt, .vtt, .ass beside their videos), each attached or said why not',
    }),
  ),
});

/** A submit's answer as a tenant sees it: its batch by the id it knows (see @reel/workers batch-id). */
export function toAccepted(result: SubmitBatchResult) {
  const batchId = clientBatchId(result.batchId);
  return {
    batchId,
    statusUrl: `/v1/batches/${batchId}`,
    existing: result.existing,
    videos: result.videos,
    ...(result.captions ? { captions: result.captions } : {}),
  };
}
