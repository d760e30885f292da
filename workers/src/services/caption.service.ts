/**
 * A video's words from its captions: the subtitle tracks its ingest read (text tracks inside the file,
 * caption files beside a server-side path), caption files uploaded with it or attached later, and each
 * track served back as WebVTT for players.
 *
 * Every track is listed (where it came from, its language, whether it was read and why not) and its
 * cues kept in the words index (BM25, see @reel/index words/), one track's rows apart from another's, so
 * an ingest and an upload writing different tracks of a video never undo each other. A caption file that cannot be read fails that track alone, with its code on the track: the
 * video indexes as it would without it. Ingest replaces the tracks it reads each time (the embedded ones
 * and the sidecars it found); tracks attached through the API stay until removed.
 */
import type { CaptionTrackInfo, StoredCue } from '@reel/index';
import { ReelError } from '@reel/infra';
import { CAPTION_MAX_BYTES, type ReadTrack, readSidecarCaptions } from '@reel/ingest';

/** Extensions of caption files (sidecars) reel reads. */
export const CAPTION_EXTENSIONS: ReadonlySet<string> = new Set(['.srt', '.vtt', '.ass', '.ssa']);

/** Largest caption file reel reads, in bytes: the parser's own limit, checked before a file is read whole. */
export const MAX_CAPTION_BYTES = CAPTION_MAX_BYTES;

/** Caption tracks a video may have attached (beyond those inside its file). */
export const MAX_ATTACHED_TRACKS = 20;

/** A track with its cues, as written. */
export interface CaptionTrackCues {
  info: CaptionTrackInfo;
  cues: readonly StoredCue[];
}

/** What captions need of the index. */
export interface CaptionIndex {
  /** The video's tracks; null when the tenant has no such video. */
  captionTracks(tenant: string, videoId: string): Promise<CaptionTrackInfo[] | null>;
  /**
   * Writes `tracks` (a track of the same id replaced) and removes the stored tracks `drop` selects;
   * returns the video's tracks after, or null when the tenant has no such video.
   */
  saveCaptionTracks(
    tenant: string,
    videoId: string,
    tracks: readonly CaptionTrackCues[],
    drop?: (track: CaptionTrackInfo) => boolean,
  ): Promise<CaptionTrackInfo[] | null>;
  /** A track's cues in time order; null when the video has no such track. */
  trackCues(tenant: string, videoId: string, trackId: string): Promise<StoredCue[] | null>;
}

/** A caption file as a front door received it. */
export interface CaptionFile {
  /** The name the client gave (only shown and used for the track id and language). */
  name: string;
  bytes: Uint8Array;
  /** The language, when the client said it (else from the name: `clip.fr.srt`, or none). */
  language?: string;
}

/**
 * Whether a caption file is named after a video (its name without extension `base`): `talk.srt`,
 * `talk.fr.vtt`, `talk.en.sdh.srt` are talk's.
 */
export function isCaptionOf(base: string, captionName: string): boolean {
  const stem = captionName.replace(/\.[^.]*$/, '');
  return stem === base || stem.startsWith(`${base}.`);
}

/** A language tag a client may give: ISO 639 letters, an optional region or script. */
const LANGUAGE = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$/;

/** Seconds as a WebVTT timestamp, `hh:mm:ss.mmm`. */
function vttTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/**
 * A track as WebVTT. Cue text is plain text (markup was removed when it was read), escaped so a
 * player shows it as text: `&`, `<` and `>` as entities, and no line can end the cue ("-->" broken).
 */
export function toWebVtt(cues: readonly StoredCue[]): string {
  const blocks = cues.map((cue) => {
    const text = cue.text
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;')
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .join('\n');
    return `${vttTime(cue.start)} --> ${vttTime(Math.max(cue.start, cue.end))}\n${text}`;
  });
  return `WEBVTT\n\n${blocks.join('\n\n')}${blocks.length > 0 ? '\n' : ''}`;
}

/** A read track as stored: its listing and its cues. */
function trackOf(track: ReadTrack): CaptionTrackCues {
  return {
    info: {
      id: track.id,
      source: track.source,
      codec: track.codec,
      language: track.language,
      label: track.label,
      read: track.read,
      cueCount: track.cues.length,
      error: track.error,
    },
    cues: track.cues,
  };
}

export class CaptionService {
  readonly #index: CaptionIndex;

  constructor(deps: { index: CaptionIndex }) {
    this.#index = deps.index;
  }

  /**
   * What a video's ingest read: its embedded tracks replace those stored before (a track gone from the
   * file goes from the index), and caption files found beside it (a server-side path) replace theirs;
   * attached tracks stay. Returns every track it wrote, read or not.
   */
  async saveRead(
    tenant: string,
    videoId: string,
    read: { tracks: readonly ReadTrack[]; sidecars: readonly CaptionFile[] },
  ): Promise<ReadTrack[]> {
    const tracks = [...read.tracks, ...read.sidecars.map((file) => this.read(file))];
    // Most videos have no words inside: nothing to write unless there were tracks or are now.
    if (tracks.length === 0) {
      const stored = await this.#index.captionTracks(tenant, videoId);
      if (stored === null || !stored.some((t) => t.source === 'embedded')) return [];
    }
    await this.#index.saveCaptionTracks(tenant, videoId, tracks.map(trackOf), (t) => t.source === 'embedded');
    return tracks;
  }

  /**
   * Reads a caption file (SRT, WebVTT or ASS/SSA; any common text encoding) and attaches it to the
   * video as a track of its own (`sidecar-<name>`; a file of the same name replaces it).
   * @throws ReelError VIDEO_NOT_FOUND, CAPTIONS_MALFORMED, CAPTIONS_UNSUPPORTED, CAPTIONS_TOO_LARGE,
   *   VALIDATION_FAILED (a language that is not a language tag, or too many tracks).
   */
  async attach(tenant: string, videoId: string, file: CaptionFile): Promise<CaptionTrackInfo> {
    const track = this.read(file);
    if (track.error !== null)
      throw new ReelError(track.error.code, track.error.message, { details: { file: file.name } });
    return this.#save(tenant, videoId, track);
  }

  /**
   * Like {@link attach}, but a file that cannot be read is attached as a track that was not read, with
   * its error (an upload's sidecar: the upload goes on and says so).
   */
  async attachOrRecord(tenant: string, videoId: string, file: CaptionFile): Promise<CaptionTrackInfo> {
    return this.#save(tenant, videoId, this.read(file));
  }

  async #save(tenant: string, videoId: string, track: ReadTrack): Promise<CaptionTrackInfo> {
    const stored = await this.#index.captionTracks(tenant, videoId);
    if (stored === null) throw new ReelError('VIDEO_NOT_FOUND', `no video ${videoId}`);
    const attached = stored.filter((t) => t.source === 'sidecar' && t.id !== track.id);
    if (attached.length >= MAX_ATTACHED_TRACKS)
      throw new ReelError(
        'VALIDATION_FAILED',
        `${videoId}: already ${attached.length} caption files attached, the most a video keeps (remove one first)`,
      );
    const saved = trackOf(track);
    if ((await this.#index.saveCaptionTracks(tenant, videoId, [saved])) === null)
      throw new ReelError('VIDEO_NOT_FOUND', `no video ${videoId}`);
    return saved.info;
  }

  /** A caption file read into a track (its error on the track when it cannot be read). */
  read(file: CaptionFile): ReadTrack {
    if (file.language !== undefined && !LANGUAGE.test(file.language))
      throw new ReelError(
        'VALIDATION_FAILED',
        `language: expected a language tag such as en, fra or pt-BR, got ${JSON.stringify(file.language)}`,
      );
    const track = readSidecarCaptions(file.bytes, file.name);
    return {
      ...track,
      label: file.name,
      ...(file.language !== undefined ? { language: file.language } : {}),
    };
  }

  /** The video's caption tracks. @throws ReelError VIDEO_NOT_FOUND */
  async tracks(tenant: string, videoId: string): Promise<CaptionTrackInfo[]> {
    const tracks = await this.#index.captionTracks(tenant, videoId);
    if (tracks === null) throw new ReelError('VIDEO_NOT_FOUND', `no video ${videoId}`);
    return tracks;
  }

  /** One track as WebVTT. @throws ReelError VIDEO_NOT_FOUND, CAPTION_TRACK_NOT_FOUND */
  async webVtt(tenant: string, videoId: string, trackId: string): Promise<string> {
    const tracks = await this.tracks(tenant, videoId);
    const track = tracks.find((t) => t.id === trackId);
    const cues = track?.read ? await this.#index.trackCues(tenant, videoId, trackId) : null;
    if (cues === null)
      throw new ReelError(
        'CAPTION_TRACK_NOT_FOUND',
        `${videoId}: no readable caption track ${JSON.stringify(trackId)} (tracks: ${tracks.map((t) => t.id).join(', ') || 'none'})`,
      );
    return toWebVtt(cues);
  }

  /**
   * Removes an attached track (a track inside the video's file comes back with its next ingest, so it
   * cannot be removed). @throws ReelError VIDEO_NOT_FOUND, CAPTION_TRACK_NOT_FOUND
   */
  async remove(tenant: string, videoId: string, trackId: string): Promise<void> {
    const tracks = await this.tracks(tenant, videoId);
    if (!tracks.some((t) => t.id === trackId && t.source === 'sidecar'))
      throw new ReelError(
        'CAPTION_TRACK_NOT_FOUND',
        `${videoId}: no attached caption track ${JSON.stringify(trackId)} (tracks inside the video's file cannot be removed)`,
      );
    await this.#index.saveCaptionTracks(tenant, videoId, [], (t) => t.id === trackId);
  }
}
