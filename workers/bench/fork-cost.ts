/**
 * What starting a process costs from a worker that holds a model, spawned directly and through the
 * spawn host (ingest/src/adapters/spawn-host.ts). Loads the bench model (ViT-B/32-shaped, fp32, both
 * encoders, as a pipeline worker does), then runs `/bin/true` N times each way, alternating, and prints
 * CPU ms per spawn: this process (all threads), the direct children (reaped, from /proc/self/stat), and the
 * host with its children (from /proc/<host>/stat). Before the model loads, the direct way is measured
 * once as the bare baseline.
 *
 *   ./node_modules/.bin/node workers/bench/fork-cost.ts [N=40]
 */
import { readFileSync } from 'node:fs';
import { type RunningProcess, SpawnHost, startProcess } from '@reel/ingest';
import { ClipModel, createInferencePool } from '@reel/models';
import { benchModel } from './bench-model.ts';

const N = Number(process.argv[2] ?? 40);
const TICK_MS = 10; // USER_HZ 100

/** utime+stime of a process and cutime+cstime of its reaped children, ms. */
function statCpu(pid: number | 'self'): { own: number; children: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return {
    own: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
    children: (Number(fields[13]) + Number(fields[14])) * TICK_MS,
  };
}

async function once(run: RunningProcess): Promise<void> {
  run.onStdout(() => {});
  run.onStderr(() => {});
  await run.exited;
}

const host = new SpawnHost();
async function measure(way: 'direct' | 'host', n: number) {
  const cpu0 = process.cpuUsage();
  const self0 = statCpu('self');
  await once(host.spawn('/bin/true', [])); // the host runs before the counts start
  const host0 = statCpu(host.pid!);
  const started = performance.now();
  const t0 = process.cpuUsage(cpu0);
  for (let i = 0; i < n; i++)
    await once(
      way === 'host' ? host.spawn('/bin/true', []) : startProcess('/bin/true', [], { viaHost: false }),
    );
  const t1 = process.cpuUsage(cpu0);
  const self1 = statCpu('self');
  const host1 = statCpu(host.pid!);
  const parent = (t1.user + t1.system - t0.user - t0.system) / 1000 / n;
  const children = (self1.children - self0.children) / n;
  const hosted = (host1.own + host1.children - host0.own - host0.children) / n;
  return { way, parent, children, hosted, wall: (performance.now() - started) / n };
}

const rss = () => `${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`;
const show = (label: string, r: Awaited<ReturnType<typeof measure>>) =>
  console.log(
    `${label.padEnd(22)} ${r.way.padEnd(6)} this process ${r.parent.toFixed(1)} ms, direct children ${r.children.toFixed(1)} ms, host+its children ${r.hosted.toFixed(1)} ms = ${(r.parent + r.children + r.hosted).toFixed(1)} CPU ms per spawn (wall ${r.wall.toFixed(1)} ms)`,
  );

show(`bare (${rss()})`, await measure('direct', N));
const pool = createInferencePool({ size: 1, allowSpinning: false, threadsPerSession: 1 });
const model = await ClipModel.load(await benchModel(), { pool });
const frame = { width: 224, height: 224, timestamp: 0, data: new Uint8Array(224 * 224 * 3).fill(90) };
await model.encodeImages(Array.from({ length: 8 }, () => frame));
const label = `model loaded (${rss()})`;
const results: Awaited<ReturnType<typeof measure>>[] = [];
for (const way of ['direct', 'host', 'host', 'direct'] as const) results.push(await measure(way, N / 2));
for (const r of results) show(label, r);
const total = (way: string) =>
  results.filter((r) => r.way === way).reduce((sum, r) => sum + r.parent + r.children + r.hosted, 0) / 2;
console.log(
  `host ÷ direct, CPU per spawn with the model loaded: ${(total('host') / total('direct')).toFixed(3)}`,
);
await model.close();
await pool.close();
host.close();
