/**
 * The words of a video, as reel reads them: timed cues from the text subtitle tracks inside the file and
 * from caption files uploaded beside it. Times are seconds from the start of the container (as frame
 * timestamps are); texts are plain text, cleaned of markup.
 */

/** One caption on screen: from `start` to `end` (seconds, `end >= start`), its `text` plain and never empty. */
export interface Cue {
  start: number;
  end: number;
  /** Plain text: tags, override blocks and entities gone, lines trimmed and joined with '\n'. */
  text: string;
}

/** The caption file formats reel parses (by content first, file extension second). */
export type CaptionFormat = 'srt' | 'webvtt' | 'ass';

/** One subtitle stream of a video file, from ffprobe (`VideoInfo.subtitles`). */
export interface SubtitleStream {
  /** Stream index in the file (what `-map 0:<index>` selects). */
  index: number;
  /** ffprobe's codec_name: mov_text, subrip, webvtt, ass, ssa, text, hdmv_pgs_subtitle, dvb_subtitle, ... */
  codec: string;
  /** `tags.language` (ISO 639-2, e.g. 'eng', 'fra'), lower-cased; 'und' or none → null. */
  language: string | null;
  /** `tags.title`, else `tags.handler_name` when it is not a muxer's generic name ("SubtitleHandler"). */
  title: string | null;
  /** False for bitmap codecs (PGS, DVB, DVD/VobSub, XSUB, teletext): listed, never read. */
  isText: boolean;
  isDefault: boolean;
  isForced: boolean;
}

/** What reading one subtitle track or one sidecar caption file gave. */
export interface ReadTrack {
  /** 'embedded-<stream index>' or 'sidecar-<sanitised base file name>'. */
  id: string;
  source: 'embedded' | 'sidecar';
  /** The stream's codec, or the sidecar's format ('srt' | 'webvtt' | 'ass'). */
  codec: string;
  language: string | null;
  label: string | null;
  /** True when the cues were read; false for bitmap tracks (error null) and failed ones (error set). */
  read: boolean;
  /** In time order (start, then end), exact duplicates dropped; empty unless `read`. */
  cues: Cue[];
  /** Why the track could not be read: a catalogued code (CAPTIONS_*, SUBTITLE_TRACK_UNREADABLE, FFMPEG_TIMEOUT) and a one-line message. */
  error: { code: string; message: string } | null;
  /** Sidecars only: the text encoding the file was decoded with, e.g. 'utf-8', 'windows-1252', 'utf-16le', 'shift_jis'. */
  encoding?: string;
}
