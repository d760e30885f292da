/**
 * `npm run bench [filter]`: runs every package's benchmarks (`<package>/bench/*.bench.ts`, each
 * default-exporting a Benchmark from @reel/infra), writes bench/results/<name>.json per report and
 * bench/results/SUMMARY.md with one table for all. Not run in CI: figures need an idle machine.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Benchmark, type BenchReport, withRatios } from '@reel/infra';

const root = path.resolve(import.meta.dirname, '..');
const filter = process.argv[2];
const workspaces = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces;
const files = workspaces.flatMap((ws) => {
  const dir = path.join(root, ws, 'bench');
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.bench.ts'))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
});

const outDir = path.join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, Node ${process.version}, load ${os.loadavg()[0]?.toFixed(2)}`;
const reports: BenchReport[] = [];

for (const file of files) {
  const bench = (await import(pathToFileURL(file).href)).default as Benchmark;
  if (filter && !bench.name.includes(filter)) continue;
  console.log(`\n▶ ${bench.name} (${path.relative(root, file)})`);
  const started = performance.now();
  for (const raw of await bench.run()) {
    const report = withRatios(raw);
    reports.push(report);
    writeFileSync(
      path.join(outDir, `${report.name}.json`),
      `${JSON.stringify({ ...report, machine, date: new Date().toISOString() }, null, 2)}\n`,
    );
    console.log(table(report));
  }
  console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function table(report: BenchReport): string {
  const lines = [
    `\n### ${report.name}${report.baseline ? ` (baseline: ${report.baseline})` : ''}\n`,
    '| case | value | unit | ratio |',
    '|---|---:|---|---:|',
    ...report.rows.map(
      (row) =>
        `| ${row.case} | ${row.value.toPrecision(4)} | ${row.unit} | ${row.ratio === undefined ? '' : `${row.ratio.toFixed(3)}×`} |`,
    ),
    ...(report.notes ?? []).map((note) => `\n- ${note}`),
  ];
  return lines.join('\n');
}

writeFileSync(
  path.join(outDir, 'SUMMARY.md'),
  `# Benchmarks\n\n${machine}, ${new Date().toISOString()}\n${reports.map(table).join('\n')}\n`,
);
console.log(`\n${reports.length} report(s) written to ${path.relative(root, outDir)}/`);
