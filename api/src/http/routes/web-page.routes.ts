/**
 * The web page: `GET /` and its static files under `/web/` (api/web/: plain HTML, CSS and browser
 * JavaScript, no build step). Public like /docs: the page itself holds no data, and every API call it
 * makes carries the user's key when the server needs one.
 */
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const WEB_ROOT = path.resolve(import.meta.dirname, '../../../web');

/** Only the page's own files, media from the API (or blobs of it), and no framing by other sites. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const webPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  // ETag with max-age 0: a browser revalidates, so a new version of the page shows at once.
  await app.register(fastifyStatic, { root: WEB_ROOT, prefix: '/web/', index: false, maxAge: 0 });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
};
