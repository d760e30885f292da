/**
 * Who may call the API, decided per request: a valid, unrevoked key (re-read from the keys file at most
 * once a second), or nobody. The keyless local mode (one local tenant, every scope, no key) exists only
 * for a server started on a loopback address with no key ever created; it ends for good, in this
 * process, the moment a key appears in the file. Revoking keys never reopens a server: with every key
 * revoked, every request is refused until a new key is created.
 */
import { ReelError } from '@reel/infra';
import { HttpProblem } from '../http/problem.ts';
import { type KeyStore, LOCAL_TENANT, type Principal, SCOPES } from './key-store.ts';

/** The keyless local mode's caller. */
const LOCAL: Principal = { tenant: LOCAL_TENANT, scopes: SCOPES, operator: true, keyId: null };

export class AccessPolicy {
  readonly keys: KeyStore;
  #keyless: boolean;

  private constructor(keys: KeyStore, keyless: boolean) {
    this.keys = keys;
    this.#keyless = keyless;
  }

  /**
   * The policy of a server about to listen on `host`: keyless only on a loopback address with no key
   * in the file (revoked ones included); no active key off loopback refuses to start (API_KEYS_REQUIRED).
   */
  static async forServer(keys: KeyStore, loopback: boolean, host: string): Promise<AccessPolicy> {
    const entries = await keys.list();
    if (!loopback && !entries.some((e) => e.revokedAt === null))
      throw new ReelError(
        'API_KEYS_REQUIRED',
        `refusing to listen on ${host} without API keys: anyone who can reach it could read and change every video. Create a key first (npx reel keys create --tenant T --scopes search,ingest,admin), or listen on 127.0.0.1`,
      );
    return new AccessPolicy(keys, loopback && entries.length === 0);
  }

  /** True while this server serves the keyless local tenant. */
  get keyless(): boolean {
    return this.#keyless;
  }

  /**
   * The caller of a request with this Authorization header, or 401. With `fresh`, the keys file is
   * re-read now (a revocation seen at once) rather than at most once a second.
   */
  async principal(header: string | undefined, options: { fresh?: boolean } = {}): Promise<Principal> {
    if (this.#keyless) {
      // The first key ever created ends the keyless mode; nothing brings it back in this process.
      if ((await this.keys.list({ cached: options.fresh !== true })).length === 0) return LOCAL;
      this.#keyless = false;
    }
    if (!header)
      throw new HttpProblem(
        401,
        'UNAUTHORIZED',
        'this server needs an API key: send "Authorization: Bearer <key>"',
      );
    const [scheme, token] = header.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token)
      throw new HttpProblem(401, 'UNAUTHORIZED', 'expected "Authorization: Bearer <key>"');
    const principal = await this.keys.authenticate(token.trim(), options);
    if (!principal)
      throw new HttpProblem(
        401,
        'UNAUTHORIZED',
        'unknown or revoked API key (create one with: npx reel keys create)',
      );
    return principal;
  }
}
