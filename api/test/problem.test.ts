import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { isRedisOutage, registerProblemHandler } from '../src/http/problem.ts';

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
