export { type Benchmark, type BenchReport, type BenchRow, percentile, withRatios } from './bench.ts';
export { type ChildOutput, type ChildResult, childResult, collectOutput } from './child-output.ts';
export { configReference, type LogLevel, loadConfig, type ReelConfig } from './config.ts';
export {
  ERROR_CATALOGUE,
  type ErrorCode,
  type ErrorEntry,
  type ErrorFault,
  errorInfo,
  isInputFault,
} from './error-catalogue.ts';
export { isReelError, ReelError } from './errors.ts';
export { freePort } from './free-port.ts';
export { createLogger, type Logger } from './logger.ts';
export { type RetryOptions, type RetryPolicy, retrying } from './retry.ts';
export { withTimeout } from './with-timeout.ts';
