/**
 * `readSidecarCaptions`: a caption file uploaded beside a video, as a {@link ReadTrack}. A broken file
 * gives a track with `read: false` and its coded error instead of throwing, so that the caller indexes the
 * video and its other tracks all the same.
 */
import path from 'node:path';
import { isReelError } from '@reel/infra';
import { type CaptionParseOptions, parseCaptionFile } from './caption-file.ts';
import type { ReadTrack } from './caption-types.ts';

/** Name parts that mark a variant of the captions, not a language ("film.en.sdh.srt"). */
const MARKERS = new Set(['sdh', 'cc', 'forced', 'default', 'full']);
const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

function asLanguage(part: string): string | null {
  if (MARKERS.has(part.toLowerCase()) || !/^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$/i.test(part)) return null;
  const tag = part.replace('_', '-').toLowerCase();
  try {
    return tag !== 'und' && languageNames.of(tag) !== undefined ? tag : null;
  } catch {
    return null; // Not a language tag Intl knows.
  }
}

/**
 * The caption file's language from its name ("film.fr.srt" → 'fr', "film.pt-BR.forced.vtt" → 'pt-br',
 * "film.eng.srt" → 'eng'); null when no part of the name is a language tag. "hi" is Hindi only when no
 * other part is a language ("film.en.hi.srt" is English for the hard of hearing).
 */
export function languageFromName(name: string): string | null {
  const parts = path.basename(name).split('.').slice(1, -1).reverse();
  const found = parts.map(asLanguage).filter((tag): tag is string => tag !== null);
  return found.find((tag) => tag !== 'hi') ?? found[0] ?? null;
}

/** 'sidecar-' and the file's base name, with anything but letters, digits, '.', '_' and '-' made '_'. */
export function sidecarTrackId(name: string): string {
  const base = path
    .basename(name)
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 100);
  return `sidecar-${base || 'captions'}`;
}

/**
 * Reads a sidecar caption file into a track: its cues, format, detected encoding and the language its
 * name gives. Throws only what is not a coded error (a bug).
 */
export function readSidecarCaptions(
  bytes: Uint8Array,
  name: string,
  options: CaptionParseOptions = {},
): ReadTrack {
  const base = {
    id: sidecarTrackId(name),
    source: 'sidecar' as const,
    language: languageFromName(name),
    label: null,
  };
  try {
    const parsed = parseCaptionFile(bytes, path.basename(name), options);
    return {
      ...base,
      codec: parsed.format,
      read: true,
      cues: parsed.cues,
      error: null,
      encoding: parsed.encoding,
    };
  } catch (error) {
    if (!isReelError(error)) throw error;
    const ext = path.extname(name).slice(1).toLowerCase();
    const codec = ext === 'vtt' ? 'webvtt' : ext === 'ssa' ? 'ass' : ext || 'unknown';
    return { ...base, codec, read: false, cues: [], error: { code: error.code, message: error.message } };
  }
}
