/**
 * The load generator of http-search.bench.ts, run as its own process so that autocannon's request and
 * response handling does not share the server's event loop (a real client is never inside the server).
 *
 * Usage: node api/bench/http-load-client.ts '<json LoadOptions>'. Prints one JSON line (LoadResult) on
 * stdout: every response time (ms, as autocannon measures it: request written → response complete),
 * the status counts, and the CPU this process used.
 */
import { createRequire } from 'node:module';

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Request paths, cycled in order by every connection. */
  paths: string[];
}

export interface LoadResult {
  /** Completed responses' times in ms, in completion order. */
  latencies: number[];
  /** Wall time of the run in seconds. */
  seconds: number;
  completed: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU time (user + system) of this client process during the run, ms. */
  clientCpuMs: number;
}

interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTime: number) => void,
  ): void;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: { method: 'GET'; path: string }[];
  timeout: number;
}) => AutocannonInstance;

// autocannon ships no types: the little of its API used here is declared above.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: options.paths.map((path) => ({ method: 'GET', path })),
    timeout: 30,
  });
  instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    latencies,
    seconds,
    completed: latencies.length,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]),
    ),
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

if (import.meta.main) {
  const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
  process.stdout.write(`${JSON.stringify(await runLoad(options))}\n`);
}
