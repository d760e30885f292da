import type { Command } from 'commander';
import { KeyStore, parseScopes, roleOf, SCOPES, type Scope } from '../../keys/key-store.ts';
import { type CliContext, UsageError } from '../context.ts';
import { formatTable, printJson } from '../output.ts';

function scopes(value: string): Scope[] {
  try {
    return parseScopes(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function registerKeys(program: Command, context: () => CliContext): void {
  const keys = program
    .command('keys')
    .description(
      'API keys: create (shown once; tenant keys, or --operator), list, revoke. Stored hashed in <data dir>/api-keys.json',
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ npx reel keys create --tenant acme --scopes search,ingest && npx reel keys list',
    );
  const store = () => new KeyStore(context().config.paths.apiKeys);

  keys
    .command('create')
    .description(
      'create an API key for a tenant, or (--operator) a key for what spans tenants; the key is printed once and never stored',
    )
    .option('--tenant <id>', 'the tenant whose videos the key reads and writes')
    .option(
      '--operator',
      "an operator key: the queues board, metrics, queue-wide reindexing and every tenant's keys; no tenant's videos",
    )
    .option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')} (tenant keys)`, scopes)
    .option('--name <text>', 'a note to recognise the key by')
    .option('--json', 'print the key and its entry as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ npx reel keys create --tenant acme --scopes search,ingest --name "web app"\n  $ npx reel keys create --operator --name prometheus',
    )
    .action(
      async (options: {
        tenant?: string;
        operator?: boolean;
        scopes?: Scope[];
        name?: string;
        json?: boolean;
      }) => {
        if ((options.tenant === undefined) === (options.operator !== true))
          throw new UsageError(
            'give exactly one of --tenant T (a tenant key) or --operator (an operator key)',
          );
        if (options.operator && options.scopes)
          throw new UsageError('--scopes is for tenant keys: an operator key has its role instead');
        let created: Awaited<ReturnType<KeyStore['create']>>;
        try {
          created = options.operator
            ? await store().createOperator(options.name ? { name: options.name } : {})
            : await store().create({
                tenant: options.tenant!,
                scopes: options.scopes ?? ['search'],
                ...(options.name ? { name: options.name } : {}),
              });
        } catch (error) {
          if ((error as { code?: string }).code === 'KEY_INVALID')
            throw new UsageError((error as Error).message);
          throw error;
        }
        const { hash: _hash, ...entry } = created.entry;
        const what = options.operator
          ? "operator key (what spans tenants: the queues board, metrics, queue-wide reindexing, every tenant's keys; no tenant's videos)"
          : `key for tenant ${entry.tenant} (${entry.scopes.join(', ')})`;
        if (options.json) printJson({ key: created.key, ...entry });
        else
          process.stdout.write(
            `${created.key}\n\n${entry.id}: ${what}. It is shown only now: store it safely.\nUse it as: Authorization: Bearer ${created.key}\n`,
          );
      },
    );

  keys
    .command('list')
    .description('list keys (ids, tenants, scopes; never the secrets)')
    .option('--json', 'print the entries as JSON')
    .addHelpText('after', '\nExample:\n  $ npx reel keys list\n  $ npx reel keys list --json')
    .action(async (options: { json?: boolean }) => {
      const entries = (await store().list()).map(({ hash: _hash, ...e }) => e);
      if (options.json) printJson(entries);
      else if (entries.length === 0)
        process.stdout.write('no API keys (the API serves one local tenant on 127.0.0.1)\n');
      else
        process.stdout.write(
          `${formatTable(
            ['id', 'role', 'tenant', 'scopes', 'name', 'created', 'revoked'],
            entries.map((e) => [
              e.id,
              roleOf(e),
              e.tenant,
              e.scopes.join(','),
              e.name ?? '',
              e.createdAt,
              e.revokedAt ?? '',
            ]),
          )}\n`,
        );
    });

  keys
    .command('revoke')
    .description('revoke a key by id; requests with it fail from then on')
    .argument('<id>', 'the key id (from keys list)')
    .option('--json', 'print {"id", "revoked": true, "activeLeft": N} as JSON')
    .addHelpText(
      'after',
      '\nAn id that is not in the store is bad usage (exit status 2).\n\nExample:\n  $ npx reel keys revoke 3f9a2c71d0e4',
    )
    .action(async (id: string, options: { json?: boolean }) => {
      const revoked = await store().revoke(id);
      if (!revoked) throw new UsageError(`no API key with id ${id} (see: npx reel keys list)`);
      if (options.json) printJson({ id, revoked: true, activeLeft: revoked.activeLeft });
      else
        process.stdout.write(
          revoked.activeLeft > 0
            ? `revoked ${id} (${revoked.activeLeft} key${revoked.activeLeft === 1 ? '' : 's'} still active)\n`
            : `revoked ${id}: it was the last active key, so the API now refuses every request (401) until a key is created (npx reel keys create --tenant T); it never falls back to keyless access\n`,
        );
    });
}
