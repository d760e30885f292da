/**
 * Webhook endpoints and deliveries in Redis (which production runs with AOF: see infra/deploy):
 *
 * - `<prefix>:reel:webhooks:<tenant>`: a hash of the tenant's endpoints, id → JSON (URL, events, secret,
 *   enabled, why disabled);
 * - `<prefix>:reel:webhook-tenants`: the tenants with endpoints (events of reindex batches, which span
 *   tenants, go to each);
 * - `<prefix>:reel:webhook-failures:<endpoint id>`: deliveries in a row that failed every attempt;
 * - `<prefix>:reel:webhook-delivery:<delivery id>`: one delivery with every attempt (kept 7 days), and
 *   `<prefix>:reel:webhook-deliveries:<endpoint id>`: its endpoint's deliveries by time (the last 200).
 *
 * Every key starts with the prefix, whose hash tag keeps them on one Redis Cluster slot.
 */

import type { WebhookEventType } from '../jobs.ts';
import type { RedisClient } from './redis.ts';

export interface WebhookEndpoint {
  id: string;
  tenant: string;
  url: string;
  events: WebhookEventType[];
  /** The signing secret (HMAC key): shown once, when the endpoint is created. */
  secret: string;
  description: string;
  createdAt: string;
  enabled: boolean;
  /** Why the endpoint was disabled (by reel after failures, or by a person); null while enabled. */
  disabledReason: string | null;
  disabledAt: string | null;
}

export interface WebhookAttempt {
  attempt: number;
  /** ISO time the attempt started. */
  at: string;
  /** The receiver's HTTP status; null when none came (network, timeout, refused address). */
  status: number | null;
  /** What went wrong; null for a 2xx. */
  error: string | null;
  durationMs: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'skipped';

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  tenant: string;
  eventId: string;
  type: WebhookEventType;
  createdAt: string;
  state: DeliveryState;
  /** For a skipped delivery: why (the endpoint was disabled or deleted). */
  reason: string | null;
  attempts: WebhookAttempt[];
}

const DELIVERY_SECONDS = 7 * 24 * 3600;
const DELIVERIES_KEPT = 200;

export class WebhookStore {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #endpointsKey(tenant: string): string {
    return `${this.#prefix}:reel:webhooks:${tenant}`;
  }
  #tenantsKey(): string {
    return `${this.#prefix}:reel:webhook-tenants`;
  }
  #failuresKey(endpointId: string): string {
    return `${this.#prefix}:reel:webhook-failures:${endpointId}`;
  }
  #deliveryKey(deliveryId: string): string {
    return `${this.#prefix}:reel:webhook-delivery:${deliveryId}`;
  }
  #deliveriesKey(endpointId: string): string {
    return `${this.#prefix}:reel:webhook-deliveries:${endpointId}`;
  }

  async endpoints(tenant: string): Promise<WebhookEndpoint[]> {
    const all = await this.#redis.hvals(this.#endpointsKey(tenant));
    return all
      .map((raw) => JSON.parse(raw) as WebhookEndpoint)
      .filter((e) => e.tenant === tenant)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async endpoint(tenant: string, id: string): Promise<WebhookEndpoint | undefined> {
    const raw = await this.#redis.hget(this.#endpointsKey(tenant), id);
    const endpoint = raw ? (JSON.parse(raw) as WebhookEndpoint) : undefined;
    // A record filed under another tenant's key is nobody's.
    return endpoint?.tenant === tenant ? endpoint : undefined;
  }

  async saveEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    await this.#redis.hset(this.#endpointsKey(endpoint.tenant), endpoint.id, JSON.stringify(endpoint));
    await this.#redis.sadd(this.#tenantsKey(), endpoint.tenant);
  }

  async removeEndpoint(tenant: string, id: string): Promise<boolean> {
    const removed = (await this.#redis.hdel(this.#endpointsKey(tenant), id)) === 1;
    if (removed) {
      await this.#redis.del(this.#failuresKey(id));
      if ((await this.#redis.hlen(this.#endpointsKey(tenant))) === 0)
        await this.#redis.srem(this.#tenantsKey(), tenant);
    }
    return removed;
  }

  /** Tenants with at least one endpoint. */
  async tenants(): Promise<string[]> {
    return this.#redis.smembers(this.#tenantsKey());
  }

  /** Counts one more delivery that failed every attempt; returns how many in a row. */
  async countFailure(endpointId: string): Promise<number> {
    return this.#redis.incr(this.#failuresKey(endpointId));
  }

  async resetFailures(endpointId: string): Promise<void> {
    await this.#redis.del(this.#failuresKey(endpointId));
  }

  /** Records a new delivery, unless one with its id exists (an event emitted twice is delivered once). */
  async createDelivery(delivery: WebhookDelivery): Promise<boolean> {
    const created = await this.#redis.set(
      this.#deliveryKey(delivery.id),
      JSON.stringify(delivery),
      'EX',
      DELIVERY_SECONDS,
      'NX',
    );
    if (created !== 'OK') return false;
    const index = this.#deliveriesKey(delivery.endpointId);
    await this.#redis.zadd(index, Date.parse(delivery.createdAt), delivery.id);
    await this.#redis.zremrangebyrank(index, 0, -DELIVERIES_KEPT - 1);
    return true;
  }

  async delivery(id: string): Promise<WebhookDelivery | undefined> {
    const raw = await this.#redis.get(this.#deliveryKey(id));
    return raw ? (JSON.parse(raw) as WebhookDelivery) : undefined;
  }

  async saveDelivery(delivery: WebhookDelivery): Promise<void> {
    await this.#redis.set(this.#deliveryKey(delivery.id), JSON.stringify(delivery), 'EX', DELIVERY_SECONDS);
  }

  /** An endpoint's deliveries, newest first. */
  async deliveries(endpointId: string, limit: number): Promise<WebhookDelivery[]> {
    const ids = await this.#redis.zrevrange(this.#deliveriesKey(endpointId), 0, limit - 1);
    const found: WebhookDelivery[] = [];
    for (const id of ids) {
      const delivery = await this.delivery(id);
      if (delivery) found.push(delivery);
    }
    return found;
  }

  /** Forgets an endpoint's deliveries (the endpoint was deleted). */
  async removeDeliveries(endpointId: string): Promise<void> {
    const ids = await this.#redis.zrange(this.#deliveriesKey(endpointId), '0', '-1');
    if (ids.length > 0) await this.#redis.del(...ids.map((id) => this.#deliveryKey(id)));
    await this.#redis.del(this.#deliveriesKey(endpointId));
  }
}
