/**
 * Who is calling, per request (see keys/access-policy.ts): every /v1 and /admin request needs
 * `Authorization: Bearer <key>`, and routes declare the scope they need (`config: { scope: 'search' }`).
 * Only a server started on loopback with no key ever created serves its one local tenant without keys.
 * Every route reads `request.principal.tenant`: nothing crosses tenants.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AccessPolicy } from '../../keys/access-policy.ts';
import type { Principal, Scope } from '../../keys/key-store.ts';
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

/** Sets `request.principal`, or throws 401 (no or bad key) or 403 (the key lacks `scope`). */
export async function authorize(access: AccessPolicy, request: FastifyRequest, scope: Scope): Promise<void> {
  request.principal = await access.principal(request.headers.authorization);
  if (!request.principal.scopes.includes(scope))
    throw new HttpProblem(
      403,
      'FORBIDDEN',
      `this API key lacks the "${scope}" scope (it has: ${request.principal.scopes.join(', ')})`,
    );
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: { access: AccessPolicy }) => {
    app.decorateRequest('principal', null as unknown as Principal);
    app.addHook('onRequest', async (request) => {
      const scope = request.routeOptions.config?.scope;
      if (scope !== undefined) await authorize(options.access, request, scope);
    });
  },
  { name: 'reel-auth' },
);
