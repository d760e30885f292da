/**
 * Errors as RFC 9457 problem+json: `type`, `title`, `status`, `detail` (a message a person can act on)
 * and a stable `code` for programs (reel's own codes, ingest's and index's included: the error
 * catalogue in @reel/infra gives each its status). One error handler for the whole app, so every route
 * fails the same way.
 */
import { errorInfo, isReelError } from '@reel/infra';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable error code' }),
    detail: Type.String({ description: 'What went wrong and what to do about it' }),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

/** An error with an HTTP status, thrown by routes and plugins. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, detail: string) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `https://reel.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      code,
      detail,
      instance: reply.request.url,
    });
}

/**
 * Redis failing in the middle of a request: a cluster that lost a master (CLUSTERDOWN, or ioredis
 * giving up after its redirections), or a connection dropped mid-command. The connection's status can
 * still read "ready" then, so requireRedis does not catch it: it is the same outage, so the same 503.
 */
export function isRedisOutage(error: Error): boolean {
  return (
    error.name === 'ClusterAllFailedError' ||
    /^(CLUSTERDOWN|TRYAGAIN)\b|Too many Cluster redirections|^Connection is closed/.test(error.message)
  );
}

export function registerProblemHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof HttpProblem) return sendProblem(reply, error.status, error.code, error.message);
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      const where = fastifyError.validationContext ?? 'request';
      const detail = fastifyError.validation
        .map((v) => {
          const field = `${where}${v.instancePath ? v.instancePath.replaceAll('/', '.') : ''}`;
          const missing = (v.params as { missingProperty?: string }).missingProperty;
          return missing ? `${field}.${missing}: is required` : `${field}: ${v.message}`;
        })
        .join('; ');
      return sendProblem(reply, 400, 'VALIDATION_FAILED', detail);
    }
    if (isReelError(error)) {
      // The catalogue says what a code means for HTTP: the caller's input 4xx, a server fault 5xx.
      const status = errorInfo(error.code).http;
      if (status < 500) return sendProblem(reply, status, error.code, error.message);
      request.log.error({ err: error }, 'request failed');
      // A server fault's message may name its files and hosts: operators see it, tenants get the code.
      const detail = request.principal?.operator
        ? error.message
        : `the server cannot answer this now (${error.code}); its operator finds why in the server's log`;
      return sendProblem(reply, status, error.code, detail);
    }
    if (isRedisOutage(error)) {
      request.log.warn({ err: error }, 'Redis failed during the request');
      return sendProblem(
        reply,
        503,
        'REDIS_UNAVAILABLE',
        'Redis failed during the request: uploads, batches and reindexing wait for it; search still works',
      );
    }
    // The client went away mid-request (an upload cut off, or cut by the idle or request timeout):
    // nobody is left to answer, and it is not the server's fault.
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' && request.raw.destroyed) {
      request.log.info({ err: error.message }, 'the client went away during the request');
      return;
    }
    const status = fastifyError.statusCode;
    if (status === 429) return sendProblem(reply, 429, 'RATE_LIMITED', error.message);
    if (status === 413 || fastifyError.code === 'FST_REQ_FILE_TOO_LARGE')
      return sendProblem(reply, 413, 'TOO_LARGE', error.message);
    if (status !== undefined && status >= 400 && status < 500)
      return sendProblem(reply, status, fastifyError.code ?? 'BAD_REQUEST', error.message);
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL', 'the server failed to answer; the error is in its log');
  });
}
