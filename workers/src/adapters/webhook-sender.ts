/**
 * One webhook attempt over HTTP: a POST of the signed body, answered within the timeout, redirects not
 * followed (a receiver that moved says so by being updated, not by bouncing deliveries elsewhere).
 * Connections go through the downloads' address guard (address-guard.ts): the address actually
 * connected to must be public unless private targets are allowed, checked at connect time whatever the
 * name resolved to when the endpoint was registered (DNS rebinding).
 */
import dns from 'node:dns';
import { isIP } from 'node:net';
import { ReelError } from '@reel/infra';
import { Agent, fetch } from 'undici';
import { checkLiteralHost, ForbiddenAddressError, guardedAgent, isPublicAddress } from './address-guard.ts';

export const WEBHOOK_URL_FORBIDDEN = 'WEBHOOK_URL_FORBIDDEN';

/** What one attempt got: the receiver's status, or why none came. */
export type SendResult =
  | { status: number; durationMs: number }
  | { status: null; error: string; forbidden: boolean; durationMs: number };

export interface WebhookSenderOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Replaces "public" in tests, which have only loopback receivers. */
  allowAddress?: (address: string) => boolean;
}

export class WebhookSender {
  readonly #agent: Agent;
  readonly #options: WebhookSenderOptions;
  readonly #allowed: (address: string) => boolean;

  constructor(options: WebhookSenderOptions) {
    this.#options = options;
    this.#allowed = options.allowAddress ?? isPublicAddress;
    this.#agent = options.allowPrivate ? new Agent() : guardedAgent(this.#allowed);
  }

  /** Throws WEBHOOK_URL_FORBIDDEN when the URL's host is an IP literal outside public unicast. */
  checkHost(url: URL): void {
    if (this.#options.allowPrivate) return;
    try {
      checkLiteralHost(url.hostname, this.#allowed);
    } catch (error) {
      if (error instanceof ForbiddenAddressError)
        throw new ReelError(WEBHOOK_URL_FORBIDDEN, `${url.origin}: ${error.message}`);
      throw error;
    }
  }

  /**
   * At registration: WEBHOOK_URL_FORBIDDEN when the host is, or now resolves to, a non-public address.
   * A courtesy that fails early with a clear message; the check that counts is the one at connect time.
   */
  async checkTarget(url: URL): Promise<void> {
    this.checkHost(url);
    if (this.#options.allowPrivate || isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) return;
    const addresses = await dns.promises.lookup(url.hostname, { all: true }).catch(() => []);
    const internal = addresses.find((a) => !this.#allowed(a.address));
    if (internal)
      throw new ReelError(
        WEBHOOK_URL_FORBIDDEN,
        `${url.origin}: ${url.hostname} resolves to ${internal.address}, not a public address (REEL_WEBHOOK_ALLOW_PRIVATE=true allows it)`,
      );
  }

  async send(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    try {
      this.checkHost(new URL(url));
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
        redirect: 'manual',
        dispatcher: this.#agent,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      // The body is not read: the status says it all, and a receiver may not stall us with a long one.
      await response.body?.cancel().catch(() => {});
      return { status: response.status, durationMs: took() };
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (
        cause instanceof ForbiddenAddressError ||
        (error instanceof ReelError && error.code === WEBHOOK_URL_FORBIDDEN)
      )
        return {
          status: null,
          error: `refused: ${cause instanceof ForbiddenAddressError ? cause.message : (error as Error).message}`,
          forbidden: true,
          durationMs: took(),
        };
      const name = (error as Error).name;
      const message =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer within ${this.#options.timeoutMs / 1000} s`
          : `${(error as Error).message}${cause instanceof Error ? ` (${cause.message})` : ''}`;
      return { status: null, error: message, forbidden: false, durationMs: took() };
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
