/**
 * The fastify app: one encapsulated plugin per concern, every route with a JSON schema (TypeBox), from
 * which @fastify/swagger builds the OpenAPI document served at /docs. `buildApp` takes its dependencies
 * ready-made (see server.ts for the real ones), so tests can build the app around their own.
 */
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Logger, ReelConfig } from '@reel/infra';
import type { LiveSearch, Pipeline } from '@reel/workers';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { AccessPolicy } from '../keys/access-policy.ts';
import type { KeyStore } from '../keys/key-store.ts';
import { authPlugin } from './plugins/auth.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { queuesBoardPlugin } from './plugins/queues-board.ts';
import { ProblemSchema, registerProblemHandler } from './problem.ts';
import { adminRoutes } from './routes/admin.routes.ts';
import { batchRoutes } from './routes/batches.routes.ts';
import { captionRoutes } from './routes/captions.routes.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { keyRoutes } from './routes/keys.routes.ts';
import { searchRoutes } from './routes/search.routes.ts';
import { videoRoutes } from './routes/videos.routes.ts';
import { webPageRoutes } from './routes/web-page.routes.ts';
import { webhookRoutes } from './routes/webhooks.routes.ts';

export interface ApiDeps {
  config: ReelConfig;
  logger: Logger;
  pipeline: Pipeline;
  search: LiveSearch;
  keys: KeyStore;
  /** Who may call: keys, or the keyless local mode of a loopback server that never had one. */
  access: AccessPolicy;
}

export type ReelApp = FastifyInstance;

declare module 'fastify' {
  interface FastifyInstance {
    deps: ApiDeps;
  }
}

export async function buildApp(deps: ApiDeps): Promise<ReelApp> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Requests are measured in /metrics; logging each one would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    // Long uploads: the body streams to disk, so no body limit applies to multipart; JSON stays small.
    bodyLimit: 1024 * 1024,
    // A request must arrive whole within this, body included (408 past it), and a connection that
    // stays silent this long mid-request (a stalled upload) is closed: neither holds a socket forever.
    requestTimeout: deps.config.apiRequestTimeoutSeconds * 1000,
    connectionTimeout: deps.config.apiIdleTimeoutSeconds * 1000,
    // Node arms the request timeout only when it is given to http.createServer (fastify sets it on the
    // server afterwards, too late), and checks it on this interval (default 30 s).
    http: {
      requestTimeout: deps.config.apiRequestTimeoutSeconds * 1000,
      connectionsCheckingInterval: 1000,
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  });
  app.decorate('deps', deps);
  app.addSchema(ProblemSchema);
  registerProblemHandler(app);
  // Bodies are JSON or multipart: fastify's default text/plain parser would let a text body reach a
  // JSON route as a string (a 400 about its type) instead of a 415.
  app.removeContentTypeParser('text/plain');

  await app.register(fastifySwagger, {
    // Shared schemas are named by their $id in the spec (Video, Problem, …), not def-0, def-1: the
    // typed client (@reel/client) exports them by these names.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'reel',
        description:
          'Text-to-video search: upload batches of videos, search them by text, get the moment that matched.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description:
              "A tenant's key, reel_<id>_<secret>: acts on that tenant's videos only, with the scopes it was given (search, ingest, admin)",
          },
          operatorKey: {
            type: 'http',
            scheme: 'bearer',
            description:
              "An operator key (npx reel keys create --operator): what spans tenants (metrics, the queues board, queue-wide reindexing, any tenant's keys), never a tenant's videos",
          },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: deps.config.apiMaxUploadBytes,
      files: deps.config.apiMaxFiles,
      fields: 2 * deps.config.apiMaxFiles + 10,
      fieldSize: 64 * 1024,
      parts: 3 * deps.config.apiMaxFiles + 10,
      headerPairs: 200,
    },
  });
  await app.register(authPlugin, { access: deps.access });
  await app.register(fastifyRateLimit, {
    max: deps.config.apiRateLimit,
    timeWindow: 60_000,
    // After auth, so the limit is per key (per address for public routes and in keyless local mode).
    // Every route counts, /readyz and /metrics included; only liveness, which does no work and must
    // never fail a probe, is left out.
    hook: 'preHandler',
    keyGenerator: (request) => request.principal?.keyId ?? request.ip,
    allowList: (request) => request.routeOptions.url === '/healthz',
  });
  await app.register(metricsPlugin);
  await app.register(healthRoutes);
  await app.register(searchRoutes, { prefix: '/v1' });
  await app.register(videoRoutes, { prefix: '/v1' });
  await app.register(captionRoutes, { prefix: '/v1' });
  await app.register(batchRoutes, { prefix: '/v1' });
  await app.register(adminRoutes, { prefix: '/v1' });
  await app.register(keyRoutes, { prefix: '/v1' });
  await app.register(webhookRoutes, { prefix: '/v1' });
  await app.register(queuesBoardPlugin, { prefix: '/admin/queues' });
  await app.register(webPageRoutes);
  return app;
}
