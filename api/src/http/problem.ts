/**
 * Errors as RFC 9457 problem+json: `type`, `title`, `status`, `detail` (a message a person can act on)
 * and a stable `code` for programs (reel's own codes, ingest's and index's included: the error
 * catalogue in @reel/infra gives each its status). One error handler for the whole app, so every route
 * fails the same way.
 */
import { errorInfo, isReelError } from '@reel/infra';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  // RFC 9110: a 401 names the scheme the client should use.
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="reel"');
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

/** One ajv error, as fastify passes it. */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * What was wrong with each field, once per field: a missing one, an unknown one, a value outside an
 * enumeration (named with the values allowed, where ajv would say "must be equal to constant" once per
 * allowed value and then "must match a schema in anyOf"), else ajv's own words.
 */
export function validationDetail(where: string, issues: readonly ValidationIssue[]): string {
  const byField = new Map<string, string[]>();
  const say = (field: string, message: string) => {
    const list = byField.get(field) ?? [];
    if (!list.includes(message)) list.push(message);
    byField.set(field, list);
  };
  const fieldOf = (issue: ValidationIssue) =>
    `${where}${issue.instancePath ? issue.instancePath.replaceAll('/', '.') : ''}`;
  // A union of constants fails with one `const` error per member, then `anyOf`: gather the members.
  const allowed = new Map<string, unknown[]>();
  for (const issue of issues)
    if (issue.keyword === 'const') {
      const values = allowed.get(fieldOf(issue)) ?? [];
      values.push(issue.params.allowedValue);
      allowed.set(fieldOf(issue), values);
    }
  for (const issue of issues) {
    const field = fieldOf(issue);
    const missing = issue.params.missingProperty;
    const extra = issue.params.additionalProperty;
    if (typeof missing === 'string') say(`${field}.${missing}`, 'is required');
    else if (typeof extra === 'string') say(`${field}.${extra}`, 'is not a field this route takes');
    else if (issue.keyword === 'enum')
      say(field, `must be one of ${(issue.params.allowedValues as unknown[]).map(String).join(', ')}`);
    else if (issue.keyword === 'const' || (issue.keyword === 'anyOf' && allowed.has(field)))
      say(field, `must be one of ${(allowed.get(field) ?? []).map(String).join(', ')}`);
    else say(field, issue.message ?? 'is not valid');
  }
  return [...byField].map(([field, messages]) => `${field}: ${messages.join(', ')}`).join('; ');
}

/** Fastify's own refusals, before a route runs, as reel codes. */
function fastifyProblem(error: FastifyError, request: FastifyRequest): [number, string, string] | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return [
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `this route takes no ${request.headers['content-type'] ?? 'body without a Content-Type'}: send application/json (uploads: multipart/form-data)`,
      ];
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return [
        400,
        'INVALID_JSON',
        `the body is not valid JSON: ${error.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'\s*/i, '') || 'it does not parse'}`,
      ];
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return [400, 'INVALID_JSON', 'the body is empty, but its Content-Type says JSON: send a JSON object'];
    default:
      return undefined;
  }
}

export function registerProblemHandler(app: FastifyInstance): void {
  // Every route's path as a pattern, to tell a wrong method (405, with Allow) from a wrong path (404).
  const routes: { method: string; pattern: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) =>
        part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    for (const method of [route.method].flat()) routes.push({ method, pattern: new RegExp(`^${source}/?$`) });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allow = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    // A route of this very method that found nothing (a static file that is not there) is a 404.
    if (allow.length > 0 && !allow.includes(request.method)) {
      reply.header('allow', allow.join(', '));
      return sendProblem(
        reply,
        405,
        'METHOD_NOT_ALLOWED',
        `${path} takes ${allow.join(', ')}, not ${request.method}`,
      );
    }
    return sendProblem(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`);
  });
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof HttpProblem) return sendProblem(reply, error.status, error.code, error.message);
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      const detail = validationDetail(
        fastifyError.validationContext ?? 'request',
        fastifyError.validation as ValidationIssue[],
      );
      return sendProblem(reply, 400, 'VALIDATION_FAILED', detail);
    }
    const refused = fastifyProblem(fastifyError, request);
    if (refused) return sendProblem(reply, ...refused);
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
      return sendProblem(
        reply,
        status,
        status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST',
        error.message,
      );
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, 500, 'INTERNAL', 'the server failed to answer; the error is in its log');
  });
}
