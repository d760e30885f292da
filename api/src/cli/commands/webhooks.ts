import { openPipeline, type Pipeline, WEBHOOK_EVENTS } from '@reel/workers';
import type { Command } from 'commander';
import { type CliContext, UsageError } from '../context.ts';
import { needRedis } from '../need-redis.ts';
import { formatTable, printJson } from '../output.ts';

function events(value: string): string[] {
  const list = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const unknown = list.filter((e) => !WEBHOOK_EVENTS.includes(e as (typeof WEBHOOK_EVENTS)[number]));
  if (list.length === 0 || unknown.length > 0)
    throw new UsageError(
      `--events: ${unknown.length ? `${unknown.join(', ')} unknown; ` : ''}expected a comma-separated list of ${WEBHOOK_EVENTS.join(', ')}`,
    );
  return list;
}

/**
 * `reel webhooks`: a tenant's webhook endpoints on the server's machine (Redis), as its admin manages
 * them through `/v1/webhooks`: add (the secret printed once), list, enable, disable, remove, deliveries.
 */
export function registerWebhooks(program: Command, context: () => CliContext): void {
  const webhooks = program
    .command('webhooks')
    .description(
      "a tenant's webhook endpoints: add (the signing secret printed once), list, enable, disable, remove, deliveries",
    )
    .addHelpText(
      'after',
      `\nEvents: ${WEBHOOK_EVENTS.join(', ')}\n\nExample:\n  $ npx reel webhooks add --tenant acme --url https://hooks.acme.example/reel --events batch.finished,video.failed\n  $ npx reel webhooks list --tenant acme`,
    );

  async function withWebhooks<T>(
    what: string,
    run: (webhooks: Pipeline['webhooks']) => Promise<T>,
  ): Promise<T> {
    const ctx = context();
    await needRedis(ctx.config, what);
    const pipeline = await openPipeline(ctx.config, ctx.logger);
    try {
      return await run(pipeline.webhooks);
    } finally {
      await pipeline.close();
    }
  }

  webhooks
    .command('add')
    .description('register an endpoint; prints its signing secret once')
    .requiredOption('--tenant <id>', 'the tenant whose events it receives')
    .requiredOption('--url <url>', 'http(s) URL the deliveries are POSTed to')
    .requiredOption('--events <list>', `comma-separated: ${WEBHOOK_EVENTS.join(', ')}`, events)
    .option('--secret <text>', 'your own signing secret (16 characters or more; default: one reel makes)')
    .option('--description <text>', 'a note to recognise it by')
    .option('--json', 'print the endpoint and secret as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ npx reel webhooks add --tenant acme --url https://hooks.acme.example/reel --events batch.finished,video.indexed,video.failed',
    )
    .action(
      async (options: {
        tenant: string;
        url: string;
        events: string[];
        secret?: string;
        description?: string;
        json?: boolean;
      }) => {
        const created = await withWebhooks('reel webhooks add', (w) =>
          w.register(options.tenant, {
            url: options.url,
            events: options.events,
            ...(options.secret ? { secret: options.secret } : {}),
            ...(options.description ? { description: options.description } : {}),
          }),
        );
        if (options.json) printJson(created);
        else
          process.stdout.write(
            `${created.secret}\n\n${created.endpoint.id}: ${created.endpoint.url} (${created.endpoint.events.join(', ')}). The secret is shown only now: verify Reel-Signature with it (api/README.md, "Webhooks").\n`,
          );
      },
    );

  webhooks
    .command('list')
    .description("a tenant's endpoints (never their secrets)")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ npx reel webhooks list --tenant acme')
    .action(async (options: { tenant: string; json?: boolean }) => {
      const endpoints = await withWebhooks('reel webhooks list', (w) => w.list(options.tenant));
      if (options.json) return printJson({ endpoints });
      if (endpoints.length === 0)
        return void process.stdout.write(`tenant ${options.tenant} has no webhook endpoints\n`);
      process.stdout.write(
        `${formatTable(
          ['id', 'url', 'events', 'state'],
          endpoints.map((e) => [
            e.id,
            e.url,
            e.events.join(','),
            e.enabled ? 'enabled' : `disabled: ${e.disabledReason}`,
          ]),
        )}\n`,
      );
    });

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    webhooks
      .command(`${name} <id>`)
      .description(
        enabled ? 'enable an endpoint again (its failures forgotten)' : 'stop deliveries to an endpoint',
      )
      .requiredOption('--tenant <id>', 'the tenant')
      .option('--json', 'print the endpoint as JSON')
      .addHelpText('after', `\nExample:\n  $ npx reel webhooks ${name} wh_0123456789abcdef --tenant acme`)
      .action(async (id: string, options: { tenant: string; json?: boolean }) => {
        const endpoint = await withWebhooks(`reel webhooks ${name}`, (w) =>
          w.update(options.tenant, id, { enabled }),
        );
        if (options.json) printJson(endpoint);
        else process.stdout.write(`${endpoint.id}: ${endpoint.enabled ? 'enabled' : 'disabled'}\n`);
      });

  webhooks
    .command('remove <id>')
    .description('delete an endpoint; deliveries still queued for it are dropped')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print {id, removed} as JSON')
    .addHelpText('after', '\nExample:\n  $ npx reel webhooks remove wh_0123456789abcdef --tenant acme')
    .action(async (id: string, options: { tenant: string; json?: boolean }) => {
      await withWebhooks('reel webhooks remove', (w) => w.remove(options.tenant, id));
      if (options.json) printJson({ id, removed: true });
      else process.stdout.write(`${id}: removed\n`);
    });

  webhooks
    .command('deliveries <id>')
    .description("an endpoint's recent deliveries, newest first, with each attempt")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ npx reel webhooks deliveries wh_0123456789abcdef --tenant acme')
    .action(async (id: string, options: { tenant: string; json?: boolean }) => {
      const deliveries = await withWebhooks('reel webhooks deliveries', (w) =>
        w.deliveries(options.tenant, id),
      );
      if (options.json) return printJson({ deliveries });
      if (deliveries.length === 0) return void process.stdout.write(`${id}: no deliveries yet\n`);
      process.stdout.write(
        `${formatTable(
          ['created', 'event', 'state', 'attempts'],
          deliveries.map((d) => [
            d.createdAt,
            d.eventId,
            d.state,
            d.attempts.map((a) => (a.status === null ? (a.error ?? '?') : String(a.status))).join(', ') ||
              '–',
          ]),
        )}\n`,
      );
    });
}
