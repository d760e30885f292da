/**
 * Webhook endpoints of a tenant, managed by its admin: register (the signing secret shown once), list,
 * read, change (URL, events, enable after a disable), delete, and read each delivery's attempts. Another
 * tenant's endpoint is a 404, exactly like one that does not exist. What is delivered, how it is signed
 * and retried: workers/src/services/webhook.service.ts and api/README.md, "Webhooks".
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WEBHOOK_EVENTS } from '@reel/workers';
import { Type } from 'typebox';
import { reauthorize } from '../plugins/auth.ts';
import { requireRedis } from '../require-redis.ts';
import { authErrors, problemRef } from '../schemas.ts';

const EventName = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));
const Events = Type.Array(EventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length });
const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'http(s) URL the deliveries are POSTed to',
});

const EndpointSchema = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    description: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    enabled: Type.Boolean(),
    disabledReason: Type.Union([Type.String(), Type.Null()], {
      description: 'Why it was disabled: by reel after failing deliveries, or by a person',
    }),
    disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'WebhookEndpoint' },
);

const DeliverySchema = Type.Object({
  id: Type.String(),
  eventId: Type.String({
    description: 'The event id, sent as Reel-Webhook-Id: the same in every delivery of it',
  }),
  type: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  state: Type.Union(['pending', 'delivered', 'failed', 'skipped'].map((s) => Type.Literal(s))),
  reason: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      at: Type.String({ format: 'date-time' }),
      status: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status" }),
      error: Type.Union([Type.String(), Type.Null()]),
      durationMs: Type.Number(),
    }),
  ),
});

const idParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { pipeline, access } = app.deps;
  const webhooks = pipeline.webhooks;
  app.addSchema(EndpointSchema);
  const endpointRef = Type.Ref('WebhookEndpoint');

  app.post(
    '/webhooks',
    {
      config: { scope: 'admin' },
      preHandler: requireRedis,
      schema: {
        summary: 'Register a webhook endpoint; its signing secret is shown once, in this answer',
        tags: ['webhooks'],
        body: Type.Object(
          {
            url: Url,
            events: Events,
            secret: Type.Optional(
              Type.String({
                minLength: 16,
                maxLength: 200,
                description: 'Your own secret (default: one reel makes)',
              }),
            ),
            description: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            endpoint: endpointRef,
            secret: Type.String({ description: 'The HMAC-SHA256 key of Reel-Signature: shown only now' }),
          }),
          ...authErrors,
          409: problemRef,
          503: problemRef,
        },
      },
    },
    async (request, reply) => {
      await reauthorize(access, request);
      const created = await webhooks.register(request.principal.tenant, request.body);
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/webhooks',
    {
      config: { scope: 'admin' },
      preHandler: requireRedis,
      schema: {
        summary: "The tenant's webhook endpoints (never their secrets)",
        tags: ['webhooks'],
        response: {
          200: Type.Object({ endpoints: Type.Array(endpointRef) }),
          ...authErrors,
          503: problemRef,
        },
      },
    },
    async (request) => ({ endpoints: await webhooks.list(request.principal.tenant) }),
  );

  app.get(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      preHandler: requireRedis,
      schema: {
        summary: 'One webhook endpoint',
        tags: ['webhooks'],
        params: idParams,
        response: { 200: endpointRef, ...authErrors, 404: problemRef, 503: problemRef },
      },
    },
    async (request) => webhooks.get(request.principal.tenant, request.params.id),
  );

  app.patch(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      preHandler: requireRedis,
      schema: {
        summary:
          "Change an endpoint's URL, events or description, or enable it again (its failures forgotten) or disable it",
        tags: ['webhooks'],
        params: idParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            events: Type.Optional(Events),
            description: Type.Optional(Type.String({ maxLength: 500 })),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: endpointRef, ...authErrors, 404: problemRef, 503: problemRef },
      },
    },
    async (request) => {
      await reauthorize(access, request);
      return webhooks.update(request.principal.tenant, request.params.id, request.body);
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      preHandler: requireRedis,
      schema: {
        summary: 'Delete an endpoint; deliveries still queued for it are dropped',
        tags: ['webhooks'],
        params: idParams,
        response: { 204: Type.Null(), ...authErrors, 404: problemRef, 503: problemRef },
      },
    },
    async (request, reply) => {
      await reauthorize(access, request);
      await webhooks.remove(request.principal.tenant, request.params.id);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: { scope: 'admin' },
      preHandler: requireRedis,
      schema: {
        summary: "An endpoint's recent deliveries, newest first, each with every attempt (kept 7 days)",
        tags: ['webhooks'],
        params: idParams,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ deliveries: Type.Array(DeliverySchema) }),
          ...authErrors,
          404: problemRef,
          503: problemRef,
        },
      },
    },
    async (request) => ({
      deliveries: await webhooks.deliveries(
        request.principal.tenant,
        request.params.id,
        request.query.limit ?? 50,
      ),
    }),
  );
};
