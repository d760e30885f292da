import { createLogger, isReelError, type Logger, loadConfig, type ReelConfig } from '@reel/infra';

/** Exit statuses of every reel command. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Thrown by commands for a bad invocation (wrong arguments, bad settings): exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliContext {
  config: ReelConfig;
  /** Logs go to stderr: stdout carries each command's answer. */
  logger: Logger;
}

/** Loads and validates config once per command; invalid settings are a usage error naming each variable. */
export function loadCliContext(env: Record<string, string | undefined> = process.env): CliContext {
  try {
    const config = loadConfig(env);
    return { config, logger: createLogger({ level: config.logLevel, name: 'reel', destination: 2 }) };
  } catch (error) {
    if (isReelError(error, 'CONFIG_INVALID')) throw new UsageError(error.message);
    throw error;
  }
}
