import { type RunningWorker, startPipelineWorker } from '@reel/workers';
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

export function registerServe(program: Command, context: () => CliContext): void {
  program
    .command('serve')
    .description('run the HTTP API and the web page (REEL_API_HOST:REEL_API_PORT); OpenAPI docs at /docs')
    .option('--with-worker', 'also run a pipeline worker in this process (one-machine setups)')
    .addHelpText(
      'after',
      '\nWithout API keys the API listens on 127.0.0.1 only and serves one local tenant.\n\nExample:\n  $ npx reel serve --with-worker\n  $ REEL_API_HOST=0.0.0.0 npx reel serve   # needs a key: npx reel keys create --tenant acme --scopes search,ingest',
    )
    .action(async (options: { withWorker?: boolean }) => {
      const ctx = context();
      // Loaded here so other commands do not pay for fastify and its plugins.
      const { startServer } = await import('../../http/server.ts');
      const server = await startServer(ctx.config, ctx.logger);
      let worker: RunningWorker | undefined;
      if (options.withWorker) worker = await startPipelineWorker(ctx.config, ctx.logger);
      process.stderr.write(
        `reel is serving: web page ${server.url}/ · API ${server.url}/v1 · docs ${server.url}/docs\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stderr.write('stopping…\n');
      await server.close();
      await worker?.close();
    });
}
