/**
 * `npm test`: every package's tests through turbo, then one closing line with the totals
 * ("tests: N passed, N failed, N skipped") read from each package's vitest JSON report.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const workspaces = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces;
const reports = workspaces.map((ws) => path.join(root, ws, 'test-artifacts', 'vitest-report.json'));
for (const report of reports) rmSync(report, { force: true });

const turbo = spawnSync('turbo', ['run', 'test', '--concurrency=2', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const missing: string[] = [];
for (const [i, report] of reports.entries()) {
  if (!existsSync(report)) {
    missing.push(workspaces[i]!);
    continue;
  }
  const json = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  skipped += json.numPendingTests + json.numTodoTests;
}
if (missing.length > 0) console.log(`no test report from: ${missing.join(', ')}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
const status = turbo.status ?? 1;
process.exit(status !== 0 ? status : failed > 0 || missing.length > 0 || passed === 0 ? 1 : 0);
