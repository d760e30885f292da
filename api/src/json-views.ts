/**
 * The JSON reel answers with, one shape per kind of answer, shared by the HTTP API and the CLI's
 * `--json`: the same field names, ISO 8601 dates and nulls for what is unknown, whichever door a
 * program reads reel through.
 */
import type { SearchResponse } from '@reel/index';
import type { BatchStatus } from '@reel/workers';
import { thumbnailUrl } from './http/schemas.ts';

/** A batch's progress and per-video outcomes (`GET /v1/batches/:id`, `reel status ID --json`). */
export function batchView(status: BatchStatus, id: string) {
  return {
    ...batchSummaryView(status, id),
    videos: status.videos.map((v) => ({
      videoId: v.videoId,
      name: v.name,
      status: v.status,
      ...(v.code ? { code: v.code } : {}),
      ...(v.message ? { message: v.message } : {}),
      ...(v.duplicateOf ? { duplicateOf: v.duplicateOf } : {}),
      ...(v.sampling ? { sampling: v.sampling } : {}),
      updatedAt: new Date(v.updatedAt).toISOString(),
    })),
  };
}

/** A batch without its per-video list (`GET /v1/batches`). */
export function batchSummaryView(status: Omit<BatchStatus, 'videos'>, id: string) {
  return {
    id,
    kind: status.kind ?? 'upload',
    createdAt: new Date(status.createdAt).toISOString(),
    finishedAt: status.finishedAt === undefined ? null : new Date(status.finishedAt).toISOString(),
    total: status.total,
    done: status.done,
    counts: status.counts,
    stages: status.stages,
    etaSeconds: status.etaSeconds ?? null,
  };
}

/** A page of search results (`POST|GET /v1/search`, `reel search --json`). */
export function searchView(response: SearchResponse) {
  return {
    results: response.results.map((r) => ({
      rank: r.rank,
      videoId: r.videoId,
      title: r.title,
      score: r.score,
      confidence: r.confidence,
      moment: {
        start: r.moment.start,
        end: r.moment.end,
        frameIndex: r.moment.frameIndex,
        thumbnailUrl: r.moment.thumbnail === null ? null : thumbnailUrl(r.videoId, r.moment.frameIndex),
        cue: r.moment.cue ?? null,
      },
      moments: r.moments.map((m) => ({
        start: m.start,
        end: m.end,
        frameIndex: m.frameIndex,
        thumbnailUrl: m.thumbnail === null ? null : thumbnailUrl(r.videoId, m.frameIndex),
        score: m.score,
        cue: m.cue ?? null,
      })),
      matchedBy: r.matchedBy,
      words: r.words,
      tags: r.tags,
      durationSeconds: r.duration,
      createdAt: r.createdAt.toISOString(),
      streamUrl: `/v1/videos/${encodeURIComponent(r.videoId)}/stream#t=${r.moment.start}`,
    })),
    noGoodMatch: response.noGoodMatch,
    matchConfidence: response.matchConfidence,
    warnings: response.warnings,
    nextCursor: response.nextCursor,
    fingerprint: response.fingerprint,
    pooling: response.pooling,
    mode: response.mode,
    timings: response.timings,
  };
}
