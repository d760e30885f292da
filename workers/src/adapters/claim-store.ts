/**
 * Who is doing the work for a piece of content, in Redis: the claims that make two concurrent submits
 * of the same file (or two URLs with the same bytes) agree on which one indexes it. Every change is one
 * Lua script, so a claim is taken, or freed, whole or not at all.
 *
 * Keys (all under the queue prefix, so in Redis Cluster they share its hash tag, hence one slot):
 * - `reel:claim:<video id>` → the batch that holds the video (uploads and server files: the id is the
 *   content's; URL and API path videos: their provisional id);
 * - `reel:claim:<content id>:video` → which video holds a content claim a provisional video took once
 *   its content was known;
 * - `reel:content-of:<video id>` → the content id a provisional video claimed.
 */
import type { ContentClaim, ContentClaims } from '../pipeline-deps.ts';
import { videoIdFor } from '../video-identity.ts';
import type { RedisClient } from './redis.ts';

// KEYS: content claim, its holder, the video's content-of link. ARGV: batch, video, content id.
// Claims the content for the batch and links both ways, or answers who holds it.
const CLAIM_CONTENT = `
if redis.call('set', KEYS[1], ARGV[1], 'NX') then
  redis.call('set', KEYS[2], ARGV[2])
  redis.call('set', KEYS[3], ARGV[3])
  return {1, '', ''}
end
return {0, redis.call('get', KEYS[1]) or '', redis.call('get', KEYS[2]) or ''}`;

// KEYS: the video's claim. ARGV: the batch that holds it now, the batch taking it over.
// Moves the claim when it still belongs to that batch (or to nobody); answers 1 when it moved.
const TAKE_OVER = `
local owner = redis.call('get', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('set', KEYS[1], ARGV[2])
return 1`;

// KEYS: the video's claim, its content-of link, the content's claim, the content's holder.
// ARGV: the batch the claim must belong to ('' = any), the video, the content id read beforehand ('' =
// none). Frees the video's claim (if the batch holds it) and the content claim it took (if it still is
// the holder); returns 0 when the link changed since it was read (the caller reads again and retries).
const RELEASE = `
local content = redis.call('get', KEYS[2]) or ''
if content ~= ARGV[3] then return 0 end
if ARGV[1] == '' or redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
if content ~= '' then
  if redis.call('get', KEYS[4]) == ARGV[2] then redis.call('del', KEYS[3], KEYS[4]) end
  redis.call('del', KEYS[2])
end
return 1`;

/** The answer to claiming a video for a batch. */
export type VideoClaim =
  | { held: true }
  /** Another batch holds it: that batch, and the video holding the content when it is a content id. */
  | { held: false; owner: string | null; holder: string | null };

export class ClaimStore implements ContentClaims {
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #claimKey(videoId: string): string {
    return `${this.#prefix}:reel:claim:${videoId}`;
  }

  #holderKey(contentId: string): string {
    return `${this.#prefix}:reel:claim:${contentId}:video`;
  }

  #contentOfKey(videoId: string): string {
    return `${this.#prefix}:reel:content-of:${videoId}`;
  }

  /** Claims `videoId` for `batchId` (held already by that batch counts as held). */
  async claim(videoId: string, batchId: string): Promise<VideoClaim> {
    if ((await this.#redis.set(this.#claimKey(videoId), batchId, 'NX')) === 'OK') return { held: true };
    const [owner, holder] = await this.#redis.mget(this.#claimKey(videoId), this.#holderKey(videoId));
    if (owner === batchId) return { held: true };
    return { held: false, owner: owner ?? null, holder: holder ?? null };
  }

  /**
   * Moves `videoId`'s claim from `fromBatch` to `batchId`, for a video whose earlier run ended in a
   * failure a new submit retries. False when the claim moved elsewhere meanwhile (another submit took it
   * over first): that submit does the work.
   */
  async takeOver(videoId: string, fromBatch: string, batchId: string): Promise<boolean> {
    return (await this.#redis.eval(TAKE_OVER, 1, this.#claimKey(videoId), fromBatch, batchId)) === 1;
  }

  async claimContent(input: {
    tenant: string;
    sha256: string;
    videoId: string;
    batchId: string;
  }): Promise<ContentClaim> {
    const contentId = videoIdFor(input.tenant, input.sha256);
    const [won, owner, holder] = (await this.#redis.eval(
      CLAIM_CONTENT,
      3,
      this.#claimKey(contentId),
      this.#holderKey(contentId),
      this.#contentOfKey(input.videoId),
      input.batchId,
      input.videoId,
      contentId,
    )) as [number, string, string];
    // Our own claim from an earlier attempt of this job.
    if (won === 1 || holder === input.videoId) return { claimed: true };
    return { claimed: false, videoId: holder || contentId, ...(owner ? { batchId: owner } : {}) };
  }

  /**
   * Frees a video's claim so the same content can be submitted again (after a failure or a delete), and
   * the content claim a provisional video took once its content was known. With `ifBatch`, only a claim
   * that batch holds.
   */
  async releaseClaim(videoId: string, options: { ifBatch?: string } = {}): Promise<void> {
    // A compare-and-set, not a retry of a failure: the video's content id is read first (Redis Cluster
    // needs every key a script touches named up front), and RELEASE does nothing when it changed since;
    // read it again then. It changes only when a claim is taken for it at that very moment.
    for (let attempt = 0; attempt < 5; attempt++) {
      const contentId = (await this.#redis.get(this.#contentOfKey(videoId))) ?? '';
      const done = await this.#redis.eval(
        RELEASE,
        4,
        this.#claimKey(videoId),
        this.#contentOfKey(videoId),
        this.#claimKey(contentId || '-'),
        this.#holderKey(contentId || '-'),
        options.ifBatch ?? '',
        videoId,
        contentId,
      );
      if (done === 1) return;
    }
  }
}
