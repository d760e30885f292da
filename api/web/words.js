// The words in videos, as the page shows them: a text with the query's words marked (a subtitle cue, a
// title, a file name or a tag), the "why" badges of a result (matchedBy), and a video's caption tracks,
// listed and played as the <video>'s subtitle tracks. Every text here is the server's, so untrusted (a
// cue is whatever a video's file or an uploaded caption file says): it goes in as text nodes only.
import { clock, el } from './dom.js';
import { mediaUrl, releaseMediaUrl } from './reel-client.js';

/**
 * `text` as nodes with each `[start, end)` of `highlights` (UTF-16 offsets, as JavaScript strings
 * count) in a <mark>. Spans out of range, empty, or overlapping an earlier one are skipped rather than
 * trusted.
 */
export function marked(text, highlights = []) {
  const nodes = [];
  let at = 0;
  const spans = [...highlights]
    .filter((h) => Array.isArray(h) && Number.isInteger(h[0]) && Number.isInteger(h[1]))
    .sort((a, b) => a[0] - b[0]);
  for (const [start, end] of spans) {
    if (start < at || end <= start || end > text.length) continue;
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    nodes.push(el('mark', { text: text.slice(start, end) }));
    at = end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/** What each matchedBy value is called on a badge, and what it means said in full. */
const WHY = {
  frames: ['frames', 'what the video shows matches'],
  cue: ['said', 'its subtitles say the words'],
  title: ['title', 'its title has the words'],
  file: ['file', 'its file name has the words'],
  tag: ['tag', 'a tag has the words'],
};

/** Small badges of why a video is a result ("frames", "said", "title", …), read out as a list. */
export function whyBadges(matchedBy = []) {
  const known = matchedBy.filter((why) => WHY[why]);
  if (known.length === 0) return null;
  return el(
    'span',
    { class: 'why' },
    el('span', { class: 'visually-hidden', text: 'Matched by: ' }),
    ...known.flatMap((why, i) => [
      i > 0 ? el('span', { class: 'visually-hidden', text: ', ' }) : null,
      el('span', { class: `badge badge-${why}`, title: WHY[why][1], 'data-why': why, text: WHY[why][0] }),
    ]),
  );
}

/** The cue that found a result's moment, else its best cue among the word matches (or null). */
export function cueOf(result) {
  if (result.moment?.cue) return { ...result.moment.cue, start: result.moment.start };
  const word = (result.words ?? []).find((w) => w.field === 'cue');
  return word
    ? { trackId: word.trackId, text: word.text, highlights: word.highlights, start: word.start }
    : null;
}

/** A result's word matches other than cues: its title, file name and tags, each "title: …" marked. */
export function fieldMatches(result) {
  return (result.words ?? [])
    .filter((w) => w.field !== 'cue')
    .map((w) =>
      el(
        'span',
        { class: 'word-match', 'data-field': w.field },
        el('span', { class: 'word-field', text: `${w.field}: ` }),
        ...marked(w.text, w.highlights),
      ),
    );
}

/**
 * A quoted cue, its words marked, in a span (phrasing content: it fits in a button): "said: “…”", with
 * its time when `at` ("said at 0:02.0: “…”"), or the quote alone when `label` is false.
 */
export function cueLine(cue, { at = false, label = true } = {}) {
  return el(
    'span',
    { class: 'cue', 'data-track-id': cue.trackId ?? undefined },
    label
      ? el('span', {
          class: 'word-field',
          text: at && cue.start != null ? `said at ${clock(cue.start)}: ` : 'said: ',
        })
      : null,
    el('q', {}, ...marked(cue.text, cue.highlights)),
  );
}

// ---------------------------------------------------------------- caption tracks

let languageNames;
/** "eng" → "English", "pt-BR" → "Brazilian Portuguese"; the code itself when unknown. */
function languageName(code) {
  try {
    languageNames ??= new Intl.DisplayNames([navigator.language || 'en'], { type: 'language' });
    return languageNames.of(code) ?? code;
  } catch {
    return code;
  }
}

/** What a caption track is called in a player's menu and in lists. */
export function trackLabel(track) {
  const language = track.language ? languageName(track.language) : null;
  const name = track.label || language || `${track.source === 'sidecar' ? 'file' : 'track'} ${track.id}`;
  return track.source === 'sidecar' && !track.label ? `${name} (file)` : name;
}

/** One line about a caption track: its source, language, format and cues, or why it was not read. */
export function trackSummary(track) {
  const parts = [
    track.source === 'sidecar' ? 'caption file' : 'inside the video',
    track.language ? languageName(track.language) : 'language not given',
    track.codec,
  ];
  if (track.label) parts.unshift(track.label);
  if (track.read) parts.push(`${track.cueCount} cue${track.cueCount === 1 ? '' : 's'}`);
  else parts.push(track.error ? `not read: ${track.error.code}: ${track.error.message}` : 'not read');
  return parts.join(' · ');
}

/** A list of a video's caption tracks (each as {@link trackSummary}); "none" when it has none. */
export function trackList(captions = []) {
  if (captions.length === 0) return el('span', { text: 'none' });
  return el(
    'ul',
    { class: 'track-list' },
    ...captions.map((t) =>
      el('li', {
        'data-track-id': t.id,
        'data-read': String(t.read),
        class: t.read ? '' : 'not-read',
        text: trackSummary(t),
      }),
    ),
  );
}

/**
 * Puts a video's read caption tracks on `video` as <track kind="subtitles"> elements (their WebVTT
 * through the API key when there is one: a blob URL), `showTrackId`'s shown and the others off (a
 * viewer picks one in the player's menu). Any tracks it had are removed first. Resolves to a function
 * that removes the tracks and frees their blob URLs; `isCurrent()` false (another video opened
 * meanwhile) puts nothing on and frees what was fetched.
 */
export async function attachTracks(video, captions, { showTrackId = null, isCurrent = () => true } = {}) {
  removeTracks(video);
  const readable = (captions ?? []).filter((t) => t.read && t.url);
  const urls = await Promise.all(readable.map((t) => mediaUrl(t.url).catch(() => null)));
  const release = () => {
    removeTracks(video);
    for (const url of urls) releaseMediaUrl(url);
  };
  if (!isCurrent()) {
    for (const url of urls) releaseMediaUrl(url);
    return () => {};
  }
  readable.forEach((t, i) => {
    if (!urls[i]) return;
    const track = el('track', {
      kind: 'subtitles',
      src: urls[i],
      srclang: t.language ?? undefined,
      label: trackLabel(t),
      'data-track-id': t.id,
      default: t.id === showTrackId,
    });
    video.append(track);
  });
  // A <track>'s mode only takes once it is in the list: the matched one shown (which loads its cues),
  // the others left for the viewer to choose.
  for (const node of video.querySelectorAll('track'))
    node.track.mode = node.dataset.trackId === showTrackId ? 'showing' : 'disabled';
  return release;
}

function removeTracks(video) {
  for (const node of video.querySelectorAll('track')) node.remove();
}
