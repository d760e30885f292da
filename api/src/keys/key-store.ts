/**
 * API keys: created by `reel keys create` (or a tenant admin through the API), shown once, stored only
 * as a sha256 hash in one JSON file of the data folder (`<data dir>/api-keys.json`). A file rather than
 * Redis because search must keep answering when Redis is down, and every API process sharing the data
 * folder sees the same keys; the API re-reads the file when it changes. A key is `reel_<id>_<secret>`:
 * the id finds the entry, the secret's hash is compared in constant time.
 *
 * Two roles (see docs/SECURITY.md): a tenant key acts on its own tenant's videos only, with the scopes
 * `search`, `ingest` and `admin` (its tenant's keys, reindexing its videos); an operator key, created on
 * the command line only, acts on what spans tenants (the queues board, metrics, queue-wide reindexing,
 * every tenant's keys) and on no tenant's videos.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError, retrying } from '@reel/infra';

export const SCOPES = ['search', 'ingest', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['tenant', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyEntry {
  id: string;
  /** Absent in files written before roles: a tenant key. */
  role?: Role;
  /** The key's tenant; `*` for an operator key, which has none. */
  tenant: string;
  /** Empty for an operator key: its powers come from its role. */
  scopes: Scope[];
  /** sha256 (hex) of the secret part. */
  hash: string;
  name: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** Who is calling: the key's tenant and scopes (the local tenant with every scope in keyless mode). */
export interface Principal {
  /** The tenant whose videos the caller acts on; '' for an operator key (never a tenant id). */
  tenant: string;
  scopes: readonly Scope[];
  /** May act on what spans tenants: an operator key, or the keyless local mode. */
  operator: boolean;
  /** The key id, or null in keyless local mode. */
  keyId: string | null;
}

/** The tenant of an operator key's entry. */
export const OPERATOR_TENANT = '*';

export const LOCAL_TENANT = 'default';
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A tenant named like a video id would share a folder of storage with that video's files. */
const VIDEO_ID_PATTERN = /^v_[0-9a-f]{24}$/;

/** Throws KEY_INVALID unless `tenant` is a tenant id keys may be created for. */
export function checkTenant(tenant: string): string {
  if (!TENANT_PATTERN.test(tenant) || VIDEO_ID_PATTERN.test(tenant))
    throw new ReelError(
      'KEY_INVALID',
      `tenant: expected 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit, not shaped like a video id), got ${JSON.stringify(tenant)}`,
    );
  return tenant;
}

/** The role of an entry (files written before roles hold tenant keys only). */
export function roleOf(entry: Pick<ApiKeyEntry, 'role'>): Role {
  return entry.role === 'operator' ? 'operator' : 'tenant';
}
const KEY_PATTERN = /^reel_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0)
    throw new ReelError(
      'KEY_INVALID',
      `scopes: expected a comma-separated list of ${SCOPES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  return [...new Set(scopes)] as Scope[];
}

export class KeyStore {
  readonly file: string;
  #entries: ApiKeyEntry[] = [];
  #mtimeMs = -1;
  #checkedAt = 0;
  readonly #recheckMs: number;

  constructor(file: string, options: { recheckMs?: number } = {}) {
    this.file = file;
    this.#recheckMs = options.recheckMs ?? 1000;
  }

  /** Re-reads the file when it changed (checked at most once per `recheckMs`). */
  async refresh(force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.#checkedAt < this.#recheckMs) return;
    this.#checkedAt = now;
    const info = await stat(this.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (info === null) {
      this.#entries = [];
      this.#mtimeMs = -1;
      return;
    }
    if (info.mtimeMs === this.#mtimeMs) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(this.file, 'utf8'));
    } catch (error) {
      throw new ReelError('KEYS_FILE_INVALID', `${this.file}: not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray((parsed as { keys?: unknown }).keys))
      throw new ReelError('KEYS_FILE_INVALID', `${this.file}: expected {"keys": [...]}`);
    this.#entries = (parsed as { keys: ApiKeyEntry[] }).keys;
    this.#mtimeMs = info.mtimeMs;
  }

  /** Keys that are not revoked (the file re-read now with `fresh`, else at most once per `recheckMs`). */
  async active(options: { fresh?: boolean } = {}): Promise<ApiKeyEntry[]> {
    await this.refresh(options.fresh === true);
    return this.#entries.filter((e) => e.revokedAt === null);
  }

  /** Every entry, revoked ones included (re-read now, or with `cached` at most once per `recheckMs`). */
  async list(options: { cached?: boolean } = {}): Promise<ApiKeyEntry[]> {
    await this.refresh(options.cached !== true);
    return [...this.#entries];
  }

  /** Creates a tenant key; the returned `key` is the only time the secret exists outside the caller. */
  async create(input: {
    tenant: string;
    scopes: Scope[];
    name?: string;
  }): Promise<{ key: string; entry: ApiKeyEntry }> {
    checkTenant(input.tenant);
    if (input.scopes.length === 0 || input.scopes.some((s) => !SCOPES.includes(s)))
      throw new ReelError('KEY_INVALID', `scopes: expected some of ${SCOPES.join(', ')}`);
    return this.#add({
      role: 'tenant',
      tenant: input.tenant,
      scopes: [...new Set(input.scopes)],
      name: input.name,
    });
  }

  /**
   * Creates an operator key (the command line only: no route creates one). It acts on what spans
   * tenants and on no tenant's videos.
   */
  async createOperator(input: { name?: string } = {}): Promise<{ key: string; entry: ApiKeyEntry }> {
    return this.#add({ role: 'operator', tenant: OPERATOR_TENANT, scopes: [], name: input.name });
  }

  async #add(input: {
    role: Role;
    tenant: string;
    scopes: Scope[];
    name: string | undefined;
  }): Promise<{ key: string; entry: ApiKeyEntry }> {
    return this.#locked(async () => {
      const id = randomBytes(9)
        .toString('base64url')
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '0')
        .slice(0, 12);
      const secret = randomBytes(32).toString('base64url');
      const entry: ApiKeyEntry = {
        id,
        role: input.role,
        tenant: input.tenant,
        scopes: input.scopes,
        hash: sha256(secret),
        name: input.name ?? null,
        createdAt: new Date().toISOString(),
        revokedAt: null,
      };
      await this.#write([...this.#entries, entry]);
      return { key: `reel_${id}_${secret}`, entry };
    });
  }

  /**
   * Revokes a key by id; undefined when there is no such key, else how many keys stay active (with
   * none, servers refuse every request: they never fall back to keyless access).
   */
  async revoke(id: string): Promise<{ activeLeft: number } | undefined> {
    return this.#locked(async () => {
      const entry = this.#entries.find((e) => e.id === id);
      if (!entry) return undefined;
      if (entry.revokedAt === null)
        await this.#write(
          this.#entries.map((e) => (e.id === id ? { ...e, revokedAt: new Date().toISOString() } : e)),
        );
      return { activeLeft: this.#entries.filter((e) => e.revokedAt === null).length };
    });
  }

  /**
   * Runs a read-modify-write of the file under a lock file beside it (created exclusively), so that two
   * processes creating or revoking keys at once (the CLI, several API processes) never lose a change.
   * A lock older than 10 s is a crashed holder's and is broken.
   */
  async #locked<T>(change: () => Promise<T>): Promise<T> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const lock = `${this.file}.lock`;
    /** The lock was a crashed holder's and is gone now: try again at once, without counting. */
    class StaleLockBroken extends Error {}
    const take = async () => {
      try {
        await (await open(lock, 'wx', 0o600)).close();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const held = await stat(lock).catch(() => undefined);
        if (held && Date.now() - held.mtimeMs > 10_000) {
          await rm(lock, { force: true });
          throw new StaleLockBroken('stale lock broken');
        }
        throw error;
      }
    };
    // Every 20 ms for 10 s.
    await retrying(take, {
      attempts: 500,
      firstDelayMs: 20,
      factor: 1,
      retryIf: (error) =>
        error instanceof StaleLockBroken || (error as NodeJS.ErrnoException).code === 'EEXIST',
      counts: (error) => !(error instanceof StaleLockBroken),
    }).catch((error) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw new ReelError('KEYS_FILE_BUSY', 'the API keys file stayed locked by another process for 10 s');
    });
    try {
      await this.refresh(true);
      return await change();
    } finally {
      await rm(lock, { force: true });
    }
  }

  /** The principal for a presented key, or null when it is unknown, malformed or revoked. */
  async authenticate(presented: string, options: { fresh?: boolean } = {}): Promise<Principal | null> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return null;
    const entry = (await this.active(options)).find((e) => e.id === match[1]);
    if (!entry) return null;
    const expected = Buffer.from(entry.hash, 'hex');
    const actual = Buffer.from(sha256(match[2]!), 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
    if (roleOf(entry) === 'operator') return { tenant: '', scopes: [], operator: true, keyId: entry.id };
    return { tenant: entry.tenant, scopes: entry.scopes, operator: false, keyId: entry.id };
  }

  async #write(entries: ApiKeyEntry[]): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ keys: entries }, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
    this.#entries = entries;
    this.#checkedAt = 0;
    this.#mtimeMs = -1;
  }
}
