/**
 * Webhooks: a tenant admin's endpoints (URL, events, secret) and the deliveries of what happened to its
 * videos and batches (`batch.finished`, `video.indexed`, `video.failed`, `reindex.finished`).
 *
 * An event has a deterministic id (e.g. `batch.finished/<batch>`); its delivery to an endpoint has an id
 * derived from both, and is one BullMQ job with that id. So an event emitted again (a stage re-run after
 * its worker died) queues nothing while the job is kept (a day after it succeeds: the idempotency
 * window), and a delivery whose worker was killed after the receiver's 2xx is not sent again (its record
 * says delivered before the job completes). A worker killed while waiting for the receiver's answer
 * leaves the job to another worker, which sends it again: the receiver sees the same `Reel-Webhook-Id`
 * and may drop the copy (at-least-once, as Stripe and GitHub deliver).
 *
 * Each attempt is signed anew (webhook-signature.ts) and recorded (status, error, time); attempts back
 * off exponentially for about a day (REEL_WEBHOOK_ATTEMPTS, REEL_WEBHOOK_BACKOFF_SECONDS). A delivery
 * that fails every attempt counts against its endpoint; REEL_WEBHOOK_DISABLE_AFTER of them in a row, or
 * one 410 Gone, disable it with the reason. A disabled endpoint gets no deliveries until it is enabled.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Logger, ReelError } from '@reel/infra';
import type { JobQueue } from '../adapters/job-queue.ts';
import type { WebhookSender } from '../adapters/webhook-sender.ts';
import type {
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookStore,
} from '../adapters/webhook-store.ts';
import { clientBatchId } from '../batch-id.ts';
import type { BatchStatus } from '../batch-progress.ts';
import { toJobError } from '../error-policy.ts';
import type { JobHandler } from '../job-handlers.ts';
import { JobName, type WebhookEvent, WebhookEventType, type WebhookJobData } from '../jobs.ts';
import { checkVideoUrl } from '../video-url.ts';
import { newWebhookSecret, SIGNATURE_HEADER, signWebhook } from '../webhook-signature.ts';

export const WEBHOOK_EVENTS: readonly WebhookEventType[] = Object.values(WebhookEventType);

/** Endpoints a tenant may have. */
export const MAX_WEBHOOK_ENDPOINTS = 20;
const MAX_URL_LENGTH = 2048;
const ENDPOINT_ID = /^wh_[0-9a-f]{16}$/;

/** What a delivery needs of its BullMQ job: the payload, the attempts made and allowed. */
export interface DeliveryJob {
  data: unknown;
  attemptsMade: number;
  opts: { attempts?: number };
}

/** An endpoint as its owner sees it: everything but the secret. */
export type WebhookEndpointView = Omit<WebhookEndpoint, 'secret'>;

export interface WebhookOptions {
  attempts: number;
  backoffMs: number;
  disableAfter: number;
}

function view(endpoint: WebhookEndpoint): WebhookEndpointView {
  const { secret: _secret, ...rest } = endpoint;
  return rest;
}

/** What disabling an endpoint sets: not enabled, why, and when. */
function disabledFields(reason: string): Pick<WebhookEndpoint, 'enabled' | 'disabledReason' | 'disabledAt'> {
  return { enabled: false, disabledReason: reason, disabledAt: new Date().toISOString() };
}

/** An endpoint's note: at most 500 characters (the routes say so too; the CLI comes here directly). */
function checkDescription(description: string | undefined): void {
  if (description !== undefined && description.length > 500)
    throw new ReelError(
      'VALIDATION_FAILED',
      `description: at most 500 characters, got ${description.length}`,
    );
}

function pick(counts: Record<string, number>, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, counts[n] ?? 0]));
}

function invalid(message: string): never {
  throw new ReelError('WEBHOOK_URL_INVALID', message);
}

/** The delivery id of an event to an endpoint. */
export function deliveryIdOf(endpointId: string, eventId: string): string {
  return createHash('sha256').update(`${endpointId}\n${eventId}`).digest('hex').slice(0, 32);
}

export class WebhookService {
  readonly #store: WebhookStore;
  readonly #jobs: Pick<JobQueue, 'addWebhookDeliveries'>;
  readonly #sender: WebhookSender;
  readonly #options: WebhookOptions;
  readonly #logger: Logger;

  constructor(deps: {
    store: WebhookStore;
    jobs: Pick<JobQueue, 'addWebhookDeliveries'>;
    sender: WebhookSender;
    options: WebhookOptions;
    logger: Logger;
  }) {
    this.#store = deps.store;
    this.#jobs = deps.jobs;
    this.#sender = deps.sender;
    this.#options = deps.options;
    this.#logger = deps.logger;
  }

  // ------------------------------------------------------------ endpoints

  /** The URL checks of URL downloads (http(s), a host, no credentials), then the target's address. */
  async #checkUrl(raw: string): Promise<string> {
    if (raw.length > MAX_URL_LENGTH) invalid(`url: at most ${MAX_URL_LENGTH} characters, got ${raw.length}`);
    const checked = checkVideoUrl(raw);
    if (!checked.ok) invalid(`url: ${checked.problem}`);
    await this.#sender.checkTarget(checked.url);
    return checked.url.href;
  }

  #checkEvents(events: readonly string[]): WebhookEventType[] {
    const unknown = events.filter((e) => !WEBHOOK_EVENTS.includes(e as WebhookEventType));
    if (unknown.length > 0)
      throw new ReelError(
        'VALIDATION_FAILED',
        `events: ${unknown.map((e) => JSON.stringify(e)).join(', ')} unknown; expected ${WEBHOOK_EVENTS.join(', ')}`,
      );
    if (events.length === 0) throw new ReelError('VALIDATION_FAILED', 'events: expected at least one');
    return [...new Set(events as WebhookEventType[])];
  }

  /** Registers an endpoint; its secret (given, or made here) is returned this once. */
  async register(
    tenant: string,
    input: { url: string; events: readonly string[]; secret?: string; description?: string },
  ): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
    const url = await this.#checkUrl(input.url);
    const events = this.#checkEvents(input.events);
    checkDescription(input.description);
    if (input.secret !== undefined && input.secret.length < 16)
      throw new ReelError(
        'VALIDATION_FAILED',
        'secret: at least 16 characters (or leave it out: reel makes one)',
      );
    if ((await this.#store.endpoints(tenant)).length >= MAX_WEBHOOK_ENDPOINTS)
      throw new ReelError(
        'WEBHOOK_LIMIT',
        `tenant ${tenant} has ${MAX_WEBHOOK_ENDPOINTS} endpoints: delete one first`,
      );
    const endpoint: WebhookEndpoint = {
      id: `wh_${randomBytes(8).toString('hex')}`,
      tenant,
      url,
      events,
      secret: input.secret ?? newWebhookSecret(),
      description: input.description ?? '',
      createdAt: new Date().toISOString(),
      enabled: true,
      disabledReason: null,
      disabledAt: null,
    };
    await this.#store.saveEndpoint(endpoint);
    return { endpoint: view(endpoint), secret: endpoint.secret };
  }

  async list(tenant: string): Promise<WebhookEndpointView[]> {
    return (await this.#store.endpoints(tenant)).map(view);
  }

  async #endpoint(tenant: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = ENDPOINT_ID.test(id) ? await this.#store.endpoint(tenant, id) : undefined;
    if (!endpoint) throw new ReelError('WEBHOOK_NOT_FOUND', `no webhook endpoint ${id}`);
    return endpoint;
  }

  async get(tenant: string, id: string): Promise<WebhookEndpointView> {
    return view(await this.#endpoint(tenant, id));
  }

  /** Changes an endpoint's URL, events or description, or enables (failures forgotten) or disables it. */
  async update(
    tenant: string,
    id: string,
    patch: { url?: string; events?: readonly string[]; description?: string; enabled?: boolean },
  ): Promise<WebhookEndpointView> {
    const endpoint = await this.#endpoint(tenant, id);
    checkDescription(patch.description);
    const next: WebhookEndpoint = {
      ...endpoint,
      ...(patch.url !== undefined ? { url: await this.#checkUrl(patch.url) } : {}),
      ...(patch.events !== undefined ? { events: this.#checkEvents(patch.events) } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
    };
    if (patch.enabled === true && !endpoint.enabled) {
      Object.assign(next, { enabled: true, disabledReason: null, disabledAt: null });
      await this.#store.resetFailures(id);
    } else if (patch.enabled === false && endpoint.enabled) {
      Object.assign(next, disabledFields('disabled by a person'));
    }
    await this.#store.saveEndpoint(next);
    return view(next);
  }

  async remove(tenant: string, id: string): Promise<void> {
    const endpoint = await this.#endpoint(tenant, id);
    await this.#store.removeEndpoint(tenant, endpoint.id);
    await this.#store.removeDeliveries(endpoint.id);
  }

  /** An endpoint's deliveries, newest first, each with every attempt. */
  async deliveries(tenant: string, id: string, limit = 50): Promise<WebhookDelivery[]> {
    const endpoint = await this.#endpoint(tenant, id);
    return (await this.#store.deliveries(endpoint.id, limit)).filter((d) => d.tenant === tenant);
  }

  // ------------------------------------------------------------ events

  /** Queues the event for each of the tenant's enabled endpoints that asked for its type. */
  async emit(tenant: string, event: WebhookEvent): Promise<number> {
    const endpoints = (await this.#store.endpoints(tenant)).filter(
      (e) => e.enabled && e.events.includes(event.type),
    );
    const queued: { deliveryId: string; data: WebhookJobData }[] = [];
    for (const endpoint of endpoints) {
      const deliveryId = deliveryIdOf(endpoint.id, event.id);
      const created = await this.#store.createDelivery({
        id: deliveryId,
        endpointId: endpoint.id,
        tenant,
        eventId: event.id,
        type: event.type,
        createdAt: event.createdAt,
        state: 'pending',
        reason: null,
        attempts: [],
      });
      // A delivery recorded before was queued then (its job dedupes, or it already ran).
      if (created) queued.push({ deliveryId, data: { tenant, endpointId: endpoint.id, event } });
    }
    await this.#jobs.addWebhookDeliveries(queued, {
      attempts: this.#options.attempts,
      backoffMs: this.#options.backoffMs,
    });
    return queued.length;
  }

  /** Queues the event for every tenant with endpoints (what spans tenants: a model backfill, a sweep). */
  async emitToAll(event: WebhookEvent): Promise<number> {
    let queued = 0;
    for (const tenant of await this.#store.tenants()) queued += await this.emit(tenant, event);
    return queued;
  }

  // ------------------------------------------------------------ what happened

  /**
   * A batch ended: `batch.finished` for what a tenant submitted (uploads, retries), `reindex.finished`
   * for a sweep or backfill. A reindex batch of every tenant says to each only that it ended (its
   * counts span tenants).
   */
  async batchFinished(status: Omit<BatchStatus, 'videos'>): Promise<void> {
    const reindex = status.kind === 'sweep' || status.kind === 'backfill';
    const createdAt = new Date(status.finishedAt ?? Date.now()).toISOString();
    const own = status.tenant !== '*';
    const data: Record<string, unknown> = {
      batchId: own ? clientBatchId(status.id) : status.id,
      kind: status.kind ?? 'upload',
      createdAt: new Date(status.createdAt).toISOString(),
      finishedAt: createdAt,
      ...(own
        ? { total: status.total, counts: pick(status.counts, ['indexed', 'duplicate', 'failed']) }
        : {}),
      ...(status.kind === 'backfill' && status.target ? { model: status.target.fingerprint } : {}),
      ...(own && !reindex ? { statusUrl: `/v1/batches/${clientBatchId(status.id)}` } : {}),
    };
    const type = reindex ? WebhookEventType.reindexFinished : WebhookEventType.batchFinished;
    const event: WebhookEvent = { id: `${type}/${status.id}`, type, createdAt, data };
    if (own) await this.emit(status.tenant, event);
    else await this.emitToAll(event);
  }

  /** A video of a tenant's batch was indexed (not in a model backfill: that re-embeds what is indexed). */
  videoIndexed(
    video: { tenant: string; videoId: string; batchId: string; name: string; fingerprint: string },
    outcome: { frames: number; durationSeconds: number },
  ): Promise<void> {
    return this.#videoEvent(WebhookEventType.videoIndexed, video, {
      durationSeconds: outcome.durationSeconds,
      frames: outcome.frames,
      model: video.fingerprint,
      videoUrl: `/v1/videos/${video.videoId}`,
    });
  }

  /** A video failed for good (its last attempt, or bad input at once). */
  videoFailed(
    video: { tenant: string; videoId: string; batchId: string; name: string },
    failure: { code: string; message: string; retryable: boolean },
  ): Promise<void> {
    return this.#videoEvent(WebhookEventType.videoFailed, video, {
      code: failure.code,
      message: failure.message,
      retryable: failure.retryable,
    });
  }

  /** A video's event: its id, batch (as the tenant knows it) and name, then what the type adds. */
  async #videoEvent(
    type: WebhookEventType,
    video: { tenant: string; videoId: string; batchId: string; name: string },
    rest: Record<string, unknown>,
  ): Promise<void> {
    await this.emit(video.tenant, {
      id: `${type}/${video.batchId}/${video.videoId}`,
      type,
      createdAt: new Date().toISOString(),
      data: { videoId: video.videoId, batchId: clientBatchId(video.batchId), name: video.name, ...rest },
    });
  }

  // ------------------------------------------------------------ delivery

  handlers(): JobHandler[] {
    return [{ name: JobName.deliverWebhook, run: (job) => this.deliver(job) }];
  }

  /** One attempt of a delivery job (see the file header). */
  async deliver(job: DeliveryJob): Promise<unknown> {
    const data = job.data as WebhookJobData;
    if (
      typeof data?.tenant !== 'string' ||
      typeof data.endpointId !== 'string' ||
      typeof data.event?.id !== 'string' ||
      !WEBHOOK_EVENTS.includes(data.event.type)
    )
      throw toJobError(
        new ReelError('WEBHOOK_JOB_INVALID', 'the job does not name a tenant, endpoint and event', {
          retryable: false,
        }),
      );
    const { tenant, endpointId, event } = data;
    const deliveryId = deliveryIdOf(endpointId, event.id);
    const endpoint = await this.#store.endpoint(tenant, endpointId);
    const delivery = await this.#store.delivery(deliveryId);
    if (!endpoint || !delivery || delivery.tenant !== tenant)
      return { skipped: 'the endpoint or delivery is gone' };
    if (delivery.state === 'delivered') return { delivered: true, again: false };
    if (!endpoint.enabled) {
      await this.#store.saveDelivery({
        ...delivery,
        state: 'skipped',
        reason: `endpoint disabled: ${endpoint.disabledReason}`,
      });
      return { skipped: 'endpoint disabled' };
    }

    const body = JSON.stringify({
      id: event.id,
      type: event.type,
      createdAt: event.createdAt,
      data: event.data,
    });
    const attemptNo = job.attemptsMade + 1;
    const at = new Date();
    const result = await this.#sender.send(endpoint.url, body, {
      'user-agent': 'reel-webhooks/0.1',
      'reel-webhook-id': event.id,
      'reel-event': event.type,
      'reel-delivery': deliveryId,
      'reel-attempt': String(attemptNo),
      [SIGNATURE_HEADER]: signWebhook(endpoint.secret, body, Math.floor(at.getTime() / 1000)),
    });
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const attempt: WebhookAttempt = {
      attempt: attemptNo,
      at: at.toISOString(),
      status: result.status,
      error: ok ? null : result.status === null ? result.error : `the receiver answered ${result.status}`,
      durationMs: result.durationMs,
    };
    const attempts = [...delivery.attempts, attempt];
    if (ok) {
      // Recorded before the job completes: a worker killed now does not send it again.
      await this.#store.saveDelivery({ ...delivery, state: 'delivered', attempts });
      await this.#store.resetFailures(endpointId);
      return { delivered: true, status: result.status };
    }
    const gone = result.status === 410;
    const forbidden = result.status === null && result.forbidden;
    const final = gone || forbidden || attemptNo >= (job.opts.attempts ?? 1);
    await this.#store.saveDelivery({ ...delivery, state: final ? 'failed' : 'pending', attempts });
    if (final) {
      const inARow = await this.#store.countFailure(endpointId);
      const reason = gone
        ? 'the receiver answered 410 Gone'
        : inARow >= this.#options.disableAfter
          ? `${inARow} ${inARow === 1 ? 'delivery' : 'deliveries in a row'} failed every attempt; the last: ${attempt.error}`
          : undefined;
      if (reason) await this.#disable(endpoint, reason);
    }
    this.#logger.warn(
      { tenant, endpointId, eventId: event.id, attempt: attemptNo, final, error: attempt.error },
      'webhook attempt failed',
    );
    // The last attempt, or one no retry can mend (410, a refused address): not retried.
    throw toJobError(
      new ReelError('WEBHOOK_DELIVERY_FAILED', `${endpoint.url}: ${attempt.error}`, { retryable: !final }),
    );
  }

  async #disable(endpoint: WebhookEndpoint, reason: string): Promise<void> {
    const current = (await this.#store.endpoint(endpoint.tenant, endpoint.id)) ?? endpoint;
    await this.#store.saveEndpoint({ ...current, ...disabledFields(reason) });
    this.#logger.warn(
      { tenant: endpoint.tenant, endpointId: endpoint.id, reason },
      'webhook endpoint disabled',
    );
  }
}
