/**
 * Prometheus metrics at `GET /metrics` (prom-client), behind an operator key (they count every tenant's
 * videos and jobs): request latency per route, search stage timings, queue depths and indexed videos. Queue depths and video counts are read when scraped, each with a
 * short timeout, so a scrape during a Redis outage still answers (without the queue figures).
 */
import type { SearchResponse } from '@reel/index';
import { withTimeout } from '@reel/infra';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
    observeSearch?: (response: SearchResponse) => void;
  }
}

/** The value, or undefined when it failed or took longer than `ms`: a scrape never waits on Redis. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T | undefined> {
  return withTimeout(promise, ms, what).catch(() => undefined);
}

export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const { pipeline } = app.deps;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'reel_' });
    const requests = new Histogram({
      name: 'reel_http_request_duration_seconds',
      help: 'HTTP request latency by route, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    const stages = new Histogram({
      name: 'reel_search_stage_seconds',
      help: 'Search time per stage: encode (text), stage1 (vector search), stage2 (rescoring), details, total',
      labelNames: ['stage', 'pooling'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    });
    const searches = new Counter({
      name: 'reel_searches_total',
      help: 'Searches answered, by pooling',
      labelNames: ['pooling'],
      registers: [registry],
    });
    new Gauge({
      name: 'reel_queue_jobs',
      help: 'Jobs per queue and state; waiting includes jobs waiting for their children (absent while Redis does not answer)',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        const queues = await within(pipeline.status.queues(), 1000, 'queue depths');
        for (const { name, workers: _, ...byState } of queues ?? [])
          for (const [state, n] of Object.entries(byState)) this.set({ queue: name, state }, n);
      },
    });
    new Gauge({
      name: 'reel_videos',
      help: 'Videos in the index by status (all tenants)',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const counts = await within(pipeline.status.videoCounts(), 2000, 'video counts');
        if (counts) for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });

    app.decorate('metrics', registry);
    app.decorate('observeSearch', (response: SearchResponse) => {
      searches.inc({ pooling: response.pooling });
      const t = response.timings;
      for (const [stage, ms] of [
        ['encode', t.encodeMs],
        ['stage1', t.stage1Ms],
        ['stage2', t.stage2Ms],
        ['details', t.detailsMs],
        ['total', t.totalMs],
      ] as const)
        stages.observe({ stage, pooling: response.pooling }, ms / 1000);
    });
    app.addHook('onResponse', async (request, reply) => {
      requests.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
        reply.elapsedTime / 1000,
      );
    });
    app.get(
      '/metrics',
      {
        // Counts across tenants: an operator key's, as the queues board is.
        config: { operator: 'required' },
        schema: { summary: 'Prometheus metrics (every tenant: operator key)', tags: ['operations'] },
      },
      async (_request, reply) => {
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'reel-metrics' },
);
