/**
 * The `reel` command line: one commander program, every command registered here, one exit-status
 * policy (0 ok, 1 failure, 2 bad usage).
 */
import { Command, CommanderError } from 'commander';
import { registerDoctor } from './commands/doctor.ts';
import { type CliContext, ExitCode, loadCliContext, UsageError } from './context.ts';

export function buildProgram(context: () => CliContext): Command {
  const program = new Command('reel')
    .description('reel: search your videos by text and jump to the moment that matched')
    .showHelpAfterError('(run "reel --help" for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerDoctor(program, context);
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let cached: CliContext | undefined;
  const program = buildProgram(() => {
    cached ??= loadCliContext();
    return cached;
  });
  if (argv.length <= 2) {
    process.stdout.write(program.helpInformation());
    return ExitCode.ok;
  }
  try {
    process.exitCode = undefined;
    await program.parseAsync(argv);
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return ExitCode.ok;
      }
      return ExitCode.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`reel: ${error.message}\n`);
      return ExitCode.usage;
    }
    process.stderr.write(`reel: ${(error as Error).message}\n`);
    return ExitCode.failure;
  }
}
