/**
 * The containers ffmpeg may open for reel: a closed list of demuxers, passed to every ffprobe and ffmpeg
 * as `-format_whitelist`. ffmpeg recognises a format by its content, whatever the file's name, and some
 * demuxers open further files on their own (an HLS or DASH playlist, a concat list, an image sequence, an
 * IMF composition): with only `-protocol_whitelist file`, an upload named `evil.mp4` holding an `#EXTM3U`
 * playlist would make the server index any video on its disk. The lists below hold only demuxers that
 * read the one file they are given.
 *
 * Two lists: frames are decoded only from {@link VIDEO_DEMUXERS}; probing also admits a few harmless
 * single-file demuxers (still images, text, audio, subtitles) so that such files are refused with the
 * precise reason (NOT_A_VIDEO, NO_VIDEO_STREAM) rather than as an unknown container.
 */

/** Demuxers whose files reel decodes, with the name a person knows them by. */
export const VIDEO_DEMUXERS: Readonly<Record<string, string>> = {
  mov: 'MP4/MOV/3GP',
  matroska: 'Matroska/WebM',
  avi: 'AVI',
  mpegts: 'MPEG-TS',
  mpeg: 'MPEG-PS',
  flv: 'FLV',
  asf: 'ASF/WMV',
  ogg: 'Ogg',
  nut: 'NUT',
  dv: 'DV',
  ivf: 'IVF',
  gif: 'GIF',
  apng: 'APNG',
  h264: 'raw H.264',
  hevc: 'raw HEVC',
  vvc: 'raw VVC',
  m4v: 'raw MPEG-4 video',
  mpegvideo: 'raw MPEG-1/2 video',
  obu: 'raw AV1',
  av1: 'raw AV1 (Annex B)',
  mjpeg: 'raw Motion JPEG',
  cavsvideo: 'raw AVS',
  vc1: 'raw VC-1',
  dirac: 'raw Dirac',
  yuv4mpegpipe: 'Y4M',
};

/**
 * Single-file demuxers admitted at probe only, so that the probe can say what the file is instead:
 * still images (the `*_pipe` demuxers read one image; `image2`, which expands sequences, is not here),
 * text, audio and subtitle files.
 */
const PROBE_ONLY_DEMUXERS = [
  ...[
    'bmp',
    'dds',
    'dpx',
    'exr',
    'gem',
    'gif',
    'j2k',
    'jpeg',
    'jpegls',
    'jpegxl',
    'pam',
    'pbm',
    'pcx',
    'pfm',
    'pgm',
    'pgmyuv',
    'pgx',
    'phm',
    'photocd',
    'pictor',
    'png',
    'ppm',
    'psd',
    'qdraw',
    'qoi',
    'sgi',
    'sunrast',
    'svg',
    'tiff',
    'vbn',
    'webp',
    'xbm',
    'xpm',
    'xwd',
  ].map((image) => `${image}_pipe`),
  'ico',
  'tty',
  'mp3',
  'wav',
  'w64',
  'flac',
  'aac',
  'ac3',
  'eac3',
  'aiff',
  'caf',
  'wv',
  'ape',
  'tta',
  'amr',
  'dts',
  'truehd',
  'mlp',
  'au',
  'srt',
  'ass',
  'webvtt',
  'sup',
  'microdvd',
  'subviewer',
];

/** `-format_whitelist` of frame commands: only video containers. */
export const DECODE_FORMAT_WHITELIST = Object.keys(VIDEO_DEMUXERS).join(',');

/** `-format_whitelist` of ffprobe: video containers plus the harmless single-file kinds above. */
export const PROBE_FORMAT_WHITELIST = [...Object.keys(VIDEO_DEMUXERS), ...PROBE_ONLY_DEMUXERS].join(',');

/**
 * True when ffprobe's `format_name` (a demuxer's comma-separated names, e.g. "mov,mp4,m4a,3gp,3g2,mj2")
 * is one reel decodes.
 */
export function isVideoDemuxer(formatName: string): boolean {
  return formatName.split(',').some((name) => Object.hasOwn(VIDEO_DEMUXERS, name));
}

/** What the refused demuxers are, for the message. */
const REFUSED_KINDS: Readonly<Record<string, string>> = {
  hls: 'an HLS playlist',
  dash: 'a DASH manifest',
  webm_dash_manifest: 'a WebM DASH manifest',
  concat: 'an ffmpeg concat list',
  image2: 'an image sequence',
  imf: 'an IMF composition',
  sdp: 'an SDP session description',
  rtsp: 'an RTSP session',
  ffmetadata: 'an ffmetadata file',
  vobsub: 'VobSub subtitles (.idx, which opens its .sub)',
  lavfi: 'a filter graph',
};

/**
 * The demuxer ffmpeg refused, from its "[<name> @ 0x…] Format not on whitelist" line (as ffprobe prints
 * it, or as `ffmpeg-log.ts` keeps it: "[<name>] …"), if any.
 */
export function refusedDemuxer(stderr: string): string | undefined {
  return /\[([\w,]+)(?: @ 0x[0-9a-f]+)?\](?: \[\w+\])? Format not on whitelist/.exec(stderr)?.[1];
}

/** One line on why a container is refused: what it is, and what reel reads instead. */
export function unsupportedContainerCause(demuxer: string): string {
  const kind = REFUSED_KINDS[demuxer] ?? `a ${demuxer} file`;
  const opens = REFUSED_KINDS[demuxer] ? ', which opens other files' : '';
  const known = [...new Set(Object.values(VIDEO_DEMUXERS).filter((v) => !v.startsWith('raw ')))];
  return `${kind} (${demuxer})${opens}; reel reads video files only: ${known.join(', ')} and raw H.264/HEVC/AV1/MPEG streams`;
}
