import { ReelError } from '@reel/infra';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { isRedisOutage, registerProblemHandler, validationDetail } from '../src/http/problem.ts';

describe('problem+json for Redis failing mid-request', () => {
  it('recognises a cluster without quorum and a dropped connection, and nothing else', () => {
    expect(isRedisOutage(new Error('CLUSTERDOWN The cluster is down'))).toBe(true);
    expect(
      isRedisOutage(
        new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down'),
      ),
    ).toBe(true);
    expect(isRedisOutage(new Error('Connection is closed.'))).toBe(true);
    expect(
      isRedisOutage(
        Object.assign(new Error('Failed to refresh slots cache.'), { name: 'ClusterAllFailedError' }),
      ),
    ).toBe(true);
    expect(isRedisOutage(new Error('the CLUSTERDOWN word in a file name'))).toBe(false);
    expect(isRedisOutage(new TypeError('x is not a function'))).toBe(false);
  });

  it('answers 503 REDIS_UNAVAILABLE instead of 500 when a route meets such an error', async () => {
    const app = Fastify();
    registerProblemHandler(app);
    app.get('/cluster', async () => {
      throw new Error(
        'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
      );
    });
    app.get('/bug', async () => {
      throw new TypeError('x is not a function');
    });
    const outage = await app.inject('/cluster');
    expect(outage.statusCode).toBe(503);
    expect(outage.json()).toMatchObject({ code: 'REDIS_UNAVAILABLE', status: 503 });
    expect(outage.json().detail).toContain('search still works');
    const bug = await app.inject('/bug');
    expect(bug.statusCode).toBe(500);
    expect(bug.json()).toMatchObject({ code: 'INTERNAL' });
    await app.close();
  });
});

describe('problem+json statuses come from the error catalogue', () => {
  it('answers server faults with 5xx, the caller’s mistakes with 4xx, and an unknown code with 500', async () => {
    const app = Fastify();
    registerProblemHandler(app);
    app.get('/:code', async (request) => {
      throw new ReelError((request.params as { code: string }).code, 'something');
    });
    const statusOf = async (code: string) => (await app.inject(`/${code}`)).statusCode;
    // Before the catalogue these were 400: any unlisted non-retryable code counted as bad input.
    expect(await statusOf('INDEX_SCHEMA_MISMATCH')).toBe(500);
    expect(await statusOf('QUERY_ENCODING_FAILED')).toBe(500);
    expect(await statusOf('INDEX_STORE_FAILED')).toBe(503);
    expect(await statusOf('MODEL_NOT_FOUND')).toBe(503);
    expect(await statusOf('SEARCH_INPUT_INVALID')).toBe(400);
    expect(await statusOf('POOLING_UNAVAILABLE')).toBe(422);
    expect(await statusOf('TOO_LARGE')).toBe(413);
    expect(await statusOf('NO_SUCH_CODE_ANYWHERE')).toBe(500);
    await app.close();
  });
});

describe('validationDetail: what was wrong, once per field', () => {
  const issue = (
    keyword: string,
    instancePath: string,
    params: Record<string, unknown>,
    message?: string,
  ) => ({
    keyword,
    instancePath,
    params,
    ...(message ? { message } : {}),
  });

  it('names the values of a union of constants once, not "must be equal to constant" per value', () => {
    const issues = ['mean', 'attention', 'xpool'].map((v) =>
      issue('const', '/pooling', { allowedValue: v }, 'must be equal to constant'),
    );
    issues.push(issue('anyOf', '/pooling', {}, 'must match a schema in anyOf'));
    expect(validationDetail('body', issues)).toBe('body.pooling: must be one of mean, attention, xpool');
  });

  it('names enums, missing and unknown fields, and keeps fields apart', () => {
    expect(
      validationDetail('querystring', [
        issue(
          'enum',
          '/status',
          { allowedValues: ['queued', 'indexed'] },
          'must be equal to one of the allowed values',
        ),
        issue('required', '', { missingProperty: 'q' }, "must have required property 'q'"),
        issue(
          'additionalProperties',
          '/filters',
          { additionalProperty: 'tag' },
          'must NOT have additional properties',
        ),
        issue('type', '/k', { type: 'integer' }, 'must be integer'),
      ]),
    ).toBe(
      'querystring.status: must be one of queued, indexed; querystring.q: is required; querystring.filters.tag: is not a field this route takes; querystring.k: must be integer',
    );
  });

  it('says a message once when ajv repeats it', () => {
    const twice = [issue('type', '/k', {}, 'must be integer'), issue('type', '/k', {}, 'must be integer')];
    expect(validationDetail('body', twice)).toBe('body.k: must be integer');
  });
});
