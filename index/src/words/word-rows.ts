/**
 * The rows a video has in the words index, engine-neutral: one per subtitle cue, one for its title, one
 * for its file name and one per tag, each with the text shown (`text`) and the text indexed (`terms`,
 * see word-terms.ts). An adapter writes these and checks cues with `checkCues` before it writes.
 */
import { ReelError } from '@reel/infra';
import { IndexErrorCode } from '../errors.ts';
import { checkId } from '../store-rules.ts';
import type { CaptionTrackInfo, VideoRecord } from '../video-record.ts';
import { wordTerms } from './word-terms.ts';
import type { CaptionTrackCues, StoredCue, WordsField } from './words-store.ts';

/**
 * One row of the words index, without its video. `(field, trackId, seq)` is its key within the video.
 * A `track` row is a caption track: its listing (CaptionTrackInfo as JSON in `text`) and the words of
 * all its cues (`terms`), see {@link trackRows}.
 */
export interface WordRow {
  field: WordsField | 'track';
  /** A cue's track; null for the other fields. */
  trackId: string | null;
  /** Position within its field (and track): a cue's index in its track, a tag's in the tags, 0 otherwise. */
  seq: number;
  /** A cue's times in seconds; null for the other fields. */
  start: number | null;
  end: number | null;
  /** As written, for display. */
  text: string;
  /** What the index covers: `wordTerms` of the text (of the words of a file name). */
  terms: string;
}

/**
 * The base name of a video's source (`/videos/Beach Day.mp4`, `C:\clips\a.mov`, a URL's last path
 * segment, percent-decoded); null when there is none.
 */
export function fileBaseName(source: string | null): string | null {
  if (source === null) return null;
  let path = source.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
      try {
        path = decodeURIComponent(path);
      } catch {
        // a malformed escape: the name as written
      }
    } catch {
      // not a URL after all: split it as a path
    }
  }
  const name = path
    .split(/[\\/]/u)
    .filter((part) => part !== '')
    .pop();
  return name === undefined || name.trim() === '' ? null : name;
}

/**
 * The words of a file name: its extension dropped, separators (`_ - . +` and runs of spaces) turned
 * into single spaces: `beach_day-2024.final.mp4` → `beach day 2024 final`.
 */
export function fileNameWords(name: string): string {
  const stem = name.replace(/(.)\.[\p{L}\p{N}]{1,5}$/u, '$1');
  return stem.replace(/[\s_\-.+]+/gu, ' ').trim();
}

/** A video's title, file-name and tag rows (the store keeps them in step with the record). */
export function labelRows(record: Pick<VideoRecord, 'title' | 'tags' | 'source' | 'fileName'>): WordRow[] {
  const rows: WordRow[] = [];
  const label = (field: WordsField, seq: number, text: string, words = text): void => {
    const terms = wordTerms(words);
    if (terms !== '') rows.push({ field, trackId: null, seq, start: null, end: null, text, terms });
  };
  label('title', 0, record.title);
  const file = fileBaseName(record.fileName ?? record.source);
  if (file !== null) label('file', 0, file, fileNameWords(file));
  record.tags.forEach((tag, i) => {
    label('tag', i, tag);
  });
  return rows;
}

/** One cue as the `cues` store keeps it: `(trackId, seq)` is its key within the video. */
export interface CueRow {
  trackId: string;
  seq: number;
  start: number;
  end: number;
  text: string;
}

/**
 * The rows of one track: its cues (in the order given), and its row in the words index, which lists the
 * track (its CaptionTrackInfo as JSON in `text`, '' without one) and holds the words of all its cues
 * (`terms`): the index finds videos by their tracks, and cue-match.ts finds the cues in them. A track
 * with neither cues nor a listing has no row: it is gone.
 */
export function trackRows(track: CaptionTrackCues): { cues: CueRow[]; track: WordRow | null } {
  const cues = track.cues.map((cue, seq) => ({
    trackId: track.trackId,
    seq,
    start: cue.start,
    end: cue.end,
    text: cue.text,
  }));
  if (cues.length === 0 && track.info === undefined) return { cues, track: null };
  return {
    cues,
    track: {
      field: 'track',
      trackId: track.trackId,
      seq: 0,
      start: null,
      end: null,
      text: track.info === undefined ? '' : JSON.stringify({ ...track.info, id: track.trackId }),
      terms: cues
        .map((c) => wordTerms(c.text))
        .filter((t) => t !== '')
        .join(' '),
    },
  };
}

/** A track row's listing; null for a row that holds none (cues written without one, or broken). */
export function trackInfoOf(text: string): CaptionTrackInfo | null {
  if (text === '') return null;
  try {
    const info = JSON.parse(text) as CaptionTrackInfo;
    return typeof info === 'object' && info !== null && typeof info.id === 'string' ? info : null;
  } catch {
    return null;
  }
}

function cuesInvalid(message: string): never {
  throw new ReelError(IndexErrorCode.VIDEO_INVALID, message);
}

/**
 * Checks the tracks of one `replaceCues` call: ids, one entry per track, cue times finite, ≥ 0 and in
 * order (end ≥ start), texts strings.
 *
 * @throws ReelError VIDEO_INVALID naming the track and cue.
 */
export function checkCues(videoId: string, tracks: readonly CaptionTrackCues[]): void {
  if (!Array.isArray(tracks)) cuesInvalid(`video ${videoId} cues: expected an array of tracks`);
  const seen = new Set<string>();
  for (const track of tracks) {
    checkId(track?.trackId, `video ${videoId} caption track id`);
    if (seen.has(track.trackId)) cuesInvalid(`video ${videoId}: track ${track.trackId} given twice`);
    seen.add(track.trackId);
    if (!Array.isArray(track.cues))
      cuesInvalid(`video ${videoId} track ${track.trackId} cues: expected an array`);
    track.cues.forEach((cue: StoredCue, i: number) => {
      const where = `video ${videoId} track ${track.trackId} cue ${i}`;
      if (typeof cue?.text !== 'string')
        cuesInvalid(`${where} text: expected a string, got ${typeof cue?.text}`);
      for (const [name, value] of [
        ['start', cue.start],
        ['end', cue.end],
      ] as const)
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
          cuesInvalid(`${where} ${name}: expected a finite number of seconds ≥ 0, got ${value}`);
      if (cue.end < cue.start) cuesInvalid(`${where}: expected end ≥ start, got ${cue.start} to ${cue.end}`);
    });
  }
}
