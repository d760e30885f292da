import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger } from 'pino';

/**
 * Structured JSON logs (pino). Processes log to stdout; the CLI, whose stdout is its answer, logs to
 * stderr (pass `destination: 2`).
 */
export function createLogger(options: {
  level: LogLevel;
  name: string;
  destination?: number | DestinationStream;
}): Logger {
  const destination =
    typeof options.destination === 'number' || options.destination === undefined
      ? pino.destination({ fd: options.destination ?? 1, sync: true })
      : options.destination;
  return pino({ level: options.level, name: options.name, base: { pid: process.pid } }, destination);
}
