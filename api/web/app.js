// The reel web page: search with filters and "load more" by the frames, the words in the videos or
// both, result cards that say why they matched (the cue that was said, its words marked) and open a
// player at the matched moment with the video's subtitles, uploads (videos and their caption files) by
// drag-and-drop or file picker with each video's progress polled live, and an API-key field when the
// server needs one. See reel-client.js for the API calls, words.js for the words.
import { $, clock, dayBounds, describe, el, momentMarks, say } from './dom.js';
import { initLibrary } from './library.js';
import {
  ApiError,
  apiKey,
  mediaUrl,
  releaseMediaUrl,
  request,
  requestForm,
  setApiKey,
  upload,
} from './reel-client.js';
import { attachTracks, cueLine, cueOf, fieldMatches, whyBadges } from './words.js';

// Results per page: 12, or `?k=N` in the page's address (1 to 100).
const PAGE_SIZE = Math.min(100, Math.max(1, Number(new URL(location.href).searchParams.get('k')) || 12));
const POLL_MS = 1000;

// ---------------------------------------------------------------- API key

function askForKey(reason) {
  $('key-section').hidden = false;
  $('key-reason').textContent = reason;
  $('api-key').focus();
}

/** Runs `work`; a 401 or 403 opens the key field with the server's reason instead of failing silently. */
async function withKey(work, report) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) askForKey(error.message);
    report(describe(error));
    return undefined;
  }
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setApiKey($('api-key').value.trim());
  $('api-key').value = '';
  $('key-section').hidden = true;
  checkServer();
  library.refresh();
});
$('key-forget').addEventListener('click', () => {
  setApiKey('');
  $('api-key').value = '';
  askForKey('Key forgotten. Enter a key to continue.');
});

// ---------------------------------------------------------------- server status

async function checkServer() {
  const status = $('server-status');
  try {
    const ready = await request('/readyz');
    const index = ready.checks.find((c) => c.name === 'index');
    const workers = ready.checks.find((c) => c.name === 'workers');
    const parts = [];
    if (index)
      parts.push(index.ok ? index.detail.replace(/^LanceDB at [^:]+: /, '') : `index: ${index.detail}`);
    if (workers && !workers.ok) parts.push(`uploads will wait: ${workers.detail}`);
    if (!ready.search) parts.push('search is not ready');
    say(status, parts.join(' · ') || 'ready');
  } catch (error) {
    say(status, `Server not ready: ${describe(error)}`, 'error');
  }
  // Asks for a key up front when the server needs one, rather than at the first search; says a key is
  // in use only once the server took it.
  const poolings = await withKey(
    () => request('/v1/search/poolings'),
    () => {},
  );
  if (!poolings) return;
  offerPoolings(poolings);
  if (apiKey()) status.textContent += ' · using your API key';
}

/** Only the poolings this server can run (learned X-Pool needs a head), its default marked. */
function offerPoolings({ available, default: chosen }) {
  const select = $('filter-pooling');
  for (const option of [...select.options]) {
    if (option.value === '') option.textContent = `server default (${chosen})`;
    else if (!available.includes(option.value)) option.remove();
  }
}

// ---------------------------------------------------------------- search

const search = { body: null, cursor: null, shown: 0, blobs: [], moments: new Map() };

function searchBody(form) {
  const query = form.q.value.trim();
  const filters = {};
  const tags = $('filter-tags')
    .value.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tags.length) filters.tags = tags;
  Object.assign(filters, dayBounds($('filter-after').value, $('filter-before').value));
  const body = { query, k: PAGE_SIZE, filters };
  if ($('filter-pooling').value) body.pooling = $('filter-pooling').value;
  if ($('search-mode').value) body.mode = $('search-mode').value;
  return body;
}

/** How the server searched (the response's mode), as the status line says it. */
const MODE_TEXT = { visual: 'frames', words: 'words', hybrid: 'frames and words' };

/**
 * What a card says of the words: the cue that found its moment (its words marked), its other word
 * matches (title, file name, tags) and why it is a result; null when there is nothing to say.
 */
function cardWords(result, id) {
  const cue = cueOf(result);
  const parts = [
    cue ? cueLine(cue, { at: !result.moment.cue }) : null,
    ...fieldMatches(result),
    whyBadges(result.matchedBy),
  ].filter(Boolean);
  return parts.length ? el('span', { class: 'card-words', id }, ...parts) : null;
}

function card(result, rank) {
  const { start, end } = result.moment;
  const moment = start === end ? `at ${clock(start)}` : `${clock(start)}–${clock(end)}`;
  const img = el('img', { alt: '', width: 224, height: 126, loading: 'lazy', decoding: 'async' });
  if (result.moment.thumbnailUrl)
    mediaUrl(result.moment.thumbnailUrl).then(
      (url) => {
        search.blobs.push(url);
        img.src = url;
      },
      () => img.classList.add('missing'),
    );
  else img.classList.add('missing');
  const wordsId = `result-${rank}-words`;
  const words = cardWords(result, wordsId);
  const button = el(
    'button',
    {
      type: 'button',
      class: 'card',
      'aria-label': `${rank}. ${result.title}, score ${result.score.toFixed(3)}, moment ${moment}: play from ${clock(start)}`,
      // The cue, the word matches and the badges are read after the card's name.
      'aria-describedby': words ? wordsId : undefined,
    },
    img,
    el('span', { class: 'card-title', text: result.title }),
    el(
      'span',
      { class: 'card-meta' },
      el('span', { class: 'score', text: `score ${result.score.toFixed(3)}` }),
      result.confidence === null
        ? el('span', { class: 'confidence', text: '' })
        : el('span', {
            class: result.confidence >= search.matchConfidence ? 'confidence match' : 'confidence',
            title:
              'How far the score stands above queries that match nothing: texts, or for an example pictures of nothing (3 and more: a clear match)',
            text: `confidence ${result.confidence.toFixed(1)}`,
          }),
      el('span', { class: 'moment', text: moment }),
    ),
    words,
  );
  button.addEventListener('click', () => play(result));
  const similar = el('button', {
    type: 'button',
    class: 'similar secondary',
    'aria-label': `Find videos similar to ${result.title}`,
    text: 'Find similar',
  });
  similar.addEventListener('click', () =>
    runSearch({ example: { like: { videoId: result.videoId }, label: `videos like "${result.title}"` } }),
  );
  return el('li', { 'data-video-id': result.videoId }, button, similar);
}

/**
 * Runs a search: the form's text, or an example (`{ like, label }`: a video, or `{ image, label }`: a
 * dropped image file, with the form's text if any), or the next page of the last one.
 */
async function runSearch({ more = false, example } = {}) {
  const status = $('search-status');
  const list = $('results');
  if (!more) {
    for (const url of search.blobs.splice(0)) releaseMediaUrl(url);
    search.body = searchBody($('search-form'));
    if (example?.like) {
      delete search.body.query;
      search.body.like = example.like;
    }
    // Words need a text: an example alone is searched by its frames.
    if (!search.body.query) delete search.body.mode;
    search.image = example?.image;
    search.label = example?.label ?? `"${search.body.query}"`;
    search.cursor = null;
    search.shown = 0;
    list.replaceChildren();
    if (!example) {
      const url = new URL(location.href);
      url.searchParams.set('q', search.body.query);
      if (search.body.mode) url.searchParams.set('mode', search.body.mode);
      else url.searchParams.delete('mode');
      history.replaceState(null, '', url);
    }
  }
  say(status, more ? 'Loading more…' : 'Searching…');
  $('load-more').hidden = true;
  const body = { ...search.body, ...(more && search.cursor ? { cursor: search.cursor } : {}) };
  const response = await withKey(
    () =>
      search.image
        ? requestForm('/v1/search', imageForm(body, search.image))
        : request('/v1/search', { method: 'POST', body }),
    (message) => {
      say(status, `Search failed: ${message}`, 'error');
    },
  );
  if (!response) return;
  search.matchConfidence = response.matchConfidence;
  if (!more) search.noGoodMatch = response.noGoodMatch;
  if (!more) search.moments.clear();
  for (const result of response.results) {
    list.append(card(result, ++search.shown));
    search.moments.set(
      result.videoId,
      result.moments?.length ? result.moments : [{ ...result.moment, score: result.score }],
    );
  }
  search.cursor = response.nextCursor;
  $('load-more').hidden = !response.nextCursor;
  const by = MODE_TEXT[response.mode] ? `by ${MODE_TEXT[response.mode]}` : '';
  say(
    status,
    search.shown === 0
      ? `No videos match ${search.label}${by ? ` (${by})` : ''}.`
      : search.noGoodMatch
        ? `No good match for ${search.label}${by ? ` (${by})` : ''}: nothing stands out from queries that match nothing. The closest ${search.shown} video${search.shown === 1 ? '' : 's'} follow.`
        : `${search.shown} result${search.shown === 1 ? '' : 's'} for ${search.label} (${by ? `${by}, ` : ''}${Math.round(response.timings.totalMs)} ms)`,
    search.noGoodMatch && search.shown > 0 ? 'warning' : undefined,
  );
  // What the server says about the query itself (e.g. cut to the model's context).
  if (response.warnings?.length) status.textContent += ` ${response.warnings.join(' ')}`;
}

$('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!$('search-form').q.value.trim()) return;
  runSearch();
});

/** A multipart search: the image, the JSON body's simple fields, and its filters as JSON text. */
function imageForm(body, image) {
  const form = new FormData();
  for (const field of ['query', 'k', 'pooling', 'mode', 'cursor'])
    if (body[field] !== undefined && body[field] !== '') form.append(field, String(body[field]));
  if (body.filters && Object.keys(body.filters).length > 0)
    form.append('filters', JSON.stringify(body.filters));
  form.append('image', image, image.name);
  return form;
}

// Drop an image on the search box to find videos that look like it (with the box's text, if any).
const searchForm = $('search-form');
searchForm.addEventListener('dragover', (event) => {
  if ([...(event.dataTransfer?.items ?? [])].some((item) => item.type.startsWith('image/'))) {
    event.preventDefault();
    searchForm.classList.add('dropping');
  }
});
searchForm.addEventListener('dragleave', () => searchForm.classList.remove('dropping'));
searchForm.addEventListener('drop', (event) => {
  const image = [...(event.dataTransfer?.files ?? [])].find((file) => file.type.startsWith('image/'));
  searchForm.classList.remove('dropping');
  if (!image) return;
  event.preventDefault();
  runSearch({ example: { image, label: `the image ${image.name}` } });
});
$('load-more').addEventListener('click', () => runSearch({ more: true }));

// ---------------------------------------------------------------- player

const player = $('player');
let playing = null;
let playingResult = null;
// Each play() counts: the subtitle tracks of a video opened before the last are not put on.
let playCount = 0;
let releaseTracks = () => {};

// From the player: videos like the frame on screen.
$('player-similar').addEventListener('click', () => {
  if (!playingResult) return;
  const at = Math.max(0, player.currentTime || playingResult.moment.start);
  const title = playingResult.title;
  const videoId = playingResult.videoId;
  closePlayer();
  runSearch({ example: { like: { videoId, at }, label: `videos like "${title}" at ${clock(at)}` } });
});

async function play(result) {
  const { start, end } = result.moment;
  playingResult = result;
  $('player-title').textContent = result.title;
  $('player-moment').textContent =
    `Matched moment ${clock(start)}–${clock(end)} · score ${result.score.toFixed(3)}`;
  // The video's matching moments: jump between them.
  const marks = $('player-moments');
  marks.replaceChildren(...momentMarks(result.moments ?? [], player));
  marks.hidden = (result.moments ?? []).length < 2;
  showPlayerWords(result);
  $('player-dialog').showModal();
  const count = ++playCount;
  releaseTracks();
  releaseTracks = () => {};
  loadTracks(result, count);
  releaseMediaUrl(playing);
  // The stream URL carries a media fragment (#t=start); setting currentTime as well covers browsers
  // and blob URLs that ignore it.
  try {
    playing = await mediaUrl(result.streamUrl);
  } catch (error) {
    say($('player-moment'), `Cannot load the video: ${describe(error)}`, 'error');
    return;
  }
  player.addEventListener(
    'loadedmetadata',
    () => {
      if (Math.abs(player.currentTime - start) > 0.05) player.currentTime = start;
      player.play().catch(() => {
        // Autoplay refused (no user gesture left): the controls are there.
      });
    },
    { once: true },
  );
  player.src = playing;
  player.focus();
}

/**
 * The words under the player: each cue of the video's matching moments (the matched one first) with
 * its time to play from, and its title, file name or tag matches.
 */
function showPlayerWords(result) {
  const seen = new Set();
  const cues = [result.moment, ...(result.moments ?? [])]
    .filter((m) => m.cue)
    .map((m) => ({ ...m.cue, start: m.start }))
    .filter((cue) => {
      const key = `${cue.trackId} ${cue.start} ${cue.text}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  if (cues.length === 0) {
    const cue = cueOf(result);
    if (cue) cues.push(cue);
  }
  const items = cues.map((cue) => {
    const from = el('button', {
      type: 'button',
      class: 'secondary cue-time',
      'aria-label': `Play from ${clock(cue.start ?? 0)}`,
      text: clock(cue.start ?? 0),
    });
    from.addEventListener('click', () => {
      player.currentTime = cue.start ?? 0;
      player.play().catch(() => {});
    });
    return el('li', { class: 'said' }, from, cueLine(cue, { label: false }));
  });
  for (const match of fieldMatches(result)) items.push(el('li', {}, match));
  $('player-words').replaceChildren(...items);
  $('player-words').hidden = items.length === 0;
}

/** The video's caption tracks as the player's subtitles, the one whose cue matched shown. */
async function loadTracks(result, count) {
  const current = () => count === playCount && $('player-dialog').open;
  try {
    const details = await request(`/v1/videos/${encodeURIComponent(result.videoId)}`);
    if (!current()) return;
    const release = await attachTracks(player, details.captions, {
      showTrackId: cueOf(result)?.trackId ?? null,
      isCurrent: current,
    });
    if (current()) releaseTracks = release;
    else release();
  } catch (error) {
    if (current()) $('player-moment').textContent += ` · subtitles not loaded: ${describe(error)}`;
  }
}

function closePlayer() {
  player.pause();
  $('player-dialog').close();
}
$('player-close').addEventListener('click', closePlayer);
$('player-dialog').addEventListener('close', () => {
  player.pause();
  playCount++;
  releaseTracks();
  releaseTracks = () => {};
});

// ---------------------------------------------------------------- upload

const STATUS_TEXT = {
  queued: 'queued',
  ingesting: 'sampling frames',
  embedding: 'embedding',
  indexing: 'indexing',
  indexed: 'indexed',
  duplicate: 'duplicate',
  failed: 'failed',
};
let picked = [];
// Caption files go with their video (talk.mp4 takes talk.srt, talk.en.vtt): as the server reads them.
const CAPTION_FILE = /\.(srt|vtt|ass|ssa)$/i;

function showPicked(files) {
  picked = [...files];
  $('picked').textContent =
    picked.length === 0
      ? 'No files chosen.'
      : `${picked.length} file${picked.length === 1 ? '' : 's'}: ${picked.map((f) => f.name).join(', ')}${captionNote(picked)}`;
}

function captionNote(files) {
  const captions = files.filter((f) => CAPTION_FILE.test(f.name)).length;
  return captions ? ` (${captions} caption file${captions === 1 ? '' : 's'})` : '';
}

$('files').addEventListener('change', () => showPicked($('files').files));
const zone = $('drop-zone');
for (const type of ['dragenter', 'dragover'])
  zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
for (const type of ['dragleave', 'drop'])
  zone.addEventListener(type, () => {
    zone.classList.remove('over');
  });
zone.addEventListener('drop', (event) => {
  event.preventDefault();
  if (event.dataTransfer?.files?.length) showPicked(event.dataTransfer.files);
});

function renderBatch(videos, caption) {
  $('batch-table').hidden = false;
  $('batch-caption').textContent = caption;
  $('batch-rows').replaceChildren(
    ...videos.map((video) => {
      const detail =
        video.status === 'failed'
          ? `${video.code ?? 'FAILED'}: ${video.message ?? ''}`
          : video.status === 'duplicate'
            ? (video.message ??
              (video.duplicateOf
                ? `the same content is in batch ${video.duplicateOf}`
                : 'the same content is indexed'))
            : '';
      return el(
        'tr',
        { 'data-status': video.status },
        el('td', { text: video.name }),
        el('td', { class: `status-${video.status}`, text: STATUS_TEXT[video.status] ?? video.status }),
        el('td', { text: detail }),
      );
    }),
  );
}

/** What became of each caption file of an upload: attached to its video with N cues, or why not. */
function renderCaptions(captions, videos) {
  $('caption-table').hidden = captions.length === 0;
  const nameOf = new Map(videos.filter((v) => v.videoId).map((v) => [v.videoId, v.name]));
  $('caption-rows').replaceChildren(
    ...captions.map((c) => {
      const ok = !c.code;
      const outcome = ok
        ? `attached, ${c.cues} cue${c.cues === 1 ? '' : 's'}`
        : `${c.videoId ? 'attached, not read' : 'not attached'}: ${c.code}: ${c.message ?? ''}`;
      return el(
        'tr',
        { 'data-status': ok ? 'attached' : 'failed' },
        el('td', { text: c.name }),
        el('td', { text: c.videoId ? (nameOf.get(c.videoId) ?? c.videoId) : '–' }),
        el('td', { class: ok ? 'status-indexed' : 'status-failed', text: outcome }),
      );
    }),
  );
}

async function followBatch(batchId) {
  const status = $('upload-status');
  for (;;) {
    const batch = await withKey(
      () => request(`/v1/batches/${encodeURIComponent(batchId)}`),
      (message) => {
        say(status, `Cannot follow the batch: ${message}`, 'error');
      },
    );
    if (!batch) return;
    const eta = batch.etaSeconds ? `, about ${Math.ceil(batch.etaSeconds)} s left` : '';
    renderBatch(
      batch.videos,
      `Batch ${batch.id}: ${batch.done} of ${batch.total} done${batch.finishedAt ? '' : eta}`,
    );
    if (batch.finishedAt) {
      const c = batch.counts;
      say(
        status,
        `Done: ${c.indexed ?? 0} indexed, ${c.duplicate ?? 0} already there, ${c.failed ?? 0} failed.`,
        c.failed ? 'error' : '',
      );
      checkServer();
      library.refresh();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

$('upload-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = $('upload-status');
  const progress = $('upload-progress');
  if (picked.length === 0) {
    say(status, 'Choose or drop at least one video file first.', 'error');
    $('files').focus();
    return;
  }
  if (picked.every((file) => CAPTION_FILE.test(file.name))) {
    say(
      status,
      'Caption files go with their video: choose the video too (talk.mp4 with talk.srt or talk.en.vtt).',
      'error',
    );
    $('files').focus();
    return;
  }
  $('upload-button').disabled = true;
  progress.hidden = false;
  progress.value = 0;
  say(status, `Uploading ${picked.length} file${picked.length === 1 ? '' : 's'}…`);
  const accepted = await withKey(
    () =>
      upload(picked, {
        tags: $('upload-tags').value.trim(),
        onProgress: (fraction) => {
          progress.value = Math.round(fraction * 100);
          status.textContent = `Uploading… ${progress.value}%`;
        },
      }),
    (message) => {
      say(status, `Upload failed: ${message}`, 'error');
    },
  );
  progress.hidden = true;
  $('upload-button').disabled = false;
  if (!accepted) return;
  showPicked([]);
  $('files').value = '';
  say(status, 'Uploaded; indexing…');
  renderCaptions(accepted.captions ?? [], accepted.videos);
  renderBatch(accepted.videos, `Batch ${accepted.batchId}`);
  await followBatch(accepted.batchId);
});

// ---------------------------------------------------------------- start

const library = initLibrary({ withKey, momentsOf: (videoId) => search.moments.get(videoId) ?? [] });
checkServer();
library.refresh();
const initial = new URL(location.href).searchParams.get('q');
const initialMode = new URL(location.href).searchParams.get('mode');
if (initialMode && [...$('search-mode').options].some((option) => option.value === initialMode))
  $('search-mode').value = initialMode;
if (initial) {
  $('q').value = initial;
  runSearch();
}
