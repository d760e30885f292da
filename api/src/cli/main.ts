/**
 * The `reel` command line: one commander program, every command registered here, one exit-status
 * policy (0 ok, 1 failure, 2 bad usage).
 */
import { Command, CommanderError } from 'commander';
import { registerDemo } from './commands/demo.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerEval } from './commands/eval.ts';
import { registerFrames } from './commands/frames.ts';
import { registerKeys } from './commands/keys.ts';
import { registerModels } from './commands/models.ts';
import { registerPipeline } from './commands/pipeline.ts';
import { registerSearch } from './commands/search.ts';
import { registerServe } from './commands/serve.ts';
import { registerTokenize } from './commands/tokenize.ts';
import { type CliContext, ExitCode, loadCliContext, UsageError } from './context.ts';
import { formatError } from './output.ts';

/** Commander exits the process on its own errors unless told otherwise, command by command. */
function overrideExits(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) overrideExits(sub);
}

export function buildProgram(context: () => CliContext): Command {
  const program = new Command('reel')
    .description('reel: search your videos by text and jump to the moment that matched')
    .showHelpAfterError('(run "reel --help" for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerDoctor(program, context);
  registerFrames(program, context);
  registerDemo(program, context);
  registerEval(program, context);
  registerModels(program, context);
  registerPipeline(program, context);
  registerSearch(program, context);
  registerServe(program, context);
  registerKeys(program, context);
  registerTokenize(program, context);
  overrideExits(program);
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
    process.stderr.write(`${formatError(error)}\n`);
    return ExitCode.failure;
  }
}
