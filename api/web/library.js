// The library: a tenant's videos (paged, newest first or by title, filtered by status, length and date),
// one video opened (player with its subtitles, facts, caption tracks, the last search's moments), its
// title and tags edited, deleted after
// a confirmation, a failed one retried; and the recent batches with each video's outcome. Every call is
// the HTTP API's (GET|PATCH|DELETE /v1/videos[/:id], POST /v1/videos/:id/retry, GET /v1/batches[/:id]).
import { $, bytes, clock, dayBounds, describe, el, momentMarks, say } from './dom.js';
import { mediaUrl, releaseMediaUrl, request } from './reel-client.js';
import { attachTracks, trackList } from './words.js';

const PAGE = 20;
const BATCH_PAGE = 10;
const STATUS_TEXT = { queued: 'queued', processing: 'processing', indexed: 'indexed', failed: 'failed' };

/**
 * Wires the library panel. `withKey(work, report)` runs an API call (a 401/403 asks for the key);
 * `momentsOf(videoId)` gives the last search's moments of a video ([] when it was not in it).
 */
export function initLibrary({ withKey, momentsOf }) {
  const state = {
    query: '',
    cursor: null,
    batchesBefore: null,
    open: null,
    media: null,
    // Each opened video counts: a slower video's media is not put on the next one's player.
    opened: 0,
    releaseTracks: () => {},
  };

  function listQuery() {
    const q = new URLSearchParams({ limit: String(PAGE), sort: $('lib-sort').value });
    if ($('lib-status').value) q.set('status', $('lib-status').value);
    if ($('lib-min').value !== '') q.set('minDuration', $('lib-min').value);
    if ($('lib-max').value !== '') q.set('maxDuration', $('lib-max').value);
    for (const [name, value] of Object.entries(dayBounds($('lib-after').value, $('lib-before').value)))
      q.set(name, value);
    return q;
  }

  function row(video) {
    const facts = [
      STATUS_TEXT[video.status] ?? video.status,
      video.durationSeconds === null ? null : clock(video.durationSeconds),
      `added ${new Date(video.createdAt).toLocaleDateString()}`,
      video.tags.length ? `tags: ${video.tags.join(', ')}` : null,
    ].filter(Boolean);
    const open = el(
      'button',
      { type: 'button', class: 'library-open', 'aria-label': `Open ${video.title} (${facts.join(', ')})` },
      el('span', { class: 'card-title', text: video.title || video.id }),
      el('span', { class: `card-meta status-${video.status}`, text: facts.join(' · ') }),
    );
    open.addEventListener('click', () => openVideo(video.id));
    const item = el('li', { 'data-video-id': video.id, 'data-status': video.status }, open);
    if (video.status === 'failed') {
      item.append(
        el('p', { class: 'reason', text: `${video.error?.code ?? 'FAILED'}: ${video.error?.message ?? ''}` }),
      );
      const retry = el('button', {
        type: 'button',
        class: 'secondary retry',
        'aria-label': `Retry ${video.title}`,
        text: 'Retry',
      });
      retry.addEventListener('click', () => retryVideo(video.id, $('library-status')));
      item.append(retry);
    }
    return item;
  }

  async function loadVideos({ more = false } = {}) {
    const status = $('library-status');
    if (!more) {
      state.query = listQuery().toString();
      state.cursor = null;
      $('library-list').replaceChildren();
    }
    const q = new URLSearchParams(state.query);
    if (more && state.cursor) q.set('cursor', state.cursor);
    say(status, 'Loading videos…');
    const page = await withKey(
      () => request(`/v1/videos?${q}`),
      (message) => say(status, `Cannot list the videos: ${message}`, 'error'),
    );
    if (!page) return;
    $('library-list').append(...page.videos.map(row));
    state.cursor = page.nextCursor;
    $('library-more').hidden = !page.nextCursor;
    const shown = $('library-list').children.length;
    say(
      status,
      shown === 0
        ? 'No videos match.'
        : `${shown} video${shown === 1 ? '' : 's'}${page.nextCursor ? ', more below' : ''}.`,
    );
  }

  // ------------------------------------------------------------ one video

  function fact(name, value) {
    return [
      el('dt', { text: name }),
      typeof value === 'string' ? el('dd', { text: value }) : el('dd', {}, value),
    ];
  }

  function releasePlayer() {
    state.opened++;
    state.releaseTracks();
    state.releaseTracks = () => {};
  }

  async function openVideo(id) {
    const status = $('video-status');
    say(status, '');
    $('video-confirm').hidden = true;
    const video = await withKey(
      () => request(`/v1/videos/${encodeURIComponent(id)}`),
      (message) => say($('library-status'), `Cannot open the video: ${message}`, 'error'),
    );
    if (!video) return;
    state.open = video;
    $('video-title').textContent = video.title || video.id;
    $('video-edit-title').value = video.title;
    $('video-edit-tags').value = video.tags.join(', ');
    $('video-retry').hidden = video.status !== 'failed';
    $('video-facts').replaceChildren(
      ...fact(
        'Status',
        video.error ? `${video.status}: ${video.error.code}: ${video.error.message}` : video.status,
      ),
      ...fact('Length', video.durationSeconds === null ? '–' : clock(video.durationSeconds)),
      ...fact('Size', bytes(video.sizeBytes)),
      ...fact('Added', new Date(video.createdAt).toLocaleString()),
      ...fact('Indexed', video.ingestedAt ? new Date(video.ingestedAt).toLocaleString() : '–'),
      ...fact('Model', video.fingerprint ?? '–'),
      ...fact('Frames', video.frameTimes.length ? video.frameTimes.map(clock).join(', ') : '–'),
      ...fact('Captions', trackList(video.captions ?? [])),
    );
    const player = $('video-player');
    const moments = momentsOf(video.id);
    $('video-moments').replaceChildren(
      el('legend', { text: 'Moments of the last search' }),
      ...momentMarks(moments, player),
    );
    $('video-moments').hidden = moments.length === 0;
    $('video-dialog').showModal();
    releasePlayer();
    const opened = state.opened;
    const current = () => opened === state.opened && $('video-dialog').open;
    releaseMediaUrl(state.media);
    state.media = null;
    player.hidden = video.status !== 'indexed';
    player.removeAttribute('src');
    if (video.status === 'indexed') {
      attachTracks(player, video.captions, { isCurrent: current }).then((release) => {
        if (current()) state.releaseTracks = release;
        else release();
      });
      try {
        state.media = await mediaUrl(video.streamUrl);
        player.src = state.media;
      } catch (error) {
        say(status, `Cannot load the video: ${describe(error)}`, 'error');
      }
    }
  }

  function closeVideo() {
    $('video-player').pause();
    $('video-dialog').close();
  }

  async function retryVideo(id, status) {
    const accepted = await withKey(
      () => request(`/v1/videos/${encodeURIComponent(id)}/retry`, { method: 'POST' }),
      (message) => say(status, `Retry refused: ${message}`, 'error'),
    );
    if (!accepted) return;
    say(status, `Retrying in batch ${accepted.batchId}.`);
    loadBatches();
  }

  $('video-edit').addEventListener('submit', async (event) => {
    event.preventDefault();
    const video = state.open;
    if (!video) return;
    const tags = $('video-edit-tags')
      .value.split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const saved = await withKey(
      () =>
        request(`/v1/videos/${encodeURIComponent(video.id)}`, {
          method: 'PATCH',
          body: { title: $('video-edit-title').value.trim(), tags },
        }),
      (message) => say($('video-status'), `Not saved: ${message}`, 'error'),
    );
    if (!saved) return;
    state.open = { ...video, ...saved };
    $('video-title').textContent = saved.title;
    $('video-edit-tags').value = saved.tags.join(', ');
    say($('video-status'), 'Saved.');
    const item = $('library-list').querySelector(`[data-video-id="${CSS.escape(video.id)}"]`);
    if (item) item.replaceWith(row(saved));
  });

  $('video-delete').addEventListener('click', () => {
    $('video-confirm').hidden = false;
    $('video-confirm-no').focus();
  });
  $('video-confirm-no').addEventListener('click', () => {
    $('video-confirm').hidden = true;
  });
  $('video-confirm-yes').addEventListener('click', async () => {
    const video = state.open;
    if (!video) return;
    const deleted = await withKey(
      () => request(`/v1/videos/${encodeURIComponent(video.id)}`, { method: 'DELETE' }),
      (message) => say($('video-status'), `Not deleted: ${message}`, 'error'),
    );
    if (deleted === undefined) return;
    closeVideo();
    $('library-list')
      .querySelector(`[data-video-id="${CSS.escape(video.id)}"]`)
      ?.remove();
    say($('library-status'), `Deleted ${video.title || video.id}.`);
  });
  $('video-retry').addEventListener('click', () => {
    if (state.open) retryVideo(state.open.id, $('video-status'));
  });
  $('video-close').addEventListener('click', closeVideo);
  $('video-dialog').addEventListener('close', () => {
    $('video-player').pause();
    releasePlayer();
  });

  // ------------------------------------------------------------ batches

  function batchItem(batch) {
    const c = batch.counts;
    const summary = el('summary', {
      text: `${new Date(batch.createdAt).toLocaleString()} · ${batch.kind} · ${batch.done} of ${batch.total} done · ${c.indexed ?? 0} indexed, ${c.duplicate ?? 0} already there, ${c.failed ?? 0} failed${batch.finishedAt ? '' : ' · running'}`,
    });
    const body = el('div', { class: 'batch-videos' });
    const details = el('details', { 'data-batch-id': batch.id }, summary, body);
    details.addEventListener('toggle', async () => {
      if (!details.open || body.childElementCount > 0) return;
      const full = await withKey(
        () => request(`/v1/batches/${encodeURIComponent(batch.id)}`),
        (message) => body.append(el('p', { class: 'status', 'data-tone': 'error', text: message })),
      );
      if (!full) return;
      body.append(
        el(
          'table',
          {},
          el('caption', { text: `Batch ${batch.id}` }),
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', { scope: 'col', text: 'File' }),
              el('th', { scope: 'col', text: 'Outcome' }),
            ),
          ),
          el(
            'tbody',
            {},
            ...full.videos.map((v) =>
              el(
                'tr',
                { 'data-status': v.status },
                el('td', { text: v.name }),
                el('td', {
                  class: `status-${v.status}`,
                  text: v.status === 'failed' ? `failed: ${v.code ?? ''}: ${v.message ?? ''}` : v.status,
                }),
              ),
            ),
          ),
        ),
      );
    });
    return el('li', {}, details);
  }

  async function loadBatches({ more = false } = {}) {
    const status = $('batches-status');
    if (!more) {
      state.batchesBefore = null;
      $('batches-list').replaceChildren();
    }
    const q = new URLSearchParams({ limit: String(BATCH_PAGE) });
    if (more && state.batchesBefore !== null) q.set('before', String(state.batchesBefore));
    const page = await withKey(
      () => request(`/v1/batches?${q}`),
      (message) => say(status, `Cannot list the batches: ${message}`, 'error'),
    );
    if (!page) return;
    $('batches-list').append(...page.batches.map(batchItem));
    state.batchesBefore = page.nextBefore;
    $('batches-more').hidden = page.nextBefore === null;
    say(status, $('batches-list').children.length === 0 ? 'No batches in the last 30 days.' : '');
  }

  $('library-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadVideos();
  });
  $('library-more').addEventListener('click', () => loadVideos({ more: true }));
  $('batches-more').addEventListener('click', () => loadBatches({ more: true }));

  return {
    /** Reloads the videos and batches (after an upload, or once a key is given). */
    refresh() {
      loadVideos();
      loadBatches();
    },
  };
}
