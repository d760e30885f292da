/**
 * How much CPU the bare image encoder spends per frame alone, beside one ffmpeg decode on the other core,
 * and beside two (more threads than cores): the share of the pipeline's "encoder in the pipeline ÷ bare"
 * (decode-floor.bench.ts) that comes from the cores being shared rather than from the pipeline's code.
 *
 *   ./node_modules/.bin/node workers/bench/encoder-beside-decoding.ts [rounds]
 *
 * Needs the bench model and a realistic video (run `npm run bench -- decode-floor` once). Each round
 * measures 0, 1 and 2 decodes beside (in that order, then reversed on the next round), 96 frames each:
 * the bench's bare session (cpu-usage.ts's bareEncoder, one intra-op thread, no spinning, batch 8); the
 * decodes are `ffmpeg -threads 1 … -f null -` of the video, restarted until the measurement ends. Prints
 * one line per measurement and the median per count.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { bareEncoder } from './cpu-usage.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const VISION = path.join(ROOT, '.reel', 'bench-models', 'vit-b32-hf', 'onnx', 'vision_model.onnx');
const VIDEOS = path.join(ROOT, '.reel', 'bench-videos', 'realistic');

/** Starts `n` looping decodes of `video`; returns what stops them. */
function decodesBeside(n: number, video: string): () => void {
  const children: ChildProcess[] = [];
  let stopped = false;
  const start = () => {
    if (stopped) return;
    const child = spawn('ffmpeg', ['-v', 'error', '-threads', '1', '-i', video, '-f', 'null', '-'], {
      stdio: 'ignore',
    });
    children.push(child);
    child.on('close', start);
  };
  for (let i = 0; i < n; i++) start();
  return () => {
    stopped = true;
    for (const child of children) child.kill('SIGKILL');
  };
}

const video = existsSync(VIDEOS)
  ? readdirSync(VIDEOS)
      .filter((f) => f.startsWith('pan-grain-1280x720') && f.endsWith('.mp4'))
      .map((f) => path.join(VIDEOS, f))[0]
  : undefined;
if (!existsSync(VISION) || video === undefined) {
  console.error(
    `needs ${VISION} and a realistic 720p video in ${VIDEOS}: run npm run bench -- decode-floor once`,
  );
  process.exit(2);
}
const rounds = Number(process.argv[2] ?? 3);
const perFrame = new Map<number, number[]>([
  [0, []],
  [1, []],
  [2, []],
]);
for (let round = 0; round < rounds; round++) {
  for (const beside of round % 2 === 0 ? [0, 1, 2] : [2, 1, 0]) {
    const stop = decodesBeside(beside, video);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await bareEncoder(VISION, 96, { allowSpinning: false, intraOpNumThreads: 1 });
    stop();
    const ms = (run.cpuSeconds / run.frames) * 1000;
    perFrame.get(beside)!.push(ms);
    console.log(
      `round ${round + 1}, ${beside} decode(s) beside: ${ms.toFixed(1)} ms CPU per frame, ${((run.seconds / run.frames) * 1000).toFixed(1)} ms wall`,
    );
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const alone = median(perFrame.get(0)!);
for (const [beside, values] of perFrame) {
  console.log(
    `median, ${beside} decode(s) beside: ${median(values).toFixed(1)} ms CPU per frame (${(median(values) / alone).toFixed(2)}× alone)`,
  );
}
