/**
 * Who is calling, per request (see keys/access-policy.ts): every /v1 and /admin request needs
 * `Authorization: Bearer <key>`, and every route declares who may call it in `config`:
 *
 * - `scope: 'search' | 'ingest' | 'admin'`: a tenant key with that scope, acting on its own tenant only
 *   (every route reads `request.principal.tenant`: nothing crosses tenants). Operator keys are refused:
 *   they act on no tenant's videos.
 * - `operator: 'required'`: an operator key, for what spans tenants (metrics, the queues board).
 * - `scope` with `operator: 'allowed'`: either; the route tells them apart (`principal.operator`).
 *
 * Only a server started on loopback with no key ever created serves its one local tenant without keys
 * (that caller is the operator too). Routes with neither (health, docs, the page) are public.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AccessPolicy } from '../../keys/access-policy.ts';
import type { Principal, Scope } from '../../keys/key-store.ts';
import { HttpProblem } from '../problem.ts';

/** Who may call a route. */
export interface RouteAccess {
  scope?: Scope;
  operator?: 'required' | 'allowed';
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig extends RouteAccess {}
}

/** True when a route needs a key at all. */
export function isProtected(access: RouteAccess | undefined): boolean {
  return access?.scope !== undefined || access?.operator !== undefined;
}

/** Sets `request.principal`, or throws 401 (no or bad key) or 403 (a key of the wrong role or scope). */
export async function authorize(
  policy: AccessPolicy,
  request: FastifyRequest,
  access: RouteAccess,
): Promise<void> {
  const principal = await policy.principal(request.headers.authorization);
  request.principal = principal;
  if (access.operator === 'required') {
    if (!principal.operator)
      throw new HttpProblem(
        403,
        'OPERATOR_REQUIRED',
        'this route spans tenants and needs an operator key (create one on the server: npx reel keys create --operator)',
      );
    return;
  }
  if (access.scope === undefined) return;
  if (principal.operator && principal.tenant === '') {
    if (access.operator === 'allowed') return;
    throw new HttpProblem(
      403,
      'TENANT_KEY_REQUIRED',
      "an operator key acts on no tenant's videos: use a key of the tenant (npx reel keys create --tenant T)",
    );
  }
  if (!principal.scopes.includes(access.scope))
    throw new HttpProblem(
      403,
      'FORBIDDEN',
      `this API key lacks the "${access.scope}" scope (it has: ${principal.scopes.join(', ')})`,
    );
}

/**
 * Checks again that the request's key is still valid: for long requests (an upload that streamed for
 * minutes), right before they commit. A key revoked meanwhile fails the request with 401.
 */
export async function reauthorize(policy: AccessPolicy, request: FastifyRequest): Promise<void> {
  const again = await policy.principal(request.headers.authorization, { fresh: true });
  if (again.keyId !== request.principal.keyId || again.tenant !== request.principal.tenant)
    throw new HttpProblem(401, 'UNAUTHORIZED', 'the API key changed during the request');
}

/**
 * The OpenAPI security of a route, from the access it enforces: `apiKey` with the scope a tenant key
 * needs (OpenAPI 3.1 lets non-OAuth schemes list roles), `operatorKey`, both, or none for public routes.
 */
export function securityOf(access: RouteAccess | undefined): Record<string, string[]>[] {
  const tenant = access?.scope !== undefined ? [{ apiKey: [access.scope] }] : [];
  if (access?.operator === 'required') return [{ operatorKey: [] }];
  if (access?.operator === 'allowed') return [...tenant, { operatorKey: [] }];
  return tenant;
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: { access: AccessPolicy }) => {
    // The spec states what the hook below enforces, route by route, so the two cannot drift apart.
    app.addHook('onRoute', (route) => {
      const access = route.config as RouteAccess | undefined;
      route.schema ??= {};
      (route.schema as { security?: unknown }).security = securityOf(access);
    });
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config;
      if (isProtected(access)) await authorize(options.access, request, access);
    });
  },
  { name: 'reel-auth' },
);
