/**
 * API keys: created by `reel keys create`, shown once, stored only as a sha256 hash in one JSON file of
 * the data folder (`<data dir>/api-keys.json`). A file rather than Redis because search must keep
 * answering when Redis is down, and every API process sharing the data folder sees the same keys; the
 * API re-reads the file when it changes. A key is `reel_<id>_<secret>`: the id finds the entry, the
 * secret's hash is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReelError } from '@reel/infra';

export const SCOPES = ['search', 'ingest', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyEntry {
  id: string;
  tenant: string;
  scopes: Scope[];
  /** sha256 (hex) of the secret part. */
  hash: string;
  name: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** Who is calling: the key's tenant and scopes (the local tenant with every scope in keyless mode). */
export interface Principal {
  tenant: string;
  scopes: readonly Scope[];
  /** The key id, or null in keyless local mode. */
  keyId: string | null;
}

export const LOCAL_TENANT = 'default';
const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
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

  /** Keys that are not revoked. */
  async active(): Promise<ApiKeyEntry[]> {
    await this.refresh();
    return this.#entries.filter((e) => e.revokedAt === null);
  }

  /** Every entry, revoked ones included (re-read now, or with `cached` at most once per `recheckMs`). */
  async list(options: { cached?: boolean } = {}): Promise<ApiKeyEntry[]> {
    await this.refresh(options.cached !== true);
    return [...this.#entries];
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  async create(input: {
    tenant: string;
    scopes: Scope[];
    name?: string;
  }): Promise<{ key: string; entry: ApiKeyEntry }> {
    if (!TENANT_PATTERN.test(input.tenant))
      throw new ReelError(
        'KEY_INVALID',
        `tenant: expected 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(input.tenant)}`,
      );
    await this.refresh(true);
    const id = randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')
      .slice(0, 12);
    const secret = randomBytes(32).toString('base64url');
    const entry: ApiKeyEntry = {
      id,
      tenant: input.tenant,
      scopes: input.scopes,
      hash: sha256(secret),
      name: input.name ?? null,
      createdAt: new Date().toISOString(),
      revokedAt: null,
    };
    await this.#write([...this.#entries, entry]);
    return { key: `reel_${id}_${secret}`, entry };
  }

  /**
   * Revokes a key by id; undefined when there is no such key, else how many keys stay active (with
   * none, servers refuse every request: they never fall back to keyless access).
   */
  async revoke(id: string): Promise<{ activeLeft: number } | undefined> {
    await this.refresh(true);
    const entry = this.#entries.find((e) => e.id === id);
    if (!entry) return undefined;
    if (entry.revokedAt === null)
      await this.#write(
        this.#entries.map((e) => (e.id === id ? { ...e, revokedAt: new Date().toISOString() } : e)),
      );
    return { activeLeft: this.#entries.filter((e) => e.revokedAt === null).length };
  }

  /** The principal for a presented key, or null when it is unknown, malformed or revoked. */
  async authenticate(presented: string): Promise<Principal | null> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return null;
    const entry = (await this.active()).find((e) => e.id === match[1]);
    if (!entry) return null;
    const expected = Buffer.from(entry.hash, 'hex');
    const actual = Buffer.from(sha256(match[2]!), 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
    return { tenant: entry.tenant, scopes: entry.scopes, keyId: entry.id };
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
