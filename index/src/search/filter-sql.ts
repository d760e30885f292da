/**
 * Search and listing filters, and their translation into the SQL predicate LanceDB evaluates before the
 * vector search (a prefilter: the K' candidates all pass it). Pure string building, kept apart from the
 * adapter so escaping can be tested on its own. Column names are the adapter's (snake_case, no quoting
 * needed); strings are single-quoted with quotes doubled (standard SQL: backslashes are literal).
 *
 * Semantics:
 * - `tags`: ALL-OF. A video matches when it carries every listed tag (exact, case-sensitive). All-of is
 *   what narrowing by facets means ("beach" and "dog"); any-of would widen results as tags are added.
 * - `createdAt`: `from` inclusive, `to` exclusive (half-open, so consecutive ranges never overlap).
 * - `durationSeconds`: `min` and `max` inclusive. Videos whose duration is unknown never match a
 *   duration filter.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { VIDEO_STATUSES, type VideoStatus } from '../video-record.ts';

/** Filters every search accepts (the tenant is separate and mandatory). */
export interface VideoFilters {
  /** Tags the video must all carry (all-of). */
  tags?: string[];
  /** Creation time range: `from` inclusive, `to` exclusive. */
  createdAt?: { from?: Date; to?: Date };
  /** Duration range in seconds, both ends inclusive. */
  durationSeconds?: { min?: number; max?: number };
}

/** Listing filters: search filters plus statuses (any-of). */
export interface ListFilters extends VideoFilters {
  status?: VideoStatus[];
}

function fail(message: string): never {
  throw new ReelError(IndexErrorCode.SEARCH_INPUT_INVALID, message);
}

/** A SQL string literal: single quotes, inner quotes doubled. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlNumber(value: number, what: string): string {
  if (!Number.isFinite(value)) fail(`${what}: expected a finite number, got ${value}`);
  // DataFusion reads plain and exponent notation alike; String() never yields NaN/Infinity here
  return String(value);
}

function dateMs(value: Date | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    fail(`${what}: expected a valid Date, got ${String(value)}`);
  return value.getTime();
}

/**
 * Checks filters and returns them normalised (tags de-duplicated and sorted, empty ranges dropped), the
 * form that is hashed into cursors.
 *
 * @throws ReelError SEARCH_INPUT_INVALID on an empty tag, an inverted range or a non-finite number.
 */
export function normalizeFilters<T extends ListFilters>(filters: T | undefined): T {
  const out = {} as T;
  if (filters === undefined) return out;
  if (filters.tags !== undefined) {
    if (!Array.isArray(filters.tags)) fail('filters.tags: expected an array of strings');
    for (const tag of filters.tags)
      if (typeof tag !== 'string' || tag.length === 0)
        fail(`filters.tags: expected non-empty strings, got ${JSON.stringify(tag)}`);
    if (filters.tags.length > 0) out.tags = [...new Set(filters.tags)].sort();
  }
  if (filters.createdAt !== undefined) {
    const from = dateMs(filters.createdAt.from, 'filters.createdAt.from');
    const to = dateMs(filters.createdAt.to, 'filters.createdAt.to');
    if (from !== undefined && to !== undefined && from >= to)
      fail(
        `filters.createdAt: expected from < to, got from ${new Date(from).toISOString()} and to ${new Date(to).toISOString()}`,
      );
    if (from !== undefined || to !== undefined)
      out.createdAt = {
        ...(from !== undefined ? { from: new Date(from) } : {}),
        ...(to !== undefined ? { to: new Date(to) } : {}),
      };
  }
  if (filters.durationSeconds !== undefined) {
    const { min, max } = filters.durationSeconds;
    for (const [name, value] of [
      ['min', min],
      ['max', max],
    ] as const)
      if (value !== undefined && (!Number.isFinite(value) || value < 0))
        fail(`filters.durationSeconds.${name}: expected a finite number ≥ 0, got ${value}`);
    if (min !== undefined && max !== undefined && min > max)
      fail(`filters.durationSeconds: expected min ≤ max, got min ${min} and max ${max}`);
    if (min !== undefined || max !== undefined)
      out.durationSeconds = {
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
      };
  }
  if (filters.status !== undefined) {
    if (!Array.isArray(filters.status)) fail('filters.status: expected an array of statuses');
    for (const status of filters.status)
      if (!VIDEO_STATUSES.includes(status))
        fail(`filters.status: expected one of ${VIDEO_STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
    if (filters.status.length > 0) out.status = [...new Set(filters.status)].sort();
  }
  return out;
}

/**
 * The SQL predicate for a tenant and filters (call {@link normalizeFilters} first to validate). Both
 * index tables name the filtered columns alike: tenant, tags, created_at (ms), duration (s), status.
 */
export function filtersToSql(tenant: string, filters: ListFilters): string;
/**
 * With `omitTenant`, the predicate without the tenant clause (undefined when nothing else filters): for
 * a table known to hold only that tenant, where the clause would pass every row.
 */
export function filtersToSql(
  tenant: string,
  filters: ListFilters,
  options: { omitTenant: true },
): string | undefined;
export function filtersToSql(
  tenant: string,
  filters: ListFilters,
  options?: { omitTenant: true },
): string | undefined {
  if (typeof tenant !== 'string' || tenant.length === 0)
    fail(`tenant: expected a non-empty string, got ${JSON.stringify(tenant)}`);
  const clauses = options?.omitTenant === true ? [] : [`tenant = ${sqlString(tenant)}`];
  if (filters.tags !== undefined && filters.tags.length > 0)
    clauses.push(`array_has_all(tags, [${filters.tags.map(sqlString).join(', ')}])`);
  const from = dateMs(filters.createdAt?.from, 'filters.createdAt.from');
  const to = dateMs(filters.createdAt?.to, 'filters.createdAt.to');
  if (from !== undefined) clauses.push(`created_at >= ${sqlNumber(from, 'filters.createdAt.from')}`);
  if (to !== undefined) clauses.push(`created_at < ${sqlNumber(to, 'filters.createdAt.to')}`);
  const { min, max } = filters.durationSeconds ?? {};
  if (min !== undefined) clauses.push(`duration >= ${sqlNumber(min, 'filters.durationSeconds.min')}`);
  if (max !== undefined) clauses.push(`duration <= ${sqlNumber(max, 'filters.durationSeconds.max')}`);
  if (filters.status !== undefined && filters.status.length > 0)
    clauses.push(`status IN (${filters.status.map(sqlString).join(', ')})`);
  return clauses.length === 0 ? undefined : clauses.join(' AND ');
}
