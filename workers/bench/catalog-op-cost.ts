/**
 * What the catalogue's per-video operations cost in CPU on a LanceDB folder written the way the pipeline
 * writes it (one upsert per video and stage, no upkeep in between), and after upkeep (`optimize`): a
 * record read (`getVideo`), a status upsert (`upsertVideo`) and the caption-track listing
 * (`captionTracks`), the calls each video's three stages make (see handlers/video-stages.ts and
 * adapters/index-catalog.ts: `saveVideo` reads the record before it writes).
 *
 *   ./node_modules/.bin/node workers/bench/catalog-op-cost.ts [videos]
 *
 * CPU = process.cpuUsage() around each kind of call (the main thread and LanceDB's threads), per call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LanceIndexStore, type VideoRecord } from '@reel/index';

const videos = Number(process.argv[2] ?? 40);
const dir = mkdtempSync(path.join(tmpdir(), 'reel-catalog-op-cost-'));
const store = await LanceIndexStore.open({ dir });
const record = (i: number, status: VideoRecord['status']): VideoRecord => ({
  tenant: 'bench',
  id: `video-${i}`,
  title: `video ${i}`,
  tags: [],
  createdAt: new Date(1_700_000_000_000 + i),
  ingestedAt: null,
  durationSeconds: 30,
  source: `/videos/video-${i}.mp4`,
  sha256: i.toString(16).padStart(64, '0'),
  fingerprint: null,
  status,
  error: null,
  fileName: `video-${i}.mp4`,
});
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
async function perCall(what: string, calls: number, call: (i: number) => Promise<unknown>): Promise<void> {
  const before = cpuMs();
  for (let i = 0; i < calls; i++) await call(i);
  console.log(`  ${what}: ${((cpuMs() - before) / calls).toFixed(1)} ms CPU per call`);
}

try {
  for (let i = 0; i < videos; i++) await store.upsertVideo(record(i, 'queued'));
  for (const phase of ['as written (one fragment per upsert)', 'after upkeep (optimize)']) {
    if (phase.startsWith('after')) await store.optimize();
    console.log(`${videos} videos, ${phase}:`);
    await perCall('getVideo', 100, (i) => store.getVideo('bench', `video-${i % videos}`));
    await perCall('captionTracks', 100, (i) => store.captionTracks('bench', `video-${i % videos}`));
    await perCall('upsertVideo (a status change)', videos, (i) =>
      store.upsertVideo(record(i, phase.startsWith('after') ? 'indexed' : 'processing')),
    );
  }
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
