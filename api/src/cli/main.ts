/**
 * The `reel` command line: one commander program, every command registered here, one exit-status
 * policy (0 ok, 1 failure, 2 bad usage). `reel` alone, or a group alone (`reel models`), lists its
 * commands on stdout and exits 0.
 */

import { readFileSync } from 'node:fs';
import { isInputFault, isReelError } from '@reel/infra';
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
import { registerWebhooks } from './commands/webhooks.ts';
import { type CliContext, ExitCode, loadCliContext, UsageError } from './context.ts';
import { formatError } from './output.ts';

/** The version of @reel/api, which `reel` ships in. */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Commander exits the process on its own errors unless told otherwise, command by command. */
function overrideExits(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) overrideExits(sub);
}

export function buildProgram(context: () => CliContext): Command {
  const program = new Command('reel')
    .description('reel: search your videos by text and jump to the moment that matched')
    .version(VERSION, '-V, --version', 'print the version')
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
  registerWebhooks(program, context);
  registerTokenize(program, context);
  overrideExits(program);
  return program;
}

/**
 * The command `args` name when they are nothing but command names ending at `reel` itself or at a group
 * (`reel`, `reel models`): such a call lists the commands on stdout and succeeds.
 */
function groupNamedBy(program: Command, args: string[]): Command | undefined {
  let command = program;
  for (const arg of args) {
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) return undefined;
    command = sub;
  }
  return command.commands.length > 0 ? command : undefined;
}

export async function main(argv: string[]): Promise<number> {
  let cached: CliContext | undefined;
  const program = buildProgram(() => {
    cached ??= loadCliContext();
    return cached;
  });
  const group = groupNamedBy(program, argv.slice(2));
  if (group) {
    group.outputHelp();
    return ExitCode.ok;
  }
  try {
    process.exitCode = undefined;
    await program.parseAsync(argv);
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      // 'commander.help' is the help commander shows for a group called without a subcommand; main()
      // answers a bare group itself above, so here the call was incomplete: bad usage, unlike --help.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      return ExitCode.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`reel: ${error.message}\n`);
      return ExitCode.usage;
    }
    process.stderr.write(`${formatError(error)}\n`);
    // The error catalogue says whose fault it is: the caller's input is bad usage (2), else failure (1).
    return isReelError(error) && isInputFault(error.code) ? ExitCode.usage : ExitCode.failure;
  }
}
