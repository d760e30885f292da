/**
 * Deleting videos for real (Redis, BullMQ, ffmpeg, the synthetic model, LanceDB): rows, files and
 * claims go; a server-side source file stays; a delete wins over queued and running jobs; the same
 * content can be submitted again afterwards.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createLogger } from '@reel/infra';
import { ClipModel, createInferencePool } from '@reel/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipEmbedders } from '../src/adapters/clip-embedders.ts';
import { FrameSpool } from '../src/adapters/frame-spool.ts';
import { IngestSampler } from '../src/adapters/ingest-sampler.ts';
import type { BatchStatus } from '../src/batch-progress.ts';
import { embedFrames, indexVideo, ingestVideo } from '../src/handlers/video-stages.ts';
import { jobId, type VideoJobData } from '../src/jobs.ts';
import { openPipeline, type Pipeline, type RunningWorker, startPipelineWorker } from '../src/pipeline.ts';
import type { PipelineDeps } from '../src/pipeline-deps.ts';
import { hashFile, videoIdFor } from '../src/video-identity.ts';
import { colourVideo, type RealSetup, realSetup, until } from './helpers/real-pipeline.ts';

let setup: RealSetup;
let pipeline: Pipeline;
let worker: RunningWorker | undefined;
let server: Server;
let base: string;
const gate: { waiting?: ServerResponse; hits: number } = { hits: 0 };

async function finished(batchId: string): Promise<BatchStatus> {
  return until(`batch ${batchId}`, async () => {
    const status = await pipeline.service.status(batchId);
    return status?.finishedAt !== undefined ? status : undefined;
  });
}

/** Copies a file into tenant t's folder of the videos area, as an upload would be stored. */
function upload(file: string, name: string): string {
  const dir = path.join(setup.config.paths.videos, 't');
  mkdirSync(dir, { recursive: true });
  const stored = path.join(dir, name);
  copyFileSync(file, stored);
  return stored;
}

const claimKey = (videoId: string) => `${setup.config.queuePrefix}:reel:claim:${videoId}`;
const thumbnails = (videoId: string) => path.join(setup.config.paths.thumbnails, videoId);
const spool = (videoId: string) => path.join(setup.config.paths.tmp, 'spool', videoId);

let red: string;
beforeAll(async () => {
  setup = await realSetup({ REEL_DOWNLOAD_ALLOW_PRIVATE: 'true' }); // the test's server is on loopback
  red = colourVideo(setup.videos, 'red.mp4', 'red');
  server = createServer((req, res) => {
    if (req.url === '/gate.mp4') {
      gate.hits++;
      gate.waiting = res; // answered when the test opens the gate
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pipeline = await openPipeline(setup.config);
});

afterAll(async () => {
  gate.waiting?.destroy();
  server.closeAllConnections();
  server.close();
  await worker?.close(10_000);
  const keys = await pipeline.redis.keys(`${setup.config.queuePrefix}:*`);
  if (keys.length > 0) await pipeline.redis.del(...keys);
  await pipeline.close();
});

describe('deleting a video', () => {
  it('removes the jobs of a video still queued, and its batch still finishes', async () => {
    const model = await pipeline.searchModel();
    const stored = upload(colourVideo(setup.videos, 'queued.mp4', 'yellow'), 'queued.mp4');
    const submitted = await pipeline.service.submit({ tenant: 't', model, files: [{ path: stored }] });
    const id = submitted.videos[0]!.videoId!;
    expect(await pipeline.queues.ingest.getJob(jobId.ingest(id))).toBeDefined();

    expect(await pipeline.videos.delete('other', id)).toBe(false);
    expect(await pipeline.queues.ingest.getJob(jobId.ingest(id))).toBeDefined();
    expect(await pipeline.videos.delete('t', id)).toBe(true);
    expect(await pipeline.queues.ingest.getJob(jobId.ingest(id))).toBeUndefined();
    expect(await pipeline.queues.index.getJob(jobId.index(id, model.fingerprint))).toBeUndefined();
    expect(existsSync(stored)).toBe(false);
    expect(await pipeline.redis.exists(claimKey(id))).toBe(0);

    worker = await startPipelineWorker(setup.config, createLogger({ level: 'silent', name: 'test' }));
    const status = await finished(submitted.batchId);
    expect(status.videos[0]).toMatchObject({ status: 'failed', code: 'DELETED' });
    expect(await pipeline.store.getVideo('t', id)).toBeNull();
  });

  it('removes rows, thumbnails and the stored file, keeps a server-side file, and frees the content', async () => {
    const model = await pipeline.searchModel();
    const inside = upload(red, 'red.mp4');
    const outside = colourVideo(setup.videos, 'blue.mp4', 'blue');
    const submitted = await pipeline.service.submit({
      tenant: 't',
      model,
      files: [{ path: inside }, { path: outside }],
    });
    expect((await finished(submitted.batchId)).counts.indexed).toBe(2);
    const [redId, blueId] = submitted.videos.map((v) => v.videoId!) as [string, string];
    expect(existsSync(thumbnails(redId))).toBe(true);
    expect(await pipeline.redis.exists(claimKey(redId))).toBe(1);
    expect(await pipeline.store.countEmbeddings(model.fingerprint, 't')).toBe(2);

    expect(await pipeline.videos.delete('someone-else', redId)).toBe(false);
    expect(await pipeline.videos.delete('t', '../../etc')).toBe(false);
    expect(await pipeline.store.getVideo('t', redId)).not.toBeNull();

    expect(await pipeline.videos.delete('t', redId)).toBe(true);
    expect(await pipeline.store.getVideo('t', redId)).toBeNull();
    for (const fingerprint of await pipeline.store.fingerprints())
      expect(await pipeline.store.getEmbeddings('t', redId, fingerprint)).toBeNull();
    expect(await pipeline.store.countEmbeddings(model.fingerprint, 't')).toBe(1);
    expect(existsSync(thumbnails(redId))).toBe(false);
    expect(existsSync(spool(redId))).toBe(false);
    expect(existsSync(inside)).toBe(false);
    expect(await pipeline.redis.exists(claimKey(redId))).toBe(0);
    expect(await pipeline.videos.delete('t', redId)).toBe(false);

    // A file submitted by its server-side path is the user's: the video goes, the file stays.
    expect(await pipeline.videos.delete('t', blueId)).toBe(true);
    expect(await pipeline.store.getVideo('t', blueId)).toBeNull();
    expect(existsSync(outside)).toBe(true);

    // The same content again: a new video, indexed again (the tombstone is older than the new jobs).
    const again = await pipeline.service.submit({
      tenant: 't',
      model,
      files: [{ path: upload(red, 'red.mp4') }],
    });
    expect(again.videos[0]).toMatchObject({ status: 'queued', videoId: redId });
    expect((await finished(again.batchId)).videos[0]).toMatchObject({ status: 'indexed' });
    expect(await pipeline.store.getVideo('t', redId)).toMatchObject({ status: 'indexed' });
    expect(await pipeline.store.getEmbeddings('t', redId, model.fingerprint)).not.toBeNull();
    expect(existsSync(thumbnails(redId))).toBe(true);
  });

  it('wins over a job that is running: a URL video deleted mid-download is not brought back', async () => {
    const model = await pipeline.searchModel();
    const submitted = await pipeline.service.submitUrls({
      tenant: 'u',
      model,
      videos: [{ url: `${base}/gate.mp4` }],
    });
    const id = submitted.videos[0]!.videoId!;
    await until('the download to start', async () => (gate.waiting ? true : undefined));
    expect(await pipeline.videos.delete('u', id)).toBe(true);
    const body = readFileSync(red);
    gate.waiting!.writeHead(200, { 'content-length': body.length });
    gate.waiting!.end(body);
    gate.waiting = undefined;

    const status = await finished(submitted.batchId);
    expect(status.videos[0]).toMatchObject({ status: 'failed', code: 'DELETED' });
    expect(status.videos[0]!.message).toContain('deleted while it was being processed');
    expect(await pipeline.store.getVideo('u', id)).toBeNull();
    expect(existsSync(thumbnails(id))).toBe(false);
    expect(existsSync(path.join(setup.config.paths.videos, id))).toBe(false);
    expect(await pipeline.redis.exists(claimKey(id))).toBe(0);
    const contentId = videoIdFor('u', (await hashFile(red)).sha256);
    expect(await pipeline.redis.exists(claimKey(contentId))).toBe(0);
    expect(gate.hits).toBe(1);
  });

  it('undoes the index write of a job when the delete lands while it writes', async () => {
    const model = await pipeline.searchModel();
    const pool = createInferencePool({ size: 1 });
    const embedders = new ClipEmbedders(pool);
    const clip = await ClipModel.load(model.dir, { pool });
    const size = clip.preprocessor.width;
    await clip.close();
    const file = colourVideo(setup.videos, 'race.mp4', 'green');
    const hash = await hashFile(file);
    const data: VideoJobData = {
      batchId: 'race',
      videoId: videoIdFor('r', hash.sha256),
      tenant: 'r',
      name: 'race.mp4',
      model,
      submittedAt: 1,
    };
    // What a submit writes: the record the stages read the source from.
    await pipeline.catalog.saveVideo({
      videoId: data.videoId,
      tenant: 'r',
      title: 'race',
      tags: [],
      source: file,
      ...hash,
      status: 'queued',
    });
    let deletedDuringWrite: boolean | undefined;
    const deps: PipelineDeps = {
      progress: pipeline.progress,
      spool: new FrameSpool(path.join(setup.config.paths.tmp, 'spool')),
      sampler: new IngestSampler(setup.config, size),
      embedders,
      // The delete comes between the stage's two writes: after the vectors, before the "indexed" record.
      catalog: {
        saveVideo: (video) => pipeline.catalog.saveVideo(video),
        saveVideos: (videos) => pipeline.catalog.saveVideos(videos),
        deleteVideo: (tenant, videoId) => pipeline.catalog.deleteVideo(tenant, videoId),
        saveEmbeddings: async (embeddings) => {
          await pipeline.catalog.saveEmbeddings(embeddings);
          deletedDuringWrite = await pipeline.videos.delete('r', data.videoId);
        },
        getVideo: (tenant, videoId) => pipeline.catalog.getVideo(tenant, videoId),
        getVideos: (tenant, videoIds) => pipeline.catalog.getVideos(tenant, videoIds),
        embeddedIds: (tenant, videoIds, fingerprint) =>
          pipeline.catalog.embeddedIds(tenant, videoIds, fingerprint),
      },
      logger: createLogger({ level: 'silent', name: 'test' }),
      deleted: pipeline.videos,
    };
    const signal = new AbortController().signal;
    try {
      expect(await ingestVideo(data, deps, signal)).toHaveProperty('timestamps');
      expect(await embedFrames(data, deps, signal)).toHaveProperty('vectors');
      expect(existsSync(thumbnails(data.videoId))).toBe(true);
      expect(await indexVideo(data, deps, signal)).toEqual({ videoId: data.videoId, status: 'deleted' });
    } finally {
      await embedders.close();
      await pool.close();
    }
    expect(deletedDuringWrite).toBe(true);
    expect(await pipeline.store.getVideo('r', data.videoId)).toBeNull();
    expect(await pipeline.store.getEmbeddings('r', data.videoId, model.fingerprint)).toBeNull();
    expect(existsSync(thumbnails(data.videoId))).toBe(false);
    expect(existsSync(spool(data.videoId))).toBe(false);
    expect(existsSync(file)).toBe(true);
  });
});
