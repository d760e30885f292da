import type { Command } from 'commander';
import { type CheckResult, runChecks } from '../../doctor/checks.ts';
import { type CliContext, ExitCode } from '../context.ts';

/** One line per check; a failure is followed by its fix, indented. */
export function formatChecks(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => {
      const line = `${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(width)}  ${r.detail}`;
      return r.ok || !r.fix ? line : `${line}\n     ${' '.repeat(width)}  fix: ${r.fix}`;
    })
    .join('\n');
}

export function registerDoctor(program: Command, context: () => CliContext): void {
  program
    .command('doctor')
    .description('check that this machine can run reel: Node, ffmpeg, Redis, data folder, model, onnxruntime')
    .option('--json', 'print the checks as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ npx reel doctor\n  $ REEL_REDIS_URL=redis://cache:6379 npx reel doctor --json',
    )
    .action(async (options: { json?: boolean }) => {
      const { config } = context();
      const results = await runChecks(config);
      const failed = results.filter((r) => !r.ok).length;
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ok: failed === 0, checks: results }, null, 2)}\n`);
      } else {
        process.stdout.write(`${formatChecks(results)}\n`);
        process.stdout.write(failed === 0 ? 'All checks passed.\n' : `${failed} check(s) failed.\n`);
      }
      process.exitCode = failed === 0 ? ExitCode.ok : ExitCode.failure;
    });
}
