/**
 * Batch ids are per tenant: a tenant names its batches (`batchId` makes a submit idempotent) in its own
 * namespace, so it can neither learn whether another tenant used an id nor take it first. Inside reel a
 * tenant's batch is kept under `<tenant>.<id>` (tenants may contain '.', ids may not, so the last '.'
 * splits them); reindex batches (backfill, sweep) have no tenant and keep their plain id.
 */
import { ReelError } from '@reel/infra';

/** What a caller may name a batch. */
export const BATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

/** The id reel keeps a tenant's batch under. Throws BATCH_ID_INVALID for an id outside the pattern. */
export function batchKey(tenant: string, id: string): string {
  if (!BATCH_ID_PATTERN.test(id))
    throw new ReelError(
      'BATCH_ID_INVALID',
      `batch id ${JSON.stringify(id.slice(0, 120))}: expected 1-100 letters, digits, '_' or '-'`,
    );
  return `${tenant}.${id}`;
}

/** The id a tenant knows its batch by (the key itself for a reindex batch). */
export function clientBatchId(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}
