/**
 * API keys through the API: a tenant admin lists, creates and revokes its own tenant's keys; an
 * operator key does the same for any tenant (`tenant` in the query or body). No route creates or
 * revokes an operator key: those are made and revoked on the server's command line only. A key of
 * another tenant is a 404, exactly like a key that does not exist. Secrets are shown once, at creation.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { type ApiKeyEntry, checkTenant, OPERATOR_TENANT, roleOf, SCOPES } from '../../keys/key-store.ts';
import { reauthorize } from '../plugins/auth.ts';
import { HttpProblem } from '../problem.ts';
import { authErrors, problemRef } from '../schemas.ts';

const TenantId = Type.String({ minLength: 1, maxLength: 64, description: 'Tenant id (operator keys only)' });

const KeySchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  scopes: Type.Array(Type.String()),
  name: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

function toKeyBody(entry: ApiKeyEntry): Static<typeof KeySchema> {
  return {
    id: entry.id,
    tenant: entry.tenant,
    scopes: entry.scopes,
    name: entry.name,
    createdAt: entry.createdAt,
    revokedAt: entry.revokedAt,
  };
}

export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { keys, access } = app.deps;

  /** The tenant a request acts on: the key's own, or (operator keys) the one named. */
  const tenantOf = (principal: { operator: boolean; tenant: string }, named: string | undefined) => {
    if (principal.operator && principal.tenant === '') return named;
    if (named !== undefined && named !== principal.tenant)
      throw new HttpProblem(
        403,
        'OPERATOR_REQUIRED',
        "only an operator key acts on another tenant's keys; leave out tenant to act on your own",
      );
    return principal.tenant;
  };

  app.get(
    '/keys',
    {
      config: { scope: 'admin', operator: 'allowed' },
      schema: {
        summary:
          "The tenant's API keys (an operator key: every tenant's, or one tenant's), never the secrets",
        tags: ['keys'],
        querystring: Type.Object({ tenant: Type.Optional(TenantId) }, { additionalProperties: false }),
        response: { 200: Type.Object({ keys: Type.Array(KeySchema) }), ...authErrors },
      },
    },
    async (request) => {
      const tenant = tenantOf(request.principal, request.query.tenant);
      const entries = (await keys.list()).filter(
        (e) => roleOf(e) === 'tenant' && (tenant === undefined || e.tenant === tenant),
      );
      return { keys: entries.map(toKeyBody) };
    },
  );

  app.post(
    '/keys',
    {
      config: { scope: 'admin', operator: 'allowed' },
      schema: {
        summary:
          'Create an API key for the tenant (an operator key: for the tenant named); the key is shown once',
        tags: ['keys'],
        body: Type.Object(
          {
            scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1, maxItems: 3 }),
            name: Type.Optional(Type.String({ maxLength: 200 })),
            tenant: Type.Optional(TenantId),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ key: Type.String({ description: 'Shown only now' }), entry: KeySchema }),
          ...authErrors,
        },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request.principal, request.body.tenant);
      if (tenant === undefined)
        throw new HttpProblem(400, 'VALIDATION_FAILED', 'body.tenant: an operator key names the tenant');
      try {
        checkTenant(tenant);
      } catch (error) {
        throw new HttpProblem(400, 'VALIDATION_FAILED', `body.${(error as Error).message}`);
      }
      // The caller's own key may have been revoked while this request waited: check it again.
      await reauthorize(access, request);
      const created = await keys.create({
        tenant,
        scopes: request.body.scopes,
        ...(request.body.name ? { name: request.body.name } : {}),
      });
      reply.code(201);
      return { key: created.key, entry: toKeyBody(created.entry) };
    },
  );

  app.delete(
    '/keys/:id',
    {
      config: { scope: 'admin', operator: 'allowed' },
      schema: {
        summary:
          "Revoke one of the tenant's keys (an operator key: any tenant's key); requests with it fail from then on",
        tags: ['keys'],
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: {
          200: Type.Object({ id: Type.String(), revoked: Type.Literal(true) }),
          ...authErrors,
          404: problemRef,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const tenant = tenantOf(request.principal, undefined);
      const entry = (await keys.list()).find((e) => e.id === id);
      // Operator keys are revoked on the command line only; another tenant's key does not exist here.
      if (
        !entry ||
        roleOf(entry) !== 'tenant' ||
        entry.tenant === OPERATOR_TENANT ||
        (tenant !== undefined && entry.tenant !== tenant)
      )
        throw new HttpProblem(404, 'KEY_NOT_FOUND', `no API key ${id}`);
      await reauthorize(access, request);
      await keys.revoke(id);
      return { id, revoked: true as const };
    },
  );
};
