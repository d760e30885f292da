/**
 * The pipeline's catalog over @reel/index's LanceDB store: video records, and embeddings turned into
 * what ranking needs (compact frames, mean vector, Gram matrix, X-Pool terms when a head is set).
 */
import {
  buildVideoEmbeddings,
  type CaptionTrackInfo,
  type IndexStore,
  type StoredCue,
  type VideoRecord,
  videoKey,
  type XPoolHead,
} from '@reel/index';
import type { CatalogEmbeddings, CatalogVideo, VideoCatalog } from '../pipeline-deps.ts';
import type { CaptionIndex, CaptionTrackCues } from '../services/caption.service.ts';
import type { KnownVideo, ReindexIndex } from '../services/reindex.service.ts';
import type { VideoIndex } from '../services/video.service.ts';

function toRecord(video: CatalogVideo, previous: VideoRecord | null): VideoRecord {
  const indexed = video.status === 'indexed';
  return {
    tenant: video.tenant,
    id: video.videoId,
    title: video.title,
    tags: video.tags,
    createdAt: previous?.createdAt ?? new Date(),
    ingestedAt: indexed ? new Date() : (previous?.ingestedAt ?? null),
    durationSeconds: video.durationSeconds ?? previous?.durationSeconds ?? null,
    source: video.source,
    sha256: video.sha256,
    fingerprint: video.fingerprint ?? previous?.fingerprint ?? null,
    status: video.status,
    error: video.status === 'failed' ? (video.error ?? null) : null,
    fileName: video.fileName ?? previous?.fileName ?? null,
  };
}

function toCatalogVideo(record: VideoRecord): CatalogVideo {
  return {
    videoId: record.id,
    tenant: record.tenant,
    title: record.title,
    tags: record.tags,
    source: record.source ?? '',
    ...(record.fileName ? { fileName: record.fileName } : {}),
    sha256: record.sha256,
    sizeBytes: 0,
    status: record.status,
    ...(record.fingerprint ? { fingerprint: record.fingerprint } : {}),
    ...(record.durationSeconds === null ? {} : { durationSeconds: record.durationSeconds }),
    ...(record.error ? { error: record.error } : {}),
  };
}

export class IndexCatalog implements VideoCatalog, ReindexIndex, VideoIndex, CaptionIndex {
  readonly #store: IndexStore;
  readonly #head: XPoolHead | undefined;

  constructor(store: IndexStore, options: { xpoolHead?: XPoolHead } = {}) {
    this.#store = store;
    this.#head = options.xpoolHead;
  }

  /**
   * A stage's write: status, duration, model, error. The title and tags stay as stored, so a person's
   * edit (editLabels) made while the video is processed is not undone by a stage holding an older copy.
   */
  async saveVideo(video: CatalogVideo): Promise<void> {
    const previous = await this.#store.getVideo(video.tenant, video.videoId);
    const record = toRecord(video, previous);
    if (previous) {
      record.title = previous.title;
      record.tags = previous.tags;
    }
    await this.#store.upsertVideo(record);
  }

  /** A person's edit of a video's title and tags; false when the tenant has no such video. */
  async editLabels(
    tenant: string,
    videoId: string,
    labels: { title?: string; tags?: string[] },
  ): Promise<VideoRecord | null> {
    const previous = await this.#store.getVideo(tenant, videoId);
    if (!previous) return null;
    const record: VideoRecord = {
      ...previous,
      ...(labels.title !== undefined ? { title: labels.title } : {}),
      ...(labels.tags !== undefined ? { tags: labels.tags } : {}),
    };
    await this.#store.upsertVideo(record);
    return record;
  }

  async captionTracks(tenant: string, videoId: string): Promise<CaptionTrackInfo[] | null> {
    if (!(await this.#store.getVideo(tenant, videoId))) return null;
    return this.#store.captionTracks(tenant, videoId);
  }

  /**
   * One write of the words index: each track's listing and cues (a track is rows of its own, so an
   * ingest and an upload writing different tracks of a video at once never undo each other), and the
   * tracks `drop` selects removed.
   */
  async saveCaptionTracks(
    tenant: string,
    videoId: string,
    tracks: readonly CaptionTrackCues[],
    drop: (track: CaptionTrackInfo) => boolean = () => false,
  ): Promise<CaptionTrackInfo[] | null> {
    const stored = await this.captionTracks(tenant, videoId);
    if (stored === null) return null;
    const written = new Set(tracks.map((t) => t.info.id));
    const dropped = stored.filter((t) => drop(t) && !written.has(t.id));
    await this.#store.replaceCues(tenant, videoId, [
      ...dropped.map((t) => ({ trackId: t.id, cues: [] })),
      ...tracks.map((t) => ({ trackId: t.info.id, cues: t.cues, info: t.info })),
    ]);
    return [
      ...stored.filter((t) => !written.has(t.id) && !dropped.includes(t)),
      ...tracks.map((t) => t.info),
    ];
  }

  /** After a batch: new words join the full-text index once enough are outside it (see the store). */
  refreshWords(): Promise<{ unindexed: number; optimized: boolean }> {
    return this.#store.refreshWordsIndex();
  }

  trackCues(tenant: string, videoId: string, trackId: string): Promise<StoredCue[] | null> {
    return this.#store.trackCues(tenant, videoId, trackId);
  }

  async video(tenant: string, videoId: string): Promise<KnownVideo | undefined> {
    const record = await this.#store.getVideo(tenant, videoId);
    return record
      ? { tenant, id: record.id, title: record.title, status: record.status, error: record.error }
      : undefined;
  }

  async saveVideos(videos: readonly CatalogVideo[]): Promise<void> {
    if (videos.length === 0) return;
    const records = await Promise.all(
      videos.map(async (video) => toRecord(video, await this.#store.getVideo(video.tenant, video.videoId))),
    );
    await this.#store.upsertVideos(records);
  }

  async saveEmbeddings(embeddings: CatalogEmbeddings): Promise<void> {
    const frameCount = embeddings.timestamps.length;
    const built = buildVideoEmbeddings({
      tenant: embeddings.tenant,
      videoId: embeddings.videoId,
      fingerprint: embeddings.fingerprint,
      frames: embeddings.vectors,
      frameCount,
      dim: embeddings.dim,
      timestamps: embeddings.timestamps,
      thumbnails: embeddings.thumbnails,
      ...(this.#head && this.#head.dim === embeddings.dim ? { xpoolHead: this.#head } : {}),
    });
    await this.#store.upsertEmbeddings(built);
  }

  async getVideo(tenant: string, videoId: string): Promise<CatalogVideo | undefined> {
    const record = await this.#store.getVideo(tenant, videoId);
    return record ? toCatalogVideo(record) : undefined;
  }

  async getVideos(tenant: string, videoIds: readonly string[]): Promise<Map<string, CatalogVideo>> {
    const records = await this.#store.getVideos(tenant, videoIds);
    return new Map([...records].map(([id, record]) => [id, toCatalogVideo(record)]));
  }

  async embeddedIds(tenant: string, videoIds: readonly string[], fingerprint: string): Promise<Set<string>> {
    const keys = await this.#store.embeddedVideos(
      fingerprint,
      videoIds.map((id) => ({ tenant, id })),
    );
    return new Set(videoIds.filter((id) => keys.has(videoKey(tenant, id))));
  }

  async deleteVideo(tenant: string, videoId: string): Promise<boolean> {
    return this.#store.deleteVideo(tenant, videoId);
  }

  async modelFingerprints(): Promise<string[]> {
    return this.#store.fingerprints();
  }

  async *scan(statuses: KnownVideo['status'][]): AsyncGenerator<KnownVideo[]> {
    yield* this.#store.scanVideos(statuses);
  }

  async withoutEmbeddings(fingerprint: string, videos: readonly KnownVideo[]): Promise<KnownVideo[]> {
    if (videos.length === 0) return [];
    const embedded = await this.#store.embeddedVideos(fingerprint, videos);
    return videos.filter((v) => !embedded.has(videoKey(v.tenant, v.id)));
  }

  async dropModel(fingerprint: string): Promise<void> {
    await this.#store.dropModel(fingerprint);
  }

  async upkeep(): Promise<unknown> {
    return this.#store.optimize();
  }
}
