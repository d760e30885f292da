/**
 * Webhook deliveries against the real Redis and real HTTP receivers on loopback:
 *
 * - the address guard holds at connect time: a name that resolved to a public address when the endpoint
 *   was registered and resolves to 127.0.0.1 when the delivery connects reaches nothing, and the
 *   delivery fails for good with the reason;
 * - a delivery recorded as delivered is never sent again (its job run a second time sends nothing);
 * - a `reel worker` killed with SIGKILL while a receiver holds its answer loses no delivery: another
 *   worker sends it (with the same Reel-Webhook-Id), the delivery that had completed is not sent again,
 *   and the same event emitted again queues nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@reel/infra';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../src/adapters/redis.ts';
import { WebhookSender } from '../src/adapters/webhook-sender.ts';
import { WebhookStore } from '../src/adapters/webhook-store.ts';
import type { WebhookEvent } from '../src/jobs.ts';
import { openPipeline, type Pipeline } from '../src/pipeline.ts';
import { WebhookService } from '../src/services/webhook.service.ts';
import { answers, installFakeDns, uninstallFakeDns } from './helpers/fake-dns.ts';
import { type RealSetup, realSetup, spawnWorker, until } from './helpers/real-pipeline.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

const logger = createLogger({ level: 'silent', name: 'test' });
const event = (id: string): WebhookEvent => ({
  id,
  type: 'batch.finished',
  createdAt: new Date().toISOString(),
  data: { batchId: id },
});
/** A job as BullMQ hands it to the handler: its data, the attempts made, its options. */
const jobOf = (data: unknown, attemptsMade = 0) =>
  ({ data, attemptsMade, opts: { attempts: 3 } }) as unknown as Job;

describe('webhook deliveries (real Redis, loopback receivers)', () => {
  const redis = createRedisConnection('redis://127.0.0.1:6379');
  const prefix = `{wh-${process.pid}-${Date.now()}}`;
  const store = new WebhookStore(redis, prefix);
  const queued: unknown[] = [];
  const jobs = { addWebhookDeliveries: async (d: unknown[]) => void queued.push(...d) };
  let receiver: Receiver;

  beforeAll(async () => {
    installFakeDns();
    receiver = await startReceiver();
  });

  afterAll(async () => {
    uninstallFakeDns();
    await receiver?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const service = (sender: WebhookSender) =>
    new WebhookService({
      store,
      jobs,
      sender,
      options: { attempts: 3, backoffMs: 10, disableAfter: 5 },
      logger,
    });

  it('never connects to loopback when the name resolved to a public address at registration', async () => {
    const port = new URL(receiver.url).port;
    answers.set('rebind.webhook.test', [['93.184.216.34'], ['127.0.0.1']]);
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivate: false });
    const webhooks = service(sender);
    const { endpoint } = await webhooks.register('acme', {
      url: `http://rebind.webhook.test:${port}/internal`,
      events: ['batch.finished'],
    });
    queued.length = 0;
    expect(await webhooks.emit('acme', event('batch.finished/acme.rebind'))).toBe(1);
    const job = queued[0] as { data: unknown };
    await expect(webhooks.deliver(jobOf(job.data))).rejects.toThrow(
      /WEBHOOK_DELIVERY_FAILED: .*refused: rebind\.webhook\.test resolves to 127\.0\.0\.1/,
    );
    expect(receiver.at('/internal')).toEqual([]);
    const [delivery] = await webhooks.deliveries('acme', endpoint.id);
    expect(delivery).toMatchObject({ state: 'failed' });
    expect(delivery!.attempts[0]!.error).toContain('not a public address');
    await sender.close();
  });

  it('sends a delivered delivery once, however often its job runs', async () => {
    const sender = new WebhookSender({ timeoutMs: 2000, allowPrivate: true });
    const webhooks = service(sender);
    const { endpoint } = await webhooks.register('once', {
      url: `${receiver.url}/once`,
      events: ['batch.finished'],
    });
    queued.length = 0;
    await webhooks.emit('once', event('batch.finished/acme.once'));
    // the same event again: already recorded, so not queued again
    expect(await webhooks.emit('once', event('batch.finished/acme.once'))).toBe(0);
    expect(queued).toHaveLength(1);
    const job = queued[0] as { data: unknown };
    expect(await webhooks.deliver(jobOf(job.data))).toMatchObject({ delivered: true, status: 200 });
    expect(await webhooks.deliver(jobOf(job.data, 1))).toMatchObject({ delivered: true, again: false });
    expect(receiver.at('/once')).toHaveLength(1);
    const [delivery] = await webhooks.deliveries('once', endpoint.id);
    expect(delivery).toMatchObject({ state: 'delivered' });
    expect(delivery!.attempts).toHaveLength(1);
    // a job naming another tenant's endpoint finds nothing to send
    expect(await webhooks.deliver(jobOf({ ...(job.data as object), tenant: 'globex' }))).toMatchObject({
      skipped: expect.any(String),
    });
    expect(receiver.at('/once')).toHaveLength(1);
    await sender.close();
  });
});

describe('a worker killed mid-delivery (reel worker, SIGKILL)', () => {
  let setup: RealSetup;
  let pipeline: Pipeline;
  let receiver: Receiver;
  let release: (status: number) => void = () => {};

  beforeAll(async () => {
    setup = await realSetup({
      REEL_WEBHOOK_ALLOW_PRIVATE: 'true',
      REEL_WEBHOOK_ATTEMPTS: '3',
      REEL_WEBHOOK_BACKOFF_SECONDS: '0.2',
      REEL_JOB_LOCK_SECONDS: '2',
    });
    pipeline = await openPipeline(setup.config, logger);
    // /slow holds its first answer until the test releases it (after the kill: nobody is listening then)
    receiver = await startReceiver((path, nth) =>
      path === '/slow' && nth === 1 ? new Promise<number>((resolve) => (release = resolve)) : 200,
    );
  }, 60_000);

  afterAll(async () => {
    await pipeline?.close();
    await receiver?.close();
  });

  it('loses no delivery and sends none twice that was delivered', async () => {
    const fast = await pipeline.webhooks.register('acme', {
      url: `${receiver.url}/fast`,
      events: ['batch.finished'],
    });
    const slow = await pipeline.webhooks.register('acme', {
      url: `${receiver.url}/slow`,
      events: ['batch.finished'],
    });
    const first = spawnWorker(setup.env);
    try {
      expect(await pipeline.webhooks.emit('acme', event('batch.finished/acme.kill'))).toBe(2);
      await until('both receivers reached', async () =>
        receiver.at('/fast').length === 1 && receiver.at('/slow').length === 1 ? true : undefined,
      );
      await until('the fast delivery recorded', async () =>
        (await pipeline.webhooks.deliveries('acme', fast.endpoint.id))[0]?.state === 'delivered'
          ? true
          : undefined,
      );
    } finally {
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
    }
    release(200);
    // the event again (a finish job re-run by another worker): nothing new is queued
    expect(await pipeline.webhooks.emit('acme', event('batch.finished/acme.kill'))).toBe(0);
    const second = spawnWorker(setup.env);
    try {
      const [delivery] = await until(
        'the held delivery sent again by another worker',
        async () => {
          const found = await pipeline.webhooks.deliveries('acme', slow.endpoint.id);
          return found[0]?.state === 'delivered' ? found : undefined;
        },
        60_000,
      );
      expect(delivery!.attempts.at(-1)!.status).toBe(200);
      await sleep(1500); // nothing more comes
      expect(receiver.at('/fast')).toHaveLength(1);
      const sent = receiver.at('/slow');
      expect(sent).toHaveLength(2);
      expect(new Set(sent.map((r) => r.headers['reel-webhook-id']))).toEqual(
        new Set(['batch.finished/acme.kill']),
      );
    } finally {
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
  }, 120_000);
});
