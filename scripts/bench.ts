/**
 * `npm run bench [filter]`: runs every package's benchmarks (`<package>/bench/*.bench.ts`, each
 * default-exporting a Benchmark from @reel/infra), or those whose name contains `filter`, each headed by
 * `[i/n]`; writes bench/results/<name>.json per report and bench/results/SUMMARY.md with one table for
 * all. Not run in CI: figures need an idle machine. Exit 2 when no benchmark matches the filter.
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

const benches: { bench: Benchmark; file: string }[] = [];
for (const file of files) {
  const bench = (await import(pathToFileURL(file).href)).default as Benchmark;
  if (!filter || bench.name.includes(filter)) benches.push({ bench, file });
}
if (benches.length === 0) {
  console.error(`no benchmark name contains "${filter}"`);
  process.exit(2);
}

// Benchmarks take minutes: "[i/n]" says which one runs and how many are left.
const runStarted = performance.now();
for (const [i, { bench, file }] of benches.entries()) {
  console.log(`\n▶ [${i + 1}/${benches.length}] ${bench.name} (${path.relative(root, file)})`);
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
  const left = benches.length - i - 1;
  console.log(
    `  (${seconds(performance.now() - started)}; ${left === 0 ? 'all done' : `${left} left`}, ${seconds(performance.now() - runStarted)} so far)`,
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
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
