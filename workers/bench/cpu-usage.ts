/**
 * CPU accounting of the workers benchmarks, from /proc (Linux), and the bare image encoder they compare
 * the pipeline's encoder with:
 *
 * - children (ffmpeg, ffprobe, the spawn host): `cutime + cstime` of /proc/self/stat (Node reaps every
 *   child it spawns, so a child's CPU shows there once it has exited), plus, for every live descendant
 *   (the spawn host and what it runs; a child still running), its `utime + stime + cutime + cstime`. So
 *   a window holds what its processes spent within it, however they were started.
 * - threads of this process: utime + stime of each /proc/self/task/<tid>/stat, grouped by thread name
 *   ({@link groupOf}). A thread that exits inside a window is missing from the second snapshot: its time
 *   shows as `unattributed` (the process total from `process.cpuUsage()` minus the threads seen).
 * - the rest of the machine: busy time of /proc/stat minus ours (other processes' load on shared cores).
 *
 * Used by ingest.bench.ts, decode-floor.bench.ts and pipeline-pass.ts (which runs in the baseline
 * worktree too: keep this file to APIs that @reel/models and onnxruntime-node had at commit 6acd0ab).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD, cpuSessionOptions } from '@reel/models';
import * as ort from 'onnxruntime-node';

/** The image encoder's batch: ClipEmbedders' default. */
export const BATCH = 8;

/** Seeded CLIP-normalised random pixels, [n, 3, 224, 224]. */
export function randomPixels(n: number, seed: number): Float32Array {
  const plane = 224 * 224;
  const data = new Float32Array(n * 3 * plane);
  let state = seed | 0;
  for (let i = 0; i < data.length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const channel = Math.floor(i / plane) % 3;
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 - CLIP_IMAGE_MEAN[channel]!) / CLIP_IMAGE_STD[channel]!;
  }
  return data;
}

/** Clock ticks per second of /proc's times. */
export const TICK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields of a /proc stat line after `(comm)`, which may itself hold spaces and parentheses. */
export function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

export interface CpuSnapshot {
  /** performance.now(), ms. */
  at: number;
  /** Every thread of this process, µs. */
  process: NodeJS.CpuUsage;
  /** Reaped children (ffmpeg, ffprobe): cutime + cstime, s. */
  children: number;
  /** Per live thread: name and utime + stime, s. */
  threads: Map<string, { name: string; seconds: number }>;
  /** Busy CPU-seconds of the whole machine, from /proc/stat. */
  machineBusy: number;
}

/** CPU seconds of this process's reaped children (ffmpeg, ffprobe) so far: cutime + cstime. */
export function reapedChildrenSeconds(): number {
  const own = statFields(readFileSync('/proc/self/stat', 'utf8'));
  return (Number(own[13]) + Number(own[14])) / TICK;
}

/** CPU seconds so far of the live processes below this one, each with its reaped children. */
function liveDescendantsSeconds(): number {
  const parentOf = new Map<number, number>();
  const spent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      parentOf.set(Number(entry), Number(fields[1]));
      spent.set(
        Number(entry),
        (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICK,
      );
    } catch {
      // Exited between the listing and the read.
    }
  }
  let seconds = 0;
  for (const [pid, cpu] of spent) {
    for (let up = parentOf.get(pid); up !== undefined && up > 1; up = parentOf.get(up)) {
      if (up === process.pid) {
        seconds += cpu;
        break;
      }
    }
  }
  return seconds;
}

export function snapshot(): CpuSnapshot {
  const own = statFields(readFileSync('/proc/self/stat', 'utf8'));
  // Fields 16, 17 (cutime, cstime) are at 13, 14 once fields 1-2 (pid, comm) are cut off.
  const children = (Number(own[13]) + Number(own[14])) / TICK + liveDescendantsSeconds();
  const threads = new Map<string, { name: string; seconds: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = statFields(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      threads.set(tid, { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICK });
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, _idle = 0, _iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
  return {
    at: performance.now(),
    process: process.cpuUsage(),
    children,
    threads,
    machineBusy: (user + nice + system + irq + softirq + steal) / TICK,
  };
}

/** Who spent CPU, by thread name; the stage each group works for is in the reports' row names. */
export type ThreadGroup = 'encoder' | 'main' | 'sharp' | 'lancedb' | 'v8' | 'other';

export function groupOf(name: string): ThreadGroup {
  if (name.startsWith('reel-inference')) return 'encoder';
  if (name === 'MainThread') return 'main';
  // sharp's work is queued on libuv's pool and runs in libvips' own threads.
  if (name === 'libuv-worker' || name.startsWith('libvips')) return 'sharp';
  // LanceDB's Rust runtime (tokio) and lance's CPU pool.
  if (name.startsWith('tokio') || name.startsWith('lance')) return 'lancedb';
  if (name === 'V8Worker' || name === 'DelayedTaskSche' || name === 'SignalInspector') return 'v8';
  return 'other';
}

export interface CpuWindow {
  wallSeconds: number;
  processSeconds: number;
  childrenSeconds: number;
  groups: Record<ThreadGroup, number>;
  /** Names of the threads in `other`, with their seconds. */
  otherNames: Map<string, number>;
  /** Process time of threads not alive at the end (exited inside the window). */
  unattributed: number;
  /** Busy CPU-seconds of everything else on the machine. */
  foreignSeconds: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuWindow {
  const processSeconds = (b.process.user + b.process.system - a.process.user - a.process.system) / 1e6;
  const childrenSeconds = b.children - a.children;
  const groups: Record<ThreadGroup, number> = { encoder: 0, main: 0, sharp: 0, lancedb: 0, v8: 0, other: 0 };
  const otherNames = new Map<string, number>();
  let seen = 0;
  for (const [tid, thread] of b.threads) {
    const delta = thread.seconds - (a.threads.get(tid)?.seconds ?? 0);
    const group = groupOf(thread.name);
    groups[group] += delta;
    if (group === 'other') otherNames.set(thread.name, (otherNames.get(thread.name) ?? 0) + delta);
    seen += delta;
  }
  const machineBusy = b.machineBusy - a.machineBusy;
  return {
    wallSeconds: (b.at - a.at) / 1000,
    processSeconds,
    childrenSeconds,
    groups,
    otherNames,
    // Clock ticks (10 ms) against µs: small negatives are rounding.
    unattributed: Math.max(0, processSeconds - seen),
    foreignSeconds: Math.max(0, machineBusy - processSeconds - childrenSeconds),
  };
}

export function addWindows(a: CpuWindow, b: CpuWindow): CpuWindow {
  const groups = { ...a.groups };
  for (const group of Object.keys(groups) as ThreadGroup[]) groups[group] += b.groups[group];
  const otherNames = new Map(a.otherNames);
  for (const [name, seconds] of b.otherNames) otherNames.set(name, (otherNames.get(name) ?? 0) + seconds);
  return {
    wallSeconds: a.wallSeconds + b.wallSeconds,
    processSeconds: a.processSeconds + b.processSeconds,
    childrenSeconds: a.childrenSeconds + b.childrenSeconds,
    groups,
    otherNames,
    unattributed: a.unattributed + b.unattributed,
    foreignSeconds: a.foreignSeconds + b.foreignSeconds,
  };
}

/** The bare encoder's share of the run: wall and CPU seconds. */
export interface EncoderRun {
  frames: number;
  seconds: number;
  /** This process's CPU (the session's threads, nearly all of it). */
  cpuSeconds: number;
  /** Other processes' CPU meanwhile. */
  foreignSeconds: number;
}

/**
 * `frames` frames through one bare onnxruntime session with the inference pool's options
 * (`cpuSessionOptions({ poolSize: 1 })`), in batches of {@link BATCH}, after a warm-up. `options` as the
 * pool's options of those names (default: onnxruntime's spinning threads, one per core).
 */
export async function bareEncoder(
  visionModel: string,
  frames: number,
  options: { allowSpinning?: boolean; intraOpNumThreads?: number } = {},
): Promise<EncoderRun> {
  const session = await ort.InferenceSession.create(
    visionModel,
    cpuSessionOptions({
      poolSize: 1,
      ...(options.allowSpinning === undefined ? {} : { allowSpinning: options.allowSpinning }),
      ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
    }),
  );
  // A few distinct batches, cycled: content does not change a dense network's cost, and 600 distinct
  // frames would be 360 MB of floats.
  const batches = [1, 2, 3].map(
    (seed) => new ort.Tensor('float32', randomPixels(BATCH, seed), [BATCH, 3, 224, 224]),
  );
  const feeds = (i: number, n: number) => {
    const batch = batches[i % batches.length]!;
    if (n === BATCH) return { pixel_values: batch };
    const data = (batch.data as Float32Array).subarray(0, n * 3 * 224 * 224);
    return { pixel_values: new ort.Tensor('float32', data, [n, 3, 224, 224]) };
  };
  await session.run(feeds(0, BATCH)); // warm-up, as the pipeline's model has run its load probe
  const before = snapshot();
  for (let done = 0, i = 0; done < frames; done += BATCH, i++)
    await session.run(feeds(i, Math.min(BATCH, frames - done)));
  const after = snapshot();
  await session.release();
  const cpu = cpuBetween(before, after);
  return {
    frames,
    seconds: cpu.wallSeconds,
    cpuSeconds: cpu.processSeconds,
    foreignSeconds: cpu.foreignSeconds,
  };
}
