/**
 * Who is calling. With API keys created, every /v1 and /admin request needs `Authorization: Bearer
 * <key>`, and routes declare the scope they need (`config: { scope: 'search' }`). With no keys, the API
 * serves one local tenant without keys, which the server only allows on a loopback address (see
 * server.ts). Every route reads `request.principal.tenant`: nothing crosses tenants.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type KeyStore, LOCAL_TENANT, type Principal, SCOPES, type Scope } from '../../keys/key-store.ts';
import { HttpProblem } from '../problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** Scope a route needs; routes without one (health, docs) are public. */
    scope?: Scope;
  }
}

const LOCAL: Principal = { tenant: LOCAL_TENANT, scopes: SCOPES, keyId: null };

async function principalOf(keys: KeyStore, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const active = await keys.active();
  if (active.length === 0) return LOCAL;
  if (!header)
    throw new HttpProblem(
      401,
      'UNAUTHORIZED',
      'this server needs an API key: send "Authorization: Bearer <key>"',
    );
  const [scheme, token] = header.split(' ');
  if (scheme?.toLowerCase() !== 'bearer' || !token)
    throw new HttpProblem(401, 'UNAUTHORIZED', 'expected "Authorization: Bearer <key>"');
  const principal = await keys.authenticate(token.trim());
  if (!principal)
    throw new HttpProblem(
      401,
      'UNAUTHORIZED',
      'unknown or revoked API key (create one with: npx reel keys create)',
    );
  return principal;
}

/** Sets `request.principal`, or throws 401 (no or bad key) or 403 (the key lacks `scope`). */
export async function authorize(keys: KeyStore, request: FastifyRequest, scope: Scope): Promise<void> {
  request.principal = await principalOf(keys, request);
  if (!request.principal.scopes.includes(scope))
    throw new HttpProblem(
      403,
      'FORBIDDEN',
      `this API key lacks the "${scope}" scope (it has: ${request.principal.scopes.join(', ')})`,
    );
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: { keys: KeyStore }) => {
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', async (request) => {
      const scope = request.routeOptions.config?.scope;
      if (scope !== undefined) await authorize(options.keys, request, scope);
    });
  },
  { name: 'reel-auth' },
);
