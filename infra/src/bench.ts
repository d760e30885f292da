/**
 * The shape every benchmark returns, so `npm run bench` can write one JSON file per benchmark and one
 * markdown table for all. Benchmarks live in `<package>/bench/*.bench.ts` and default-export a
 * {@link Benchmark}. Figures are reported against a baseline measured in the same run.
 */
export interface BenchRow {
  /** What was measured, e.g. "reel encoder, batch 8". */
  case: string;
  value: number;
  /** Unit of `value`, e.g. "images/s", "ms". */
  unit: string;
  /** value ÷ the baseline row's value (the baseline row itself has ratio 1). */
  ratio?: number;
}

export interface BenchReport {
  /** File-safe name: results go to bench/results/<name>.json. */
  name: string;
  /** Case name of the baseline row that ratios are relative to. */
  baseline?: string;
  rows: BenchRow[];
  /** Free-form facts: machine load, batch sizes, the goal and whether it was met. */
  notes?: string[];
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchReport[]> | BenchReport[];
}

/** Adds `ratio` to each row against the row named `baseline`. */
export function withRatios(report: BenchReport): BenchReport {
  const base = report.rows.find((row) => row.case === report.baseline);
  if (!base) return report;
  return { ...report, rows: report.rows.map((row) => ({ ...row, ratio: row.value / base.value })) };
}

/** The nearest-rank percentile (p in [0, 1]) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}
